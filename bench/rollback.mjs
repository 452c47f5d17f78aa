// Rollback time: from the human's confirmation to every alias verified back on its previous
// version, for 1 and 10 functions, through the real server over stdio against its own moto
// server — side by side, in the same run, with the raw SDK calls for the same alias moves
// (UpdateAlias with routing cleared + GetAlias, 10 in flight). Prints figures; asserts nothing
// about time. Self-contained: needs `npm run build` and `python3 -m moto.server`.
//
//   node bench/rollback.mjs            RUNS=15 by default (per size and per method)
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { crc32 } from 'node:zlib';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { startMoto } from './lib.mjs';
import * as iam from '@aws-sdk/client-iam';
import * as lambda from '@aws-sdk/client-lambda';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CLI = path.join(ROOT, 'dist/src/cli.js');
const RUNS = Number(process.env.RUNS ?? 15);
const SIZES = (process.env.SIZES ?? '1,10').split(',').map(Number);
const REGION = 'us-east-1';

if (!fs.existsSync(CLI) || !fs.existsSync(path.join(ROOT, 'dist/src/deploy/rollback-approval.js'))) {
  console.error('bench/rollback.mjs: dist/ is missing or old — run `npm run build` first.');
  process.exit(1);
}
const { LocalTaskStore } = await import(path.join(ROOT, 'dist/src/state/local-store.js'));
const { DeploymentService } = await import(path.join(ROOT, 'dist/src/deployment.js'));
const { Logger } = await import(path.join(ROOT, 'dist/src/log.js'));
const { decideRollback } = await import(path.join(ROOT, 'dist/src/deploy/rollback-approval.js'));

// ---- cleanup, whatever happens -------------------------------------------------------------------
const cleanups = [];
const cleanup = () => {
  for (const fn of cleanups.splice(0).reverse()) {
    try {
      fn();
    } catch {
      /* best effort */
    }
  }
};
process.on('exit', cleanup);
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(130));
const watchdog = setTimeout(() => {
  console.error('bench/rollback.mjs: gave up after 15 minutes');
  process.exit(1);
}, 15 * 60 * 1000);
watchdog.unref();


// ---- fixtures --------------------------------------------------------------------------------------
const moto = await startMoto();
cleanups.push(() => moto.stop());
const endpoint = moto.url;
const awsEnv = { AWS_ENDPOINT_URL: endpoint, AWS_REGION: REGION, AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', AWS_EC2_METADATA_DISABLED: 'true' };
const sdk = { endpoint, region: REGION, credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, maxAttempts: 3 };
const lambdaClient = new lambda.LambdaClient(sdk);
const iamClient = new iam.IAMClient(sdk);

/** A minimal stored zip with one file. */
function zipOf(name, text) {
  const data = Buffer.from(text);
  const nameBytes = Buffer.from(name);
  const crc = crc32(data) >>> 0;
  const local = Buffer.alloc(30);
  local.writeUInt32LE(0x04034b50, 0);
  local.writeUInt16LE(20, 4);
  local.writeUInt16LE(33, 12);
  local.writeUInt32LE(crc, 14);
  local.writeUInt32LE(data.length, 18);
  local.writeUInt32LE(data.length, 22);
  local.writeUInt16LE(nameBytes.length, 26);
  const central = Buffer.alloc(46);
  central.writeUInt32LE(0x02014b50, 0);
  central.writeUInt16LE(20, 4);
  central.writeUInt16LE(20, 6);
  central.writeUInt16LE(33, 14);
  central.writeUInt32LE(crc, 16);
  central.writeUInt32LE(data.length, 20);
  central.writeUInt32LE(data.length, 24);
  central.writeUInt16LE(nameBytes.length, 28);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(1, 8);
  end.writeUInt16LE(1, 10);
  end.writeUInt32LE(46 + nameBytes.length, 12);
  end.writeUInt32LE(30 + nameBytes.length + data.length, 16);
  return Buffer.concat([local, nameBytes, data, central, nameBytes, end]);
}
const roleArn = (await iamClient.send(new iam.CreateRoleCommand({ RoleName: 'bench-rollback', AssumeRolePolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' }] }) }))).Role.Arn;
const maxSize = Math.max(...SIZES);
const functions = [];
for (let i = 0; i < maxSize; i++) {
  const name = `bench-fn-${i}`;
  await lambdaClient.send(new lambda.CreateFunctionCommand({ FunctionName: name, Role: roleArn, Runtime: 'python3.12', Handler: 'index.handler', Code: { ZipFile: zipOf('index.py', 'def handler(e, c):\n    return 1\n') } }));
  await lambdaClient.send(new lambda.PublishVersionCommand({ FunctionName: name }));
  await lambdaClient.send(new lambda.UpdateFunctionCodeCommand({ FunctionName: name, ZipFile: zipOf('index.py', 'def handler(e, c):\n    return 2\n') }));
  await lambdaClient.send(new lambda.PublishVersionCommand({ FunctionName: name }));
  await lambdaClient.send(new lambda.CreateAliasCommand({ FunctionName: name, Name: 'live', FunctionVersion: '2' }));
  functions.push(name);
}

async function pool(items, limit, fn) {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      await fn(items[i], i);
    }
  }));
}

async function setAliases(fns, version) {
  await pool(fns, 10, (fn) => lambdaClient.send(new lambda.UpdateAliasCommand({ FunctionName: fn, Name: 'live', FunctionVersion: version, RoutingConfig: { AdditionalVersionWeights: {} } })));
}

// ---- the server, as an MCP client runs it --------------------------------------------------------
const project = fs.mkdtempSync(path.join(os.tmpdir(), 'deploy-mcp-bench-rollback-'));
cleanups.push(() => fs.rmSync(project, { recursive: true, force: true }));
fs.writeFileSync(path.join(project, 'deploy-mcp.config.json'), JSON.stringify({ project: 'bench', environments: { staging: { accountId: '123456789012', region: REGION } }, checks: { test: 'node -e 0' } }));
const transport = new StdioClientTransport({ command: process.execPath, args: [CLI, '--project', project], env: { ...process.env, ...awsEnv, DEPLOY_MCP_LOG_LEVEL: 'error' }, stderr: 'pipe' });
const client = new Client({ name: 'bench-rollback', version: '1.0.0' }, { capabilities: {} });
await client.connect(transport);
cleanups.push(() => transport.close());
const call = async (name, args) => {
  const r = await client.callTool({ name, arguments: args });
  if (r.isError) throw new Error(`${name}: ${JSON.stringify(r.structuredContent ?? r.content)}`);
  return r.structuredContent;
};

// The human's side: the same store, as `deploy-mcp approve` opens it in its own process.
const store = new LocalTaskStore(path.join(project, '.deploy-mcp'));
const human = new DeploymentService({ projectRoot: project, config: null, store, log: new Logger('error'), journalDelayMs: 0 });

let taskCounter = 0;
/** A task in phase 5 that deployed `fns` (1 → 2) and is pinned to the account, as after phase 4. */
async function deployedTask(fns) {
  const { taskId } = await call('start-deployment', { title: 'Rollback bench', environment: 'staging', component: `bench-${++taskCounter}` });
  const append = [
    { type: 'tool.succeeded', data: { tool: 'verify-credentials', phase: 1, input: {}, output: { account: '123456789012', region: REGION, arn: 'arn:aws:iam::123456789012:user/bench', matchesConfig: true, pinned: true } } },
    ...fns.map((fn) => ({
      type: 'tool.succeeded',
      data: { tool: 'deploy-lambda', phase: 4, input: { function: fn, alias: 'live' }, output: { function: fn, alias: 'live', previousVersion: '1', newVersion: '2', aliasVersion: '2', published: true, changed: true, codeSha256: 'x' } },
    })),
  ];
  for (let from = 1; from < 5; from++) {
    const requestId = `tr-${String(from).padStart(12, '0')}`;
    append.push(
      { type: 'transition.requested', data: { requestId, from, to: from + 1, summary: 'bench', evidenceHash: 'x', criteria: [], unmet: [], expiresAt: '2999-01-01T00:00:00.000Z', requestedBy: 'bench' } },
      { type: 'transition.approved', data: { requestId, channel: 'terminal', approver: 'bench' } },
      { type: 'phase.advanced', data: { from, to: from + 1, requestId, channel: 'terminal', approver: 'bench' } },
    );
  }
  await store.transact(taskId, () => ({ append, result: null }));
  return taskId;
}

async function viaServer(fns) {
  await setAliases(fns, '2');
  const taskId = await deployedTask(fns);
  const reason = 'Benchmark: error rate after release 2.';
  const pending = await call('rollback', { taskId, reason });
  if (pending.status !== 'pending') throw new Error(`expected pending, got ${pending.status}`);
  const decided = await decideRollback(human, taskId, pending.requestId, { approve: true, channel: 'terminal', approver: 'bench@host' });
  if (decided.outcome !== 'approved') throw new Error(decided.message);
  // Confirmed: from here to every alias verified on its previous version.
  const t0 = performance.now();
  const done = await call('rollback', { taskId, reason, requestId: pending.requestId });
  const wall = performance.now() - t0;
  if (done.status !== 'rolled-back' || done.restored.length !== fns.length || !done.restored.every((r) => r.verified && r.to === '1')) {
    throw new Error(`rollback did not verify: ${JSON.stringify(done)}`);
  }
  return { wall, inTool: done.durationMs };
}

async function viaSdk(fns) {
  await setAliases(fns, '2');
  const t0 = performance.now();
  await pool(fns, 10, async (fn) => {
    await lambdaClient.send(new lambda.UpdateAliasCommand({ FunctionName: fn, Name: 'live', FunctionVersion: '1', RoutingConfig: { AdditionalVersionWeights: {} } }));
    const a = await lambdaClient.send(new lambda.GetAliasCommand({ FunctionName: fn, Name: 'live' }));
    if (a.FunctionVersion !== '1' || Object.keys(a.RoutingConfig?.AdditionalVersionWeights ?? {}).length) throw new Error(`${fn} did not verify`);
  });
  return performance.now() - t0;
}

const pct = (v, p) => {
  const s = [...v].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
};
const f = (n) => `${n.toFixed(1).padStart(7)} ms`;

// Warm-up: first calls load SDK clients and open connections on both sides.
await viaServer(functions.slice(0, 1));
await viaSdk(functions.slice(0, 1));

console.log(`rollback: confirmed request → aliases verified on the previous version (moto, ${RUNS} runs each, alternating)`);
console.log('functions  method                                   p50         p90        min');
for (const n of SIZES) {
  const fns = functions.slice(0, n);
  const server = [];
  const inTool = [];
  const raw = [];
  for (let i = 0; i < RUNS; i++) {
    // Alternate the order so that drift on this shared machine hits both sides alike.
    if (i % 2 === 0) {
      const s = await viaServer(fns);
      server.push(s.wall);
      inTool.push(s.inTool);
      raw.push(await viaSdk(fns));
    } else {
      raw.push(await viaSdk(fns));
      const s = await viaServer(fns);
      server.push(s.wall);
      inTool.push(s.inTool);
    }
  }
  console.log(`${String(n).padStart(9)}  deploy-mcp rollback (client-observed)  ${f(pct(server, 50))}  ${f(pct(server, 90))}  ${f(Math.min(...server))}`);
  console.log(`${String(n).padStart(9)}    of which restore + verify (in tool)  ${f(pct(inTool, 50))}  ${f(pct(inTool, 90))}  ${f(Math.min(...inTool))}`);
  console.log(`${String(n).padStart(9)}  raw SDK UpdateAlias + GetAlias         ${f(pct(raw, 50))}  ${f(pct(raw, 90))}  ${f(Math.min(...raw))}`);
  console.log(`${String(n).padStart(9)}  ratio deploy-mcp / raw SDK (p50)       ${(pct(server, 50) / pct(raw, 50)).toFixed(2)}x`);
}
await client.close();
clearTimeout(watchdog);
process.exit(0);
