// Cold start: spawn → initialize answered → tools/list, deploy-mcp vs a one-tool McpServer (the
// floor), interleaved in one run so machine noise hits both alike. Reports medians and the ratio.
import { performance } from 'node:perf_hooks';
import path from 'node:path';
import { CLI, ROOT, connect, median, ms, tempProject } from './lib.mjs';

const RUNS = Number(process.env.RUNS ?? 15);
const project = tempProject();
const subjects = {
  'deploy-mcp': [CLI, '--project', project],
  floor: [path.join(ROOT, 'bench/floor-server.mjs')],
};
const times = { 'deploy-mcp': [], floor: [] };
for (let i = 0; i < RUNS + 2; i++) {
  for (const [name, args] of Object.entries(subjects)) {
    const t0 = performance.now();
    const client = await connect(process.execPath, args);
    await client.listTools();
    const elapsed = performance.now() - t0;
    await client.close();
    if (i >= 2) times[name].push(elapsed); // two warm-up rounds fill the OS file cache
  }
}
const ours = median(times['deploy-mcp']);
const floor = median(times.floor);
console.log(`cold start (spawn → initialize → tools/list), median of ${RUNS}:`);
console.log(`  deploy-mcp ${ms(ours)}   floor (one-tool McpServer) ${ms(floor)}   ratio ${(ours / floor).toFixed(3)} (target ≤ 1.15)`);
