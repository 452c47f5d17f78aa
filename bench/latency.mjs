// Tool latency over stdio: deployment-status and write-journal p50/p99 over 1,000 calls each,
// and write-journal p99 with the log at 100 events vs 10,000 events (appends must stay O(1)).
import { performance } from 'node:perf_hooks';
import { CLI, connect, ms, percentile, tempProject } from './lib.mjs';
import { LocalTaskStore } from '../dist/src/state/local-store.js';
import path from 'node:path';

const CALLS = Number(process.env.CALLS ?? 1000);

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

const project = tempProject();
let client = await connect(process.execPath, [CLI, '--project', project]);
await client.callTool({ name: 'start-deployment', arguments: { title: 'Latency bench', environment: 'staging', component: 'bench' } });
const status = await timeCalls(client, 'deployment-status', {}, CALLS);
const journal = await timeCalls(client, 'write-journal', (i) => ({ activity: `entry ${i}`, content: 'Benchmark entry with a little text in it.' }), CALLS);
await client.close();
console.log(`over stdio, ${CALLS} calls each:`);
console.log(`  deployment-status  p50 ${ms(percentile(status, 50))}  p99 ${ms(percentile(status, 99))}`);
console.log(`  write-journal      p50 ${ms(percentile(journal, 50))}  p99 ${ms(percentile(journal, 99))}`);

// Log size: measure 300 write-journal calls on a task at ~100 events and at ~10,000 events.
async function atSize(events) {
  const dir = tempProject();
  client = await connect(process.execPath, [CLI, '--project', dir]);
  await client.callTool({ name: 'start-deployment', arguments: { title: 'Size bench', environment: 'staging', component: 'size' } });
  await client.close();
  const store = new LocalTaskStore(path.join(dir, '.deploy-mcp'));
  for (let done = 1; done < events; ) {
    const batch = Math.min(500, events - done);
    await store.transact(1, () => ({ append: Array.from({ length: batch }, (_, i) => ({ type: 'journal.entry', data: { activity: `filler ${done + i}`, content: 'filler', kind: 'progress', phase: 1 } })), result: null }));
    done += batch;
  }
  client = await connect(process.execPath, [CLI, '--project', dir]);
  await timeCalls(client, 'write-journal', { activity: 'warm', content: 'warm' }, 20);
  const t = await timeCalls(client, 'write-journal', (i) => ({ activity: `measured ${i}`, content: 'x' }), 300);
  await client.close();
  return t;
}
const small = await atSize(100);
const large = await atSize(10_000);
console.log('write-journal vs log size (300 calls each):');
console.log(`  at 100 events     p50 ${ms(percentile(small, 50))}  p99 ${ms(percentile(small, 99))}`);
console.log(`  at 10,000 events  p50 ${ms(percentile(large, 50))}  p99 ${ms(percentile(large, 99))}  p99 ratio ${(percentile(large, 99) / percentile(small, 99)).toFixed(2)}`);
