import { z } from 'zod';
import { mapWithConcurrency } from '../src/aws/concurrency.js';
import { runSmokeTarget, type SmokeTarget } from '../src/deploy/smoke.js';
import { deployedAliases } from '../src/deploy/task-facts.js';
import { defineTool } from '../src/tool.js';
import { TaskIdInput } from '../src/tool-schemas.js';

const LambdaTarget = z
  .object({
    kind: z.literal('lambda'),
    function: z.string().trim().min(1).max(170).regex(/^[A-Za-z0-9_:.-]+$/, 'a function name or ARN'),
    qualifier: z.string().trim().min(1).max(128).optional().describe('Alias or version; default: the alias deploy-lambda moved in this task, else $LATEST'),
    payload: z.unknown().optional().describe('The event (JSON; default {})'),
    expectJson: z.unknown().optional().describe('The response must contain this JSON (objects match on the keys given)'),
    expectStatusCode: z.number().int().optional().describe('Invoke status code (default 200)'),
  })
  .strict();

const HttpTarget = z
  .object({
    kind: z.literal('http'),
    url: z.string().url().max(2048).refine((u) => /^https?:\/\//i.test(u), 'an http(s) URL'),
    method: z.enum(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']).optional(),
    expectStatus: z.number().int().min(100).max(599).optional().describe('Default 200'),
    bodyContains: z.string().max(1000).optional(),
    maxLatencyMs: z.number().int().positive().max(600_000).optional(),
    headers: z.record(z.string(), z.string()).optional(),
    body: z.string().max(100_000).optional(),
    timeoutMs: z.number().int().positive().max(600_000).optional(),
  })
  .strict();

const S3ObjectTarget = z
  .object({
    kind: z.literal('s3-object'),
    bucket: z.string().trim().min(3).max(63),
    key: z.string().min(1).max(1024),
    sha256: z.string().regex(/^[0-9a-fA-F]{64}$/, 'a hex SHA-256').optional(),
    versionId: z.string().min(1).max(1024).optional(),
  })
  .strict();

export default defineTool({
  name: 'smoke-test',
  title: 'Smoke-test the deployment',
  description:
    'Runs quick checks against what was deployed and records every result: `lambda` targets invoke the function (pass: no FunctionError, status 200 or expectStatusCode, and the JSON response contains expectJson); `http` targets call a URL (expectStatus default 200, bodyContains, maxLatencyMs); `s3-object` targets check an object exists (and its sha256 when given). A lambda target without qualifier invokes the alias deploy-lambda moved in this task. Only the latest run counts for the phase-4 criterion, and it must cover what was deployed.',
  phases: [4, 5],
  aws: true,
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
  input: z
    .object({
      taskId: TaskIdInput,
      targets: z.array(z.discriminatedUnion('kind', [LambdaTarget, HttpTarget, S3ObjectTarget])).min(1).max(50),
    })
    .strict(),
  output: z.object({
    results: z.array(
      z.object({
        target: z.string(),
        kind: z.enum(['lambda', 'http', 's3-object']),
        passed: z.boolean(),
        detail: z.string(),
        durationMs: z.number(),
        statusCode: z.number().optional(),
        version: z.string().optional(),
      }),
    ),
    allPassed: z.boolean(),
    passedCount: z.number(),
    failedCount: z.number(),
  }),
  summarize: (o) =>
    [`${o.allPassed ? 'All' : `${o.failedCount} of`} ${o.results.length} smoke target(s) ${o.allPassed ? 'passed' : 'failed'}`, ...o.results.map((r) => `  ${r.passed ? '✔' : '✘'} ${r.target} (${r.durationMs} ms): ${r.detail}`)].join('\n'),
  async run(input, ctx) {
    const aliases = deployedAliases(ctx.task!);
    const targets = input.targets.map((t) => {
      if (t.kind === 'lambda' && !t.qualifier) {
        const alias = aliases.get(t.function)?.alias;
        return (alias ? { ...t, qualifier: alias } : t) as SmokeTarget;
      }
      return t as SmokeTarget;
    });
    const needsAws = targets.some((t) => t.kind !== 'http');
    const clients = needsAws ? ctx.aws() : null;
    let done = 0;
    const results = await mapWithConcurrency(targets, 4, async (t) => {
      const r = await runSmokeTarget(clients!, t, ctx.signal);
      await ctx.progress(++done, targets.length, `${r.passed ? 'passed' : 'FAILED'}: ${r.target}`);
      return r;
    });
    const passedCount = results.filter((r) => r.passed).length;
    return { results, allPassed: passedCount === results.length, passedCount, failedCount: results.length - passedCount };
  },
});
