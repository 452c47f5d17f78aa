import { z } from 'zod';
import { FatalLoadError, DEFAULT_MAX_ERROR_RATE, runLoad, summarise, type RequestResult, type Thresholds } from '../src/performance/measure.js';
import { defineTool } from '../src/tool.js';
import { TaskIdInput } from '../src/tool-schemas.js';

export const MAX_REQUESTS = 1000;
export const MAX_CONCURRENCY = 50;
export const MAX_DURATION_SEC = 300;

const LambdaTarget = z
  .object({
    kind: z.literal('lambda'),
    function: z.string().trim().min(1).max(170).describe('Function name or ARN'),
    qualifier: z.string().trim().min(1).max(128).optional().describe('Alias or version, e.g. "live"'),
    payload: z.unknown().optional().describe('JSON event sent with every invocation (default {})'),
  })
  .strict();

const HttpTarget = z
  .object({
    kind: z.literal('http'),
    url: z.string().url().refine((u) => /^https?:\/\//i.test(u), 'must be an http:// or https:// URL'),
    method: z.enum(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']).optional().describe('Default GET'),
    headers: z.record(z.string(), z.string()).optional(),
    body: z.string().max(65_536).optional(),
    expectStatus: z.number().int().min(100).max(599).optional().describe('Status that counts as success (default: any 2xx/3xx)'),
  })
  .strict();

const errorText = (err: unknown): string => {
  const e = err as { name?: string; code?: string; cause?: { code?: string }; message?: string };
  if (e?.name === 'TimeoutError') return 'timed out';
  return e?.cause?.code ?? e?.code ?? e?.message ?? String(err);
};

export default defineTool({
  name: 'measure-performance',
  title: 'Measure latency and error rate under load',
  description:
    'Sends `requests` requests with at most `concurrency` in flight to a Lambda function (Invoke, optionally an alias) or an HTTP(S) URL, and reports p50/p95/p99 latency (over successful requests), the error rate, and whether they are within the configured `performance` thresholds (p50Ms, p95Ms, p99Ms, maxErrorRate; 1% errors allowed when unset). Bounded: at most 1000 requests, 50 in flight and 300 s; sends a progress notification as requests complete and stops early on cancellation. Optional `warmup` requests are sent first and not counted. A missing function or a missing permission stops the run with an error. Invoking a function runs its code, so agree the load with the human first on production.',
  phases: [5],
  aws: true,
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
  input: z
    .object({
      taskId: TaskIdInput,
      target: z.discriminatedUnion('kind', [LambdaTarget, HttpTarget]),
      requests: z.number().int().min(1).max(MAX_REQUESTS).optional().describe('Number of measured requests (default 50)'),
      concurrency: z.number().int().min(1).max(MAX_CONCURRENCY).optional().describe('Requests in flight at once (default 5)'),
      warmup: z.number().int().min(0).max(50).optional().describe('Requests sent first and not measured, e.g. to absorb cold starts (default 0)'),
      timeoutMs: z.number().int().min(100).max(60_000).optional().describe('Per-request timeout (default 10000)'),
      maxDurationSec: z.number().int().min(1).max(MAX_DURATION_SEC).optional().describe('Stop starting requests after this long (default 60)'),
    })
    .strict(),
  output: z.object({
    target: z.string(),
    requests: z.number().int(),
    concurrency: z.number().int(),
    warmup: z.number().int(),
    completed: z.number().int(),
    succeeded: z.number().int(),
    failed: z.number().int(),
    p50Ms: z.number().nullable(),
    p95Ms: z.number().nullable(),
    p99Ms: z.number().nullable(),
    minMs: z.number().nullable(),
    maxMs: z.number().nullable(),
    meanMs: z.number().nullable(),
    errorRate: z.number(),
    throughputRps: z.number(),
    durationMs: z.number(),
    thresholds: z.object({ p50Ms: z.number().optional(), p95Ms: z.number().optional(), p99Ms: z.number().optional(), maxErrorRate: z.number() }),
    thresholdsConfigured: z.boolean(),
    violations: z.array(z.string()),
    withinThresholds: z.boolean(),
    truncated: z.boolean(),
    errorSamples: z.array(z.string()),
  }),
  summarize: (o) =>
    `${o.target}: ${o.completed}/${o.requests} requests at concurrency ${o.concurrency} — p50 ${o.p50Ms ?? '–'} ms, p95 ${o.p95Ms ?? '–'} ms, p99 ${o.p99Ms ?? '–'} ms, error rate ${(o.errorRate * 100).toFixed(2)}% — ${o.withinThresholds ? 'within thresholds' : `outside thresholds (${o.violations.join('; ')})`}${o.truncated ? ' (stopped early)' : ''}.`,
  async run(input, ctx) {
    const requests = input.requests ?? 50;
    const concurrency = Math.min(input.concurrency ?? 5, requests);
    const warmup = input.warmup ?? 0;
    const timeoutMs = input.timeoutMs ?? 10_000;
    const configured = ctx.config?.performance ?? {};
    const thresholds: Thresholds = {
      ...(configured.p50Ms !== undefined ? { p50Ms: configured.p50Ms } : {}),
      ...(configured.p95Ms !== undefined ? { p95Ms: configured.p95Ms } : {}),
      ...(configured.p99Ms !== undefined ? { p99Ms: configured.p99Ms } : {}),
      maxErrorRate: configured.maxErrorRate ?? DEFAULT_MAX_ERROR_RATE,
    };

    let describe: string;
    let send: (i: number) => Promise<RequestResult>;
    const target = input.target;
    if (target.kind === 'lambda') {
      const clients = ctx.aws();
      const lambda = await clients.lambda();
      const { InvokeCommand, GetFunctionConfigurationCommand } = await import('@aws-sdk/client-lambda');
      // Fail fast and clearly on a missing function or alias (emulators invoke any name).
      try {
        await lambda.send(new GetFunctionConfigurationCommand({ FunctionName: target.function, Qualifier: target.qualifier }));
      } catch (err) {
        throw clients.error(err, { action: 'lambda:GetFunctionConfiguration', resource: `${target.function}${target.qualifier ? `:${target.qualifier}` : ''}` });
      }
      const payload = new TextEncoder().encode(JSON.stringify(target.payload ?? {}));
      describe = `lambda ${target.function}${target.qualifier ? `:${target.qualifier}` : ''}`;
      send = async () => {
        try {
          const out = await lambda.send(new InvokeCommand({ FunctionName: target.function, Qualifier: target.qualifier, Payload: payload }), {
            abortSignal: AbortSignal.any([ctx.signal, AbortSignal.timeout(timeoutMs)]),
          });
          if (out.FunctionError) return { ok: false, error: `FunctionError ${out.FunctionError}` };
          if (out.StatusCode !== undefined && (out.StatusCode < 200 || out.StatusCode >= 300)) return { ok: false, error: `status ${out.StatusCode}` };
          return { ok: true };
        } catch (err) {
          const problem = clients.problem(err, { action: 'lambda:InvokeFunction', resource: describe.slice(7) });
          // Configuration errors would fail every request the same way: stop and say so.
          if (problem.kind === 'not-found' || problem.kind === 'access-denied' || problem.kind === 'credentials' || problem.kind === 'invalid-request') {
            throw new FatalLoadError(clients.error(err, { action: 'lambda:InvokeFunction', resource: describe.slice(7) }));
          }
          return { ok: false, error: problem.code };
        }
      };
    } else {
      const url = new URL(target.url);
      const method = target.method ?? 'GET';
      describe = `${method} ${url.origin}${url.pathname}`;
      send = async () => {
        try {
          const res = await fetch(url, {
            method,
            headers: target.headers,
            body: method === 'GET' || method === 'HEAD' ? undefined : target.body,
            redirect: 'manual',
            signal: AbortSignal.any([ctx.signal, AbortSignal.timeout(timeoutMs)]),
          });
          await res.arrayBuffer(); // the response counts when it has been read in full
          const ok = target.expectStatus !== undefined ? res.status === target.expectStatus : res.status >= 200 && res.status < 400;
          return ok ? { ok: true } : { ok: false, error: `HTTP ${res.status}` };
        } catch (err) {
          return { ok: false, error: errorText(err) };
        }
      };
    }

    for (let i = 0; i < warmup && !ctx.signal.aborted; i++) {
      try {
        await send(-1 - i);
      } catch (err) {
        throw err instanceof FatalLoadError ? err.reason : err;
      }
    }

    const step = Math.max(1, Math.floor(requests / 50));
    const run = await runLoad(
      {
        requests,
        concurrency,
        maxDurationMs: (input.maxDurationSec ?? 60) * 1000,
        signal: ctx.signal,
        onProgress: async (done, total) => {
          if (done % step === 0 || done === total) await ctx.progress(done, total, `${done}/${total} requests to ${describe}`);
        },
      },
      send,
    );
    if (run.cancelled) throw Object.assign(new Error('cancelled'), { name: 'AbortError' });
    const m = summarise(run.samples, thresholds);
    if (run.truncated) {
      m.violations.push(`only ${run.samples.length} of ${requests} requests were sent within the ${input.maxDurationSec ?? 60} s limit`);
      m.withinThresholds = false;
    }
    return {
      target: describe,
      requests,
      concurrency,
      warmup,
      ...m,
      throughputRps: run.durationMs > 0 ? Math.round((run.samples.length / run.durationMs) * 1000 * 10) / 10 : 0,
      durationMs: Math.round(run.durationMs),
      thresholds,
      thresholdsConfigured: Object.keys(configured).length > 0,
      truncated: run.truncated,
    };
  },
});
