// Shared helpers for the benchmarks: stdio MCP clients, percentiles, temp projects.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const CLI = path.join(ROOT, 'dist/src/cli.js');

export function tempProject() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'deploy-mcp-bench-'));
  fs.writeFileSync(
    path.join(dir, 'deploy-mcp.config.json'),
    JSON.stringify({ project: 'bench', environments: { staging: { accountId: '123456789012', region: 'us-east-1' } }, checks: { test: 'node -e 0' } }),
  );
  return dir;
}

export async function connect(command, args, env = {}) {
  const transport = new StdioClientTransport({ command, args, stderr: 'ignore', env: { ...process.env, ...env } });
  const client = new Client({ name: 'bench', version: '1.0.0' });
  await client.connect(transport);
  return client;
}

export function percentile(values, p) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

export const median = (v) => percentile(v, 50);
export const ms = (n) => `${n.toFixed(2)} ms`;
