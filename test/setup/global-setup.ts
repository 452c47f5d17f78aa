/**
 * Starts one moto server for the whole test run (TESTING.md): a real HTTP endpoint speaking the
 * AWS wire protocols. Tests get its URL with `inject('motoEndpoint')`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    motoEndpoint: string;
  }
}

const START_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 5_000;
const INSTALL_HINT =
  "moto's standalone server is needed for the AWS tests. Install it with:\n" +
  "    pip install 'moto[server]'\n" +
  '(Python 3.9+; the tests run `python3 -m moto.server`, so install it for that python3, e.g. `python3 -m pip install \'moto[server]\'`).';

export interface MotoServer {
  url: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

export interface StartMotoOptions {
  /** The Python interpreter (default `python3` from PATH). */
  python?: string;
  startTimeoutMs?: number;
}

export async function startMoto(opts: StartMotoOptions = {}): Promise<MotoServer> {
  const python = opts.python ?? 'python3';
  const startTimeoutMs = opts.startTimeoutMs ?? START_TIMEOUT_MS;
  const child = spawn(python, ['-m', 'moto.server', '-H', '127.0.0.1', '-p', '0'], {
    env: { ...process.env, MOTO_IAM_LOAD_MANAGED_POLICIES: 'true', PYTHONUNBUFFERED: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
    // Own process group, so teardown can stop moto and anything it spawned in one signal.
    detached: true,
  });

  let output = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      fail(new Error(`moto server did not report its port within ${startTimeoutMs / 1000}s. Its output so far:\n${output || '(none)'}`));
    }, startTimeoutMs);
    const fail = (err: Error): void => {
      clearTimeout(timer);
      killGroup(child, 'SIGKILL');
      reject(err);
    };
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      const match = /Running on (http:\/\/127\.0\.0\.1:\d+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    };
    child.stderr!.on('data', onData);
    child.stdout!.on('data', onData);
    child.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') fail(new Error(`${python} was not found${python.includes('/') ? '' : ' on PATH'}.\n${INSTALL_HINT}`));
      else fail(new Error(`could not start ${python} -m moto.server: ${err.message}\n${INSTALL_HINT}`));
    });
    // 'close' rather than 'exit': by then all of the output has been read.
    child.once('close', (code, signal) => {
      const missing = /No module named '?(moto|flask|werkzeug|flask_cors)/i.test(output);
      fail(new Error(`moto server exited before it was ready (code ${code}, signal ${signal}).${missing ? `\n${INSTALL_HINT}` : ''}\nIts output:\n${output}`));
    });
  });
  // moto logs every request: stop collecting, but keep draining so it never blocks on a full pipe.
  child.stdout!.removeAllListeners('data').resume();
  child.stderr!.removeAllListeners('data').resume();
  child.removeAllListeners('close');
  // moto runs in its own process group, so it would outlive an interrupted test run without this.
  const killOnExit = (): void => killGroup(child, 'SIGKILL');
  process.once('exit', killOnExit);

  const stop = async (): Promise<void> => {
    process.removeListener('exit', killOnExit);
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    killGroup(child, 'SIGTERM');
    const timer = setTimeout(() => killGroup(child, 'SIGKILL'), STOP_TIMEOUT_MS);
    await exited;
    clearTimeout(timer);
  };

  try {
    // Must happen before any Lambda call: switching later hides functions created before.
    const res = await fetch(`${url}/moto-api/config`, { method: 'POST', body: JSON.stringify({ lambda: { use_docker: false } }) });
    if (!res.ok) throw new Error(`POST /moto-api/config answered HTTP ${res.status}: ${await res.text()}`);
  } catch (err) {
    await stop();
    throw new Error(`moto server at ${url} started but could not be configured: ${(err as Error).message}\nIts output:\n${output}`);
  }
  return { url, process: child, stop };
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    try {
      child.kill(signal);
    } catch {
      // already gone
    }
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const moto = await startMoto();
  project.provide('motoEndpoint', moto.url);
  process.env.DEPLOY_MCP_TEST_MOTO = moto.url;
  return async () => {
    await moto.stop();
  };
}
