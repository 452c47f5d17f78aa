// Shared helpers for the benchmarks: stdio MCP clients, percentiles, temp projects, cleanup.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const CLI = path.join(ROOT, 'dist/src/cli.js');

export const BENCH_CONFIG = {
  project: 'bench',
  environments: { staging: { accountId: '123456789012', region: 'us-east-1' } },
  checks: { test: 'node -e 0' },
};

// Every temp directory a benchmark makes is removed when the process exits, however it exits.
const tempDirs = new Set();
const cleanups = [];
function removeTempDirs() {
  for (const fn of cleanups.splice(0)) {
    try {
      fn();
    } catch {
      /* best effort */
    }
  }
  for (const dir of tempDirs) fs.rmSync(dir, { recursive: true, force: true });
  tempDirs.clear();
}
process.on('exit', removeTempDirs);
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    removeTempDirs();
    process.exit(128 + (os.constants.signals[signal] ?? 1));
  });
}

/** Runs `fn` synchronously at exit (e.g. killing a child process). */
export function onExit(fn) {
  cleanups.push(fn);
}

export function tempDir(prefix = 'deploy-mcp-bench-') {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  tempDirs.add(dir);
  return dir;
}

export function removeTempDir(dir) {
  fs.rmSync(dir, { recursive: true, force: true });
  tempDirs.delete(dir);
}

export function tempProject(config = BENCH_CONFIG) {
  const dir = tempDir();
  fs.writeFileSync(path.join(dir, 'deploy-mcp.config.json'), JSON.stringify(config, null, 2));
  return dir;
}

/** A benchmark never runs unbounded: past `minutes` it says so and exits (cleanup runs on exit). */
export function watchdog(minutes, name) {
  const timer = setTimeout(() => {
    process.stderr.write(`${name}: gave up after ${minutes} min (watchdog)\n`);
    process.exit(2);
  }, minutes * 60_000);
  timer.unref();
  return timer;
}

export function requireBuild() {
  if (!fs.existsSync(CLI)) {
    process.stderr.write(`No build at ${CLI}: run \`npx tsc -p tsconfig.json && node scripts/postbuild.mjs\` first.\n`);
    process.exit(2);
  }
}

export async function connect(command, args, env = {}, clientOptions = {}) {
  const transport = new StdioClientTransport({ command, args, stderr: 'ignore', env: { ...process.env, ...env } });
  const client = new Client({ name: 'bench', version: '1.0.0' }, clientOptions);
  await client.connect(transport);
  return client;
}

export function percentile(values, p) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

export const median = (v) => percentile(v, 50);
export const mean = (v) => v.reduce((a, b) => a + b, 0) / v.length;
export const ms = (n) => `${n.toFixed(2)} ms`;

/**
 * Starts moto's server on a free loopback port (its own process group, killed on exit), with
 * IAM managed policies and Lambda without Docker. Returns its URL and an async stop().
 */
export async function startMoto() {
  const child = spawn('python3', ['-m', 'moto.server', '-H', '127.0.0.1', '-p', '0'], {
    env: { ...process.env, MOTO_IAM_LOAD_MANAGED_POLICIES: 'true', PYTHONUNBUFFERED: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true, // own process group: killed as a whole below
  });
  const kill = () => {
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  };
  onExit(kill);
  let output = '';
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`moto did not report its port within 60 s:\n${output}`)), 60_000);
    const onData = (chunk) => {
      output += chunk;
      const m = /Running on (http:\/\/127\.0\.0\.1:\d+)/.exec(output);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    };
    child.stderr.on('data', onData);
    child.stdout.on('data', onData);
    child.once('error', (err) => reject(new Error(`could not start python3 -m moto.server (${err.message}); install it with: pip install 'moto[server]'`)));
    child.once('close', (code) =>
      reject(new Error(`moto exited before it was ready (code ${code})${/No module named/.test(output) ? "; install it with: pip install 'moto[server]'" : ''}:\n${output}`)),
    );
  });
  // moto logs every request: keep draining its pipes so it never blocks.
  child.stdout.removeAllListeners('data').resume();
  child.stderr.removeAllListeners('data').resume();
  child.removeAllListeners('close');
  const res = await fetch(`${url}/moto-api/config`, { method: 'POST', body: JSON.stringify({ lambda: { use_docker: false } }) });
  if (!res.ok) throw new Error(`moto config failed: HTTP ${res.status}`);
  return {
    url,
    stop: async () => {
      kill();
      await new Promise((r) => (child.exitCode !== null || child.signalCode !== null ? r() : child.once('exit', r)));
    },
  };
}
