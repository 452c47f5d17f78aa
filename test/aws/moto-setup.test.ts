import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { startMoto } from '../setup/global-setup.js';

const dir = mkdtempSync(join(tmpdir(), 'deploy-mcp-fake-python-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function fakePython(name: string, script: string): string {
  const path = join(dir, name);
  writeFileSync(path, `#!/bin/sh\n${script}\n`);
  chmodSync(path, 0o755);
  return path;
}

/** Running, and not a zombie waiting for a parent (container init may never reap it). */
const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return true;
  }
};

describe('global setup: moto server', () => {
  it('the run-wide server is up, configured for Lambda without Docker, and exported', async () => {
    const endpoint = inject('motoEndpoint');
    expect(endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const config = (await (await fetch(`${endpoint}/moto-api/config`)).json()) as { lambda?: { use_docker?: boolean } };
    expect(config.lambda?.use_docker).toBe(false);
  });

  it('starts on a free port and stops (with its children) on teardown', async () => {
    const moto = await startMoto();
    expect(moto.url).not.toBe(inject('motoEndpoint'));
    expect((await fetch(`${moto.url}/moto-api/config`)).ok).toBe(true);
    const pid = moto.process.pid!;
    await moto.stop();
    expect(isAlive(pid)).toBe(false);
    await expect(fetch(`${moto.url}/moto-api/config`)).rejects.toThrow();
  });

  it('python3 missing: says how to install moto', async () => {
    await expect(startMoto({ python: join(dir, 'no-such-python3') })).rejects.toThrow(/was not found[\s\S]*pip install 'moto\[server\]'/);
  });

  it('moto missing: says how to install it and shows what python printed', async () => {
    const python = fakePython('python-without-moto', "echo \"$0: No module named moto.server\" >&2\nexit 1");
    await expect(startMoto({ python })).rejects.toThrow(/exited before it was ready[\s\S]*pip install 'moto\[server\]'[\s\S]*No module named moto\.server/);
  });

  it('a server that never reports its port times out with its output, and is killed with its children', async () => {
    const pidFile = join(dir, 'hung.pid');
    const python = fakePython('python-hangs', `echo "warming up" >&2\nsleep 30 &\necho $! > ${pidFile}\nwait`);
    await expect(startMoto({ python, startTimeoutMs: 500 })).rejects.toThrow(/did not report its port within 0.5s[\s\S]*warming up/);
    const sleeper = Number(readFileSync(pidFile, 'utf8'));
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(isAlive(sleeper)).toBe(false);
  });
});
