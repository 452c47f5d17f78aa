// Shared helpers for the benchmarks: stdio MCP clients, percentiles, temp projects, cleanup.
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
