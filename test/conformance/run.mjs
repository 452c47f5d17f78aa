#!/usr/bin/env node
/**
 * Runs the MCP conformance suite (@modelcontextprotocol/conformance) against deploy-mcp's
 * Streamable HTTP transport, and compares every scenario's outcome with baseline.json.
 *
 *   node test/conformance/run.mjs            (after `npm run build`; CI runs it after npm test)
 *   node test/conformance/run.mjs --update   (rewrite the baseline from this run)
 *
 * The suite needs Node 22, this project runs on Node 20: both are installed from the npm
 * registry into a cache outside the tracked tree (default `.cache/conformance`, ignored by git;
 * DEPLOY_MCP_CONFORMANCE_CACHE overrides it), pinned to the versions below.
 *
 * The suite's client cannot send headers, and deploy-mcp never serves HTTP without a bearer
 * token, so the scenarios go through a small loopback proxy that adds
 * "Authorization: Bearer <a token made for this run>". It forwards everything else as sent,
 * rewriting Host/Origin only where they name the proxy itself (so they name the server behind
 * it, as a direct client's would); any other Host or Origin — the DNS rebinding scenario's
 * evil.example.com — reaches the server unchanged and is judged by the server.
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const CONFORMANCE_VERSION = '0.1.16';
const NODE22_VERSION = '22.23.3';
/** Scenarios that apply to any MCP server: they must pass. */
const APPLICABLE = ['server-initialize', 'ping', 'tools-list', 'logging-set-level', 'dns-rebinding-protection'];

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '../..');
const cache = path.resolve(process.env.DEPLOY_MCP_CONFORMANCE_CACHE ?? path.join(repo, '.cache', 'conformance'));
const baselineFile = path.join(here, 'baseline.json');
const update = process.argv.includes('--update');

function fail(message) {
  console.error(`conformance: ${message}`);
  process.exit(1);
}

// ---- 1. the tooling, in the cache ---------------------------------------------------------
const nodePackage = `node-${process.platform}-${process.arch}`;
const conformanceJs = path.join(cache, 'node_modules/@modelcontextprotocol/conformance/dist/index.js');
const node22 = path.join(cache, 'node_modules', nodePackage, 'bin', process.platform === 'win32' ? 'node.exe' : 'node');

function installedVersion(pkg) {
  try {
    return JSON.parse(fs.readFileSync(path.join(cache, 'node_modules', pkg, 'package.json'), 'utf8')).version;
  } catch {
    return null;
  }
}

if (installedVersion('@modelcontextprotocol/conformance') !== CONFORMANCE_VERSION || installedVersion(nodePackage) !== NODE22_VERSION) {
  fs.mkdirSync(cache, { recursive: true });
  fs.writeFileSync(path.join(cache, 'package.json'), JSON.stringify({ name: 'deploy-mcp-conformance-cache', private: true }, null, 2));
  console.log(`conformance: installing @modelcontextprotocol/conformance@${CONFORMANCE_VERSION} and ${nodePackage}@${NODE22_VERSION} (Node 22) into ${cache}`);
  // The "node" meta-package picks its binary in an install script; the per-platform package
  // carries the binary itself and needs no script.
  const npm = spawnSync('npm', ['install', '--no-save', '--no-audit', '--no-fund', '--ignore-scripts', `@modelcontextprotocol/conformance@${CONFORMANCE_VERSION}`, `${nodePackage}@${NODE22_VERSION}`], {
    cwd: cache,
    stdio: 'inherit',
  });
  if (npm.status !== 0) fail(`npm install into ${cache} failed (exit ${npm.status}); the registry must be reachable to fetch the suite and Node 22.`);
}
const version = spawnSync(node22, ['--version'], { encoding: 'utf8' });
if (version.status !== 0 || !version.stdout.startsWith('v22.')) fail(`${node22} does not run (${version.error?.message ?? version.stderr}).`);

// ---- 2. our server ------------------------------------------------------------------------
const cli = path.join(repo, 'dist/src/cli.js');
if (!fs.existsSync(cli)) fail('dist/ is missing: run `npm run build` first.');
const project = fs.mkdtempSync(path.join(os.tmpdir(), 'deploy-mcp-conformance-'));
fs.writeFileSync(
  path.join(project, 'deploy-mcp.config.json'),
  JSON.stringify({ project: 'conformance', environments: { staging: { accountId: '123456789012', region: 'us-east-1' } }, checks: { test: 'node -e 0' } }, null, 2),
);
const token = randomBytes(32).toString('hex');
const server = spawn(process.execPath, [cli, 'serve', '--http', '127.0.0.1:0', '--project', project], {
  env: { ...process.env, DEPLOY_MCP_TOKENS: `conformance:${token}`, DEPLOY_MCP_LOG_LEVEL: 'warning', NODE_NO_WARNINGS: '1' },
  stdio: ['ignore', 'ignore', 'pipe'],
});
let serverLog = '';
server.stderr.on('data', (d) => (serverLog += d));
const cleanup = () => {
  server.kill('SIGTERM');
  fs.rmSync(project, { recursive: true, force: true });
};
process.on('exit', cleanup);
const serverUrl = await new Promise((resolve) => {
  const timer = setTimeout(() => fail(`the server did not start within 20 s:\n${serverLog}`), 20_000);
  server.on('close', (code) => fail(`the server exited (code ${code}):\n${serverLog}`));
  const poll = setInterval(() => {
    const m = /at (http:\/\/127\.0\.0\.1:(\d+)\/mcp)/.exec(serverLog);
    if (m) {
      clearInterval(poll);
      clearTimeout(timer);
      resolve(new URL(m[1]));
    }
  }, 25);
});

// ---- 3. the proxy that holds the token ------------------------------------------------------
const proxy = http.createServer((req, res) => {
  const own = new Set([`localhost:${proxy.address().port}`, `127.0.0.1:${proxy.address().port}`]);
  const headers = { ...req.headers };
  const host = String(headers.host ?? '');
  if (own.has(host)) headers.host = `${host.split(':')[0]}:${serverUrl.port}`;
  const origin = headers.origin ? String(headers.origin) : undefined;
  if (origin && own.has(origin.replace(/^http:\/\//, ''))) headers.origin = `http://${origin.replace(/^http:\/\//, '').split(':')[0]}:${serverUrl.port}`;
  headers.authorization ??= `Bearer ${token}`;
  const upstream = http.request({ host: '127.0.0.1', port: serverUrl.port, method: req.method, path: req.url, headers }, (up) => {
    res.writeHead(up.statusCode ?? 502, up.headers);
    up.pipe(res);
  });
  upstream.on('error', (err) => {
    if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
    res.end(`conformance proxy: ${err.message}`);
  });
  req.pipe(upstream);
});
await new Promise((resolve) => proxy.listen(0, '127.0.0.1', resolve));
const target = `http://localhost:${proxy.address().port}/mcp`;

// ---- 4. the scenarios -------------------------------------------------------------------------
const listed = spawnSync(node22, [conformanceJs, 'list', '--server'], { encoding: 'utf8' });
const scenarios = [...listed.stdout.matchAll(/^\s+- (\S+)/gm)].map((m) => m[1]);
if (!scenarios.length) fail(`could not list the suite's server scenarios:\n${listed.stderr}`);
for (const s of APPLICABLE) if (!scenarios.includes(s)) fail(`the suite no longer has the scenario ${s}.`);

const outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'deploy-mcp-conformance-results-'));
const results = {};
for (const scenario of scenarios) {
  // Not spawnSync: the proxy lives in this process and must keep serving meanwhile.
  const run = await runAsync(node22, [conformanceJs, 'server', '--url', target, '--scenario', scenario, '-o', outDir], 120_000);
  const checks = readChecks(outDir, scenario);
  const failed = checks.filter((c) => c.status === 'FAILURE');
  const outcome = run.status === 0 && checks.length > 0 && failed.length === 0 ? 'pass' : 'fail';
  results[scenario] = { outcome, checks: checks.length, failed: failed.map((c) => `${c.id}: ${c.errorMessage ?? c.description}`), output: `${run.stdout}${run.stderr}` };
}
await new Promise((resolve) => proxy.close(resolve));

function runAsync(command, args, timeoutMs) {
  return new Promise((resolve) => {
    const child = spawn(command, args, { env: { ...process.env, NODE_NO_WARNINGS: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

function readChecks(dir, scenario) {
  // The suite writes <dir>/<scenario…>/checks.json; find the newest one for this scenario.
  const found = [];
  const walk = (d) => {
    for (const entry of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, entry.name);
      if (entry.isDirectory()) walk(p);
      else if (entry.name === 'checks.json' && p.includes(scenario)) found.push(p);
    }
  };
  walk(dir);
  found.sort((a, b) => fs.statSync(b).mtimeMs - fs.statSync(a).mtimeMs);
  try {
    return found.length ? JSON.parse(fs.readFileSync(found[0], 'utf8')) : [];
  } catch {
    return [];
  }
}

// ---- 5. against the baseline ----------------------------------------------------------------
const baseline = fs.existsSync(baselineFile) ? JSON.parse(fs.readFileSync(baselineFile, 'utf8')) : { scenarios: {} };
if (update) {
  const next = { ...baseline, suite: `@modelcontextprotocol/conformance@${CONFORMANCE_VERSION}`, scenarios: {} };
  for (const [s, r] of Object.entries(results)) {
    next.scenarios[s] = APPLICABLE.includes(s)
      ? { expected: 'pass', why: 'applies to every MCP server' }
      : { expected: r.outcome, why: baseline.scenarios?.[s]?.why ?? (r.outcome === 'fail' ? 'needs a fixture of the suite\'s reference server' : '') };
  }
  fs.writeFileSync(baselineFile, `${JSON.stringify(next, null, 2)}\n`);
  console.log(`conformance: baseline rewritten (${baselineFile}).`);
}
const problems = [];
const rows = [];
for (const [s, r] of Object.entries(results)) {
  const expected = APPLICABLE.includes(s) ? 'pass' : baseline.scenarios?.[s]?.expected;
  const verdict = expected === undefined ? 'NEW' : expected === r.outcome ? 'ok' : 'CHANGED';
  rows.push(`  ${verdict.padEnd(8)} ${s.padEnd(32)} ${r.outcome}${expected && expected !== r.outcome ? ` (baseline: ${expected})` : ''}${r.outcome === 'fail' ? `  — ${r.failed[0] ?? 'no checks recorded'}` : ''}`);
  if (verdict !== 'ok') problems.push({ scenario: s, ...r, expected });
}
console.log(`conformance: @modelcontextprotocol/conformance@${CONFORMANCE_VERSION} on Node ${version.stdout.trim()} against deploy-mcp serve --http (${scenarios.length} server scenarios)`);
console.log(rows.join('\n'));
const applicablePassed = APPLICABLE.filter((s) => results[s]?.outcome === 'pass').length;
console.log(`conformance: ${applicablePassed}/${APPLICABLE.length} applicable scenarios pass; ${scenarios.length - APPLICABLE.length} fixture-specific scenarios compared with ${path.relative(repo, baselineFile)}.`);
if (problems.length && !update) {
  for (const p of problems) {
    console.error(`\n--- ${p.scenario}: ${p.outcome}, baseline ${p.expected ?? '(none)'}\n${p.failed.join('\n')}\n${p.output.slice(-2000)}`);
  }
  console.error(
    `\nconformance: ${problems.length} scenario(s) differ from the baseline (the suite's results are in ${outDir}). A scenario that now passes is good news: run \`node test/conformance/run.mjs --update\` and commit the baseline.`,
  );
  process.exit(1);
}
fs.rmSync(outDir, { recursive: true, force: true });
process.exit(0);
