/**
 * Running one check (SPEC §6): an argv spawned without a shell, in its own process group, with a
 * timeout and cancellation that stop the whole group, and an output tail kept in bounded memory
 * however much the check prints.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { redactText } from '../journal/redact.js';

export type CheckStatus = 'passed' | 'failed' | 'timed-out' | 'cancelled' | 'missing' | 'not-found';

export const TAIL_LINES = 60;
export const TAIL_BYTES = 4096;
/** Output kept for the tail: redaction sees this much context before the tail is cut. */
export const TAIL_WINDOW_BYTES = 64 * 1024;
/** After SIGTERM, how long a check gets to exit before SIGKILL. */
export const KILL_GRACE_MS = 3_000;

/**
 * The last bytes of a stream, in bounded memory: chunks are kept until they exceed twice the
 * window, then compacted to the window. Never holds more than 2 × window bytes.
 */
export class OutputTail {
  private chunks: Buffer[] = [];
  private retained = 0;
  private total = 0;

  constructor(private readonly window = TAIL_WINDOW_BYTES) {}

  push(chunk: Buffer): void {
    this.total += chunk.length;
    const piece = chunk.length > this.window ? chunk.subarray(chunk.length - this.window) : chunk;
    this.chunks.push(piece);
    this.retained += piece.length;
    if (this.retained > 2 * this.window) {
      const joined = Buffer.concat(this.chunks);
      const kept = Buffer.from(joined.subarray(joined.length - this.window));
      this.chunks = [kept];
      this.retained = kept.length;
    }
  }

  get retainedBytes(): number {
    return this.retained;
  }

  get totalBytes(): number {
    return this.total;
  }

  /**
   * The last `lines` lines and at most `bytes` bytes, redacted (over the whole window, so a
   * secret that starts before the tail is still recognised), without terminal escapes.
   */
  text(lines = TAIL_LINES, bytes = TAIL_BYTES): string {
    const joined = Buffer.concat(this.chunks);
    let text = joined.toString('utf8');
    // The window may start inside a line (or a multi-byte character): drop that partial line.
    if (this.total > joined.length) {
      const nl = text.indexOf('\n');
      text = nl >= 0 ? text.slice(nl + 1) : text.slice(1);
    }
    text = cleanTerminalOutput(text);
    text = redactText(text);
    let tail = text.replace(/\n+$/, '').split('\n').slice(-lines).join('\n');
    if (Buffer.byteLength(tail) > bytes) {
      const buf = Buffer.from(tail);
      let cut = buf.subarray(buf.length - bytes).toString('utf8');
      const nl = cut.indexOf('\n');
      if (nl >= 0 && nl < cut.length - 1) cut = cut.slice(nl + 1);
      tail = cut.replace(/^\uFFFD+/, '');
    }
    return tail;
  }
}

/** Strips ANSI escapes, keeps the last state of `\r`-redrawn lines (progress bars), normalises newlines. */
export function cleanTerminalOutput(text: string): string {
  return text
    .replace(/\u001b\[[0-?]*[ -/]*[@-~]/g, '')
    .replace(/\u001b\][^\u0007\u001b]*(?:\u0007|\u001b\\)/g, '')
    .replace(/\r\n/g, '\n')
    .split('\n')
    .map((line) => (line.includes('\r') ? line.slice(line.lastIndexOf('\r') + 1) : line))
    .join('\n');
}

export interface RunCheckOptions {
  argv: string[];
  cwd: string;
  timeoutMs: number;
  signal: AbortSignal;
  env?: NodeJS.ProcessEnv;
  killGraceMs?: number;
}

export interface RunCheckResult {
  status: Exclude<CheckStatus, 'missing'>;
  exitCode: number | null;
  signal: string | null;
  durationMs: number;
  outputTail: string;
  outputBytes: number;
}

/**
 * The environment a check runs with: the server's, plus the project's `node_modules/.bin` in
 * front of PATH (as npm scripts have it), so `vitest run` or `tsc` work as configured commands.
 */
export function checkEnvironment(cwd: string, base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const bin = path.join(cwd, 'node_modules', '.bin');
  const env = { ...base };
  const key = Object.keys(env).find((k) => k.toUpperCase() === 'PATH') ?? 'PATH';
  env[key] = fs.existsSync(bin) ? [bin, env[key]].filter(Boolean).join(path.delimiter) : env[key];
  return env;
}

/**
 * Signals a check's whole process group (it is the group leader). Only while the leader has not
 * been reaped may it fall back to the single process: after that its pid could belong to someone
 * else.
 */
function killGroup(pid: number | undefined, signal: NodeJS.Signals, leaderAlive = true): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch {
    if (!leaderAlive) return;
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}

/** Process groups of checks still running, stopped if the server exits mid-check. */
const running = new Set<number>();
let exitHookInstalled = false;
function trackGroup(pid: number): void {
  running.add(pid);
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once('exit', () => {
      for (const p of running) killGroup(p, 'SIGKILL');
    });
  }
}

/** Runs one check to completion, timeout or cancellation. Never rejects. */
export function runCheck(opts: RunCheckOptions): Promise<RunCheckResult> {
  const started = Date.now();
  const tail = new OutputTail();
  const grace = opts.killGraceMs ?? KILL_GRACE_MS;
  const [program, ...args] = opts.argv;
  const done = (status: RunCheckResult['status'], exitCode: number | null, signal: string | null, note?: string): RunCheckResult => {
    if (note) tail.push(Buffer.from(`${tail.totalBytes > 0 ? '\n' : ''}${note}\n`));
    return { status, exitCode, signal, durationMs: Date.now() - started, outputTail: tail.text(), outputBytes: tail.totalBytes };
  };
  if (!program) return Promise.resolve(done('failed', null, null, '[deploy-mcp] the check has an empty command'));
  if (opts.signal.aborted) return Promise.resolve(done('cancelled', null, null, '[deploy-mcp] cancelled before it started'));
  if (!fs.existsSync(opts.cwd)) return Promise.resolve(done('failed', null, null, `[deploy-mcp] the working directory ${opts.cwd} does not exist`));

  return new Promise((resolve) => {
    let outcome: 'timed-out' | 'cancelled' | null = null;
    let settled = false;
    let exitInfo: { code: number | null; signal: string | null } | null = null;
    const timers: NodeJS.Timeout[] = [];

    const child = spawn(program, args, {
      cwd: opts.cwd,
      env: opts.env ?? checkEnvironment(opts.cwd),
      shell: false,
      stdio: ['ignore', 'pipe', 'pipe'],
      // Its own process group: timeout and cancellation stop everything the check started.
      detached: process.platform !== 'win32',
      windowsHide: true,
    });
    if (child.pid !== undefined) trackGroup(child.pid);

    const finish = (result: RunCheckResult) => {
      if (settled) return;
      settled = true;
      for (const t of timers) clearTimeout(t);
      opts.signal.removeEventListener('abort', onAbort);
      if (child.pid !== undefined) running.delete(child.pid);
      resolve(result);
    };

    const stop = (why: 'timed-out' | 'cancelled') => {
      if (outcome || exitInfo) return;
      outcome = why;
      killGroup(child.pid, 'SIGTERM');
      const t = setTimeout(() => killGroup(child.pid, 'SIGKILL', exitInfo === null), grace);
      t.unref();
      timers.push(t);
    };
    const onAbort = () => stop('cancelled');
    opts.signal.addEventListener('abort', onAbort, { once: true });
    const timeout = setTimeout(() => stop('timed-out'), opts.timeoutMs);
    timeout.unref();
    timers.push(timeout);

    child.stdout!.on('data', (c: Buffer) => tail.push(c));
    child.stderr!.on('data', (c: Buffer) => tail.push(c));

    child.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') {
        finish(done('not-found', null, null, `[deploy-mcp] ${program} was not found (looked on PATH and in ${path.join(opts.cwd, 'node_modules', '.bin')}). Install it, or fix the check's command in deploy-mcp.config.json.`));
      } else if (err.code === 'EACCES') {
        finish(done('failed', null, null, `[deploy-mcp] ${program} is not executable (EACCES). Make it executable (chmod +x) or run it through its interpreter, e.g. "node ${program}".`));
      } else {
        finish(done('failed', null, null, `[deploy-mcp] could not start ${program}: ${err.message}`));
      }
    });

    const settle = () => {
      const info = exitInfo!;
      const status: RunCheckResult['status'] = outcome ?? (info.code === 0 ? 'passed' : 'failed');
      const note =
        outcome === 'timed-out'
          ? `[deploy-mcp] timed out after ${Math.round(opts.timeoutMs / 1000)} s; the check's process group was stopped.`
          : outcome === 'cancelled'
            ? '[deploy-mcp] cancelled by the client; the check\'s process group was stopped.'
            : info.signal
              ? `[deploy-mcp] the check was killed by ${info.signal}.`
              : undefined;
      finish(done(status, info.code, info.signal, note));
    };

    child.once('exit', (code, signal) => {
      exitInfo = { code, signal };
      // Whatever the check left running in its group goes with it; then wait for the pipes to
      // drain, but not forever: a grandchild that left the group could hold them open.
      killGroup(child.pid, 'SIGKILL', false);
      const t = setTimeout(() => {
        child.stdout?.destroy();
        child.stderr?.destroy();
        settle();
      }, 2_000);
      t.unref();
      timers.push(t);
    });
    child.once('close', () => {
      if (exitInfo) settle();
    });
  });
}

/** An argv as a person would type it (for display only; it is never parsed back). */
export function formatArgv(argv: string[]): string {
  return argv.map((a) => (a === '' ? "''" : /^[A-Za-z0-9_./:=@%+,-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}

/** The package.json script a package-manager command runs (`npm run build` → build), if any. */
export function packageScriptOf(argv: string[]): string | null {
  const [pm, first, second] = argv;
  if (pm !== 'npm' && pm !== 'pnpm' && pm !== 'yarn') return null;
  if (!first) return null;
  if (first === 'run' || first === 'run-script') return second ?? null;
  if (first.startsWith('-')) return null;
  // `npm test` / `npm start` are scripts; other built-ins (install, exec, …) are not.
  const builtins = pm === 'npm' ? ['install', 'ci', 'exec', 'x', 'init', 'publish', 'pack', 'audit', 'ls', 'version'] : ['install', 'add', 'exec', 'dlx', 'init', 'publish', 'pack', 'audit', 'list', 'why'];
  return builtins.includes(first) ? null : first;
}

/** The scripts of the package.json in `dir`, or null when there is none (or it is unreadable). */
export function packageScripts(dir: string): Record<string, string> | null {
  try {
    const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as { scripts?: Record<string, string> };
    return pkg.scripts && typeof pkg.scripts === 'object' ? pkg.scripts : {};
  } catch {
    return null;
  }
}
