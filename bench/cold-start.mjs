// Cold start: spawn → initialize answered → tools/list, deploy-mcp vs a one-tool McpServer (the
// floor), interleaved in one run so machine noise hits both alike. Reports medians and the ratio.
//
// Two ways of asking for the tool list, both measured:
//  - "server": a raw `tools/list` request; the clock stops when the server's answer arrives. This
//    is the server's cold start (the target).
//  - "SDK client": `Client.listTools()`, which after the answer also compiles every advertised
//    outputSchema with ajv in the *client* process. The floor advertises none, so this line shows
//    what our (large) output schemas cost a client built on the SDK.
import { performance } from 'node:perf_hooks';
import path from 'node:path';
import { ListToolsResultSchema } from '@modelcontextprotocol/sdk/types.js';
import { CLI, ROOT, connect, median, ms, requireBuild, tempProject, watchdog } from './lib.mjs';

requireBuild();
watchdog(10, 'cold-start');
const RUNS = Number(process.env.RUNS ?? 15);
const WARMUP = 2;
const project = tempProject();
const subjects = {
  'deploy-mcp': [CLI, '--project', project],
  floor: [path.join(ROOT, 'bench/floor-server.mjs')],
};
const modes = {
  server: (client) => client.request({ method: 'tools/list' }, ListToolsResultSchema),
  'SDK client': (client) => client.listTools(),
};
const times = {};
const initTimes = {};
let toolCount = {};
for (let i = 0; i < RUNS + WARMUP; i++) {
  for (const [mode, list] of Object.entries(modes)) {
    for (const [name, args] of Object.entries(subjects)) {
      const t0 = performance.now();
      const client = await connect(process.execPath, args);
      const tInit = performance.now() - t0;
      const result = await list(client);
      const elapsed = performance.now() - t0;
      await client.close();
      toolCount[name] = result.tools.length;
      if (i < WARMUP) continue; // warm-up rounds fill the OS file cache
      (times[`${mode}|${name}`] ??= []).push(elapsed);
      (initTimes[name] ??= []).push(tInit);
    }
  }
}
console.log(`cold start (spawn → initialize → tools/list), median of ${RUNS} runs each, interleaved:`);
console.log(`  initialize answered:    deploy-mcp ${ms(median(initTimes['deploy-mcp']))}   floor ${ms(median(initTimes.floor))}`);
for (const mode of Object.keys(modes)) {
  const ours = median(times[`${mode}|deploy-mcp`]);
  const floor = median(times[`${mode}|floor`]);
  const target = mode === 'server' ? ' (target ≤ 1.15)' : ' (informative: includes client-side ajv compile of outputSchemas)';
  console.log(
    `  tools/list, ${mode.padEnd(10)}  deploy-mcp ${ms(ours)} (${toolCount['deploy-mcp']} tools)   floor ${ms(floor)} (${toolCount.floor} tool)   ratio ${(ours / floor).toFixed(3)}${target}`,
  );
}
