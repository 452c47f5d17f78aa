// The task store's append path: appends per second and p50/p99 append latency, S3 store vs local
// store, with 1 and 8 concurrent writer processes on one task. The S3 store runs against a moto
// server that this script starts on a loopback port (and kills at the end), behind the proxy
// that makes moto's conditional writes atomic as S3's are (test/helpers/atomic-s3-proxy.mjs).
// Figures only; nothing here asserts on time. Both stores run in the same invocation, so compare
// the ratios: absolute numbers depend on the machine (and moto is far slower than S3's latency
// is long: read the S3 figures as "request count bound", not as a prediction for AWS).
//   node bench/store.mjs            (after npm run build)
import { spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ROOT, mean, onExit, percentile, requireBuild, startMoto, tempDir, watchdog } from './lib.mjs';

const SELF = fileURLToPath(import.meta.url);
const S3_ENV = { AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', AWS_REGION: 'us-east-1' };
const PAYLOAD = {
  tool: 'verify-resource',
  phase: 3,
  input: { type: 's3-bucket', name: 'ingest-staging', expect: { versioning: 'Enabled', encryption: 'AES256' } },
  output: { exists: true, verified: true, discrepancies: [], actual: { versioning: 'Enabled', encryption: 'AES256', publicAccessBlock: true, region: 'us-east-1' } },
  summary: 'ingest-staging: verified, 0 discrepancies',
  durationMs: 41,
};

async function openStore(kind, where) {
  if (kind === 'local') {
    const { LocalTaskStore } = await import(path.join(ROOT, 'dist/src/state/local-store.js'));
    return new LocalTaskStore(where.stateDir);
  }
  const { S3TaskStore } = await import(path.join(ROOT, 'dist/src/state/s3-store.js'));
  return new S3TaskStore({ bucket: where.bucket, prefix: where.prefix, endpoint: where.endpoint, env: S3_ENV, appendDeadlineMs: 600_000, warn: () => undefined });
}

// ---- worker process ------------------------------------------------------------------------
if (process.argv[2] === '--worker') {
  const [kind, whereJson, taskId, count, tag] = process.argv.slice(3);
  const store = await openStore(kind, JSON.parse(whereJson));
  // Warm up (module load, credentials, connection) before the clock starts.
  await store.append(Number(taskId), { type: 'bench.warmup', data: { tag } });
  process.stdout.write('READY\n');
  await new Promise((resolve) => process.stdin.once('data', resolve));
  const latencies = [];
  const start = performance.now();
  for (let i = 0; i < Number(count); i++) {
    const t0 = performance.now();
    await store.append(Number(taskId), { type: 'bench.append', data: { ...PAYLOAD, tag, i } });
    latencies.push(performance.now() - t0);
  }
  const end = performance.now();
  await store.close?.();
  process.stdout.write(`${JSON.stringify({ latencies, start, end })}\n`);
  process.exit(0);
}

// ---- driver -----------------------------------------------------------------------------------
requireBuild();
watchdog(14, 'store');
const log = (msg) => process.stderr.write(`[store] ${msg}\n`);


function worker(kind, where, taskId, count, tag) {
  const child = spawn(process.execPath, [SELF, '--worker', kind, JSON.stringify(where), String(taskId), String(count), tag], {
    stdio: ['pipe', 'pipe', 'inherit'],
    env: { ...process.env, NODE_NO_WARNINGS: '1' },
  });
  onExit(() => child.kill('SIGKILL'));
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  const ready = new Promise((resolve) => {
    const check = () => (out.includes('READY') ? resolve() : setTimeout(check, 5));
    check();
  });
  const done = new Promise((resolve, reject) =>
    child.on('close', (code) => (code === 0 ? resolve(JSON.parse(out.trim().split('\n').at(-1))) : reject(new Error(`${kind} worker ${tag} exited ${code}`)))),
  );
  return { ready, done, go: () => child.stdin.end('go\n') };
}

async function run(kind, where, writers, perWriter, counters = null) {
  const store = await openStore(kind, where);
  const { taskId } = await store.createTask({ type: 'task.started', data: { title: 'bench', environment: 'staging', component: `w${writers}` } });
  const ws = Array.from({ length: writers }, (_, w) => worker(kind, where, taskId, perWriter, `w${w}`));
  await Promise.all(ws.map((w) => w.ready));
  const before = counters ? { ...counters } : null;
  for (const w of ws) w.go();
  const results = await Promise.all(ws.map((w) => w.done));
  const used = counters ? { requests: counters.requests - before.requests, lost: counters.preconditionFailed - before.preconditionFailed } : { requests: null, lost: null };
  const latencies = results.flatMap((r) => r.latencies);
  // Wall time from the first writer's start to the last one's end (same machine clock).
  const wall = (Math.max(...results.map((r) => r.end)) - Math.min(...results.map((r) => r.start))) / 1000;
  const report = await (await openStore(kind, where)).verify(taskId);
  if (!report.ok) throw new Error(`${kind}: the chain does not verify after the run: ${report.problem?.message}`);
  if (report.events !== 1 + writers * (perWriter + 1)) throw new Error(`${kind}: ${report.events} events, expected ${1 + writers * (perWriter + 1)}`);
  await store.close?.();
  return { appends: latencies.length, perSecond: latencies.length / wall, p50: percentile(latencies, 50), p99: percentile(latencies, 99), mean: mean(latencies), ...used };
}

log('starting moto…');
const moto = await startMoto();
const { startAtomicS3Proxy } = await import(path.join(ROOT, 'test/helpers/atomic-s3-proxy.mjs'));
const proxy = await startAtomicS3Proxy(moto.url);
const bucket = `bench-state-${process.pid}`;
{
  const { S3Client, CreateBucketCommand } = await import('@aws-sdk/client-s3');
  const s3 = new S3Client({ endpoint: moto.url, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  s3.destroy();
}

const rows = [];
const PLAN = [
  { writers: 1, perWriter: 300 },
  { writers: 8, perWriter: 60 },
];
for (const { writers, perWriter } of PLAN) {
  for (const kind of ['local', 's3']) {
    const where = kind === 'local' ? { stateDir: tempDir() } : { endpoint: proxy.url, bucket, prefix: `w${writers}-${Date.now()}` };
    log(`${kind}, ${writers} writer process${writers > 1 ? 'es' : ''} × ${perWriter} appends…`);
    rows.push({ kind, writers, ...(await run(kind, where, writers, perWriter, kind === 's3' ? proxy.stats : null)) });
  }
}
await proxy.close();
moto.stop();

const f = (n, d = 1) => n.toFixed(d);
console.log('task store appends: one task, N writer processes, each append a ~0.5 KB tool event (moto on loopback for S3)');
console.log('backend  writers  appends  appends/s  p50 ms  p99 ms  S3 requests/append  412s (lost head writes + existing objects)');
for (const r of rows) {
  console.log(
    `${r.kind.padEnd(7)}  ${String(r.writers).padStart(7)}  ${String(r.appends).padStart(7)}  ${f(r.perSecond).padStart(9)}  ${f(r.p50, 2).padStart(6)}  ${f(r.p99, 2).padStart(6)}  ${
      r.requests === null ? '                 -' : f(r.requests / r.appends, 2).padStart(18)
    }  ${r.lost === null ? '-' : r.lost}`,
  );
}
for (const { writers } of PLAN) {
  const local = rows.find((r) => r.kind === 'local' && r.writers === writers);
  const s3 = rows.find((r) => r.kind === 's3' && r.writers === writers);
  console.log(`${writers} writer(s): S3 store runs at ${f((s3.perSecond / local.perSecond) * 100)}% of the local store's throughput; p99 ${f(s3.p99 / local.p99)}x`);
}
