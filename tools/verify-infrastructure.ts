import { z } from 'zod';
import { substituteEnvironment } from '../src/config/index.js';
import { mapWithConcurrency } from '../src/aws/concurrency.js';
import { verifyResource } from '../src/aws/verify/index.js';
import { VerifyResultOutput } from '../src/aws/verify-schemas.js';
import { ToolError, defineTool } from '../src/tool.js';
import { TaskIdInput } from '../src/tool-schemas.js';

/** Resources verified at once: enough to hide API latency, few enough to stay clear of throttling. */
export const VERIFY_CONCURRENCY = 8;

export default defineTool({
  name: 'verify-infrastructure',
  title: 'Verify all configured infrastructure',
  description:
    "Verifies every resource listed in the config (or the named subset) through the AWS API, concurrently, with a progress notification per resource, and writes the results to the journal's Infrastructure Changes section. Phase 3's exit criterion is a full run (no `resources` filter) with zero discrepancies.",
  phases: [3],
  aws: true,
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  input: z
    .object({
      taskId: TaskIdInput,
      resources: z.array(z.string().min(1)).min(1).optional().describe('Only these configured resource names (a partial run does not satisfy the exit criterion)'),
    })
    .strict(),
  output: z.object({
    results: z.array(VerifyResultOutput),
    verified: z.boolean(),
    discrepancyCount: z.number(),
    problemCount: z.number(),
    highFlags: z.number(),
    durationMs: z.number(),
    fullRun: z.boolean(),
  }),
  summarize: (o) =>
    `${o.results.filter((r) => r.verified).length}/${o.results.length} resources verified${o.fullRun ? '' : ' (partial run)'}, ${o.discrepancyCount} discrepanc${o.discrepancyCount === 1 ? 'y' : 'ies'}, ${o.problemCount} unreadable propert${o.problemCount === 1 ? 'y' : 'ies'} in ${o.durationMs} ms` +
    o.results
      .filter((r) => !r.verified)
      .map((r) => `\n  ✘ ${r.type} ${r.name}: ${r.existence === 'absent' ? 'missing' : [...r.discrepancies.map((d) => `${d.field} expected ${JSON.stringify(d.expected)} got ${JSON.stringify(d.actual)}`), ...r.problems.map((p) => `${p.field}: ${p.code}`)].join('; ')}`)
      .join(''),
  async run(input, ctx) {
    const state = ctx.task!;
    const configured = (ctx.config?.resources ?? []).map((r) => substituteEnvironment(r, state.environment));
    if (configured.length === 0) {
      throw new ToolError('no-resources', 'The config lists no resources to verify.', 'Add the resources of this deployment to `resources` in deploy-mcp.config.json (type, name, expect), then restart the server.');
    }
    let selected = configured;
    if (input.resources) {
      const names = new Set(input.resources.map((n) => substituteEnvironment(n, state.environment)));
      selected = configured.filter((r) => names.has(r.name));
      const unknown = [...names].filter((n) => !configured.some((r) => r.name === n));
      if (unknown.length) {
        throw new ToolError('unknown-resource', `Not in the config: ${unknown.join(', ')}.`, `Configured: ${configured.map((r) => r.name).join(', ')}.`);
      }
    }
    const clients = ctx.aws();
    const started = Date.now();
    let done = 0;
    await ctx.progress(0, selected.length, `verifying ${selected.length} resources`);
    const results = await mapWithConcurrency(selected, VERIFY_CONCURRENCY, async (r) => {
      if (ctx.signal.aborted) throw Object.assign(new Error('cancelled'), { name: 'AbortError' });
      const result = await verifyResource(clients, { type: r.type, name: r.name, expect: (r.expect ?? {}) as Record<string, unknown> });
      done += 1;
      await ctx.progress(done, selected.length, `${r.type} ${r.name}: ${result.verified ? 'ok' : 'discrepancy'}`);
      return result;
    });
    const discrepancyCount = results.reduce((n, r) => n + r.discrepancies.length, 0);
    const problemCount = results.reduce((n, r) => n + r.problems.length, 0);
    return {
      results,
      verified: results.every((r) => r.verified),
      discrepancyCount,
      problemCount,
      highFlags: results.reduce((n, r) => n + r.flags.filter((f) => f.severity === 'high').length, 0),
      durationMs: Date.now() - started,
      fullRun: !input.resources,
    };
  },
});
