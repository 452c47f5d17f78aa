// Tool latency over stdio: deployment-status and write-journal p50/p99 over 1,000 calls each,
// and write-journal p99 with the log at 100 events vs 10,000 events (appends must stay O(1)).
// The journal.md re-render (a full render of every event, run by the server ≤ 50 ms after a
// write) is timed on its own too, because it runs on the server's event loop.
import { performance } from 'node:perf_hooks';
import path from 'node:path';
import { CLI, connect, median, ms, percentile, requireBuild, tempProject, watchdog } from './lib.mjs';

requireBuild();
watchdog(10, 'latency');
const { LocalTaskStore } = await import('../dist/src/state/local-store.js');
const { DeploymentService } = await import('../dist/src/deployment.js');
const { Logger } = await import('../dist/src/log.js');

const CALLS = Number(process.env.CALLS ?? 1000);
const SIZE_CALLS = Number(process.env.SIZE_CALLS ?? 300);

async function timeCalls(client, name, args, n) {
  const t = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    const r = await client.callTool({ name, arguments: typeof args === 'function' ? args(i) : args });
    t.push(performance.now() - t0);
    if (r.isError) throw new Error(`${name} failed: ${JSON.stringify(r.content)}`);
  }
  return t;
}

const fmt = (t) => `p50 ${ms(percentile(t, 50))}  p95 ${ms(percentile(t, 95))}  p99 ${ms(percentile(t, 99))}  max ${ms(Math.max(...t))}`;

const project = tempProject();
let client = await connect(process.execPath, [CLI, '--project', project]);
const started = await client.callTool({ name: 'start-deployment', arguments: { title: 'Latency bench', environment: 'staging', component: 'bench' } });
if (started.isError) throw new Error(`start-deployment failed: ${JSON.stringify(started.content)}`);
const status = await timeCalls(client, 'deployment-status', {}, CALLS);
const journal = await timeCalls(client, 'write-journal', (i) => ({ activity: `entry ${i}`, content: 'Benchmark entry with a little text in it.' }), CALLS);
await client.close();
console.log(`over stdio, ${CALLS} sequential calls each:`);
console.log(`  deployment-status  ${fmt(status)}`);
console.log(`  write-journal      ${fmt(journal)}`);

// Log size: grow a task to ~100 and ~10,000 events with the built store, then time write-journal.
async function atSize(events) {
  const dir = tempProject();
  client = await connect(process.execPath, [CLI, '--project', dir]);
  await client.callTool({ name: 'start-deployment', arguments: { title: 'Size bench', environment: 'staging', component: 'size' } });
  await client.close();
  const store = new LocalTaskStore(path.join(dir, '.deploy-mcp'));
  let count = (await store.load(1)).events.length;
  while (count < events) {
    const batch = Math.min(500, events - count);
    await store.transact(1, () => ({
      append: Array.from({ length: batch }, (_, i) => ({ type: 'journal.entry', data: { activity: `filler ${count + i}`, content: 'filler', kind: 'progress', phase: 1 } })),
      result: null,
    }));
    count += batch;
  }
  const before = (await new LocalTaskStore(path.join(dir, '.deploy-mcp')).load(1)).events.length;
  client = await connect(process.execPath, [CLI, '--project', dir]);
  await timeCalls(client, 'write-journal', { activity: 'warm', content: 'warm' }, 20);
  const t = await timeCalls(client, 'write-journal', (i) => ({ activity: `measured ${i}`, content: 'x' }), SIZE_CALLS);
  await client.close();

  // What one journal.md render costs at this size (the server does it after writes, coalesced).
  const svc = new DeploymentService({ projectRoot: dir, config: null, store: new LocalTaskStore(path.join(dir, '.deploy-mcp')), log: new Logger('error'), journalDelayMs: 0 });
  await svc.state(1);
  const renders = [];
  for (let i = 0; i < 7; i++) {
    const t0 = performance.now();
    await svc.renderJournal(1);
    renders.push(performance.now() - t0);
  }
  return { t, before, render: median(renders.slice(2)) };
}
const small = await atSize(100);
const large = await atSize(10_000);
console.log(`write-journal vs log size (${SIZE_CALLS} sequential calls each, after 20 warm-up calls):`);
for (const [label, r] of [['~100 events   ', small], ['~10,000 events', large]]) {
  const slow = r.t.filter((x) => x > 50).length;
  console.log(`  at ${label} (${r.before} before)  ${fmt(r.t)}  calls > 50 ms: ${slow}/${r.t.length}  one journal.md render: ${ms(r.render)}`);
}
console.log(`  p99 ratio 10,000 vs 100 events: ${(percentile(large.t, 99) / percentile(small.t, 99)).toFixed(2)} (O(1) appends → ≈ 1); p50 ratio ${(percentile(large.t, 50) / percentile(small.t, 50)).toFixed(2)}`);
