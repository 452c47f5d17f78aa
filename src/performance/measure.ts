/**
 * A small, bounded load run: N requests with at most C in flight, stopped early at a deadline or
 * on cancellation. The percentile maths and the threshold comparison are pure; sending a request
 * is the caller's (Lambda Invoke, HTTP).
 */

export interface RequestResult {
  ok: boolean;
  /** Why a request counted as an error (status, FunctionError, network failure). */
  error?: string;
}

export interface Sample extends RequestResult {
  ms: number;
}

/** Thrown by a sender when every further request would fail the same way (missing function, no permission). */
export class FatalLoadError extends Error {
  constructor(readonly reason: unknown) {
    super((reason as Error)?.message ?? String(reason));
    this.name = 'FatalLoadError';
  }
}

export interface LoadOptions {
  requests: number;
  concurrency: number;
  /** Stop starting new requests after this many milliseconds. */
  maxDurationMs: number;
  signal?: AbortSignal;
  /** Called after each completed request. */
  onProgress?: (done: number, total: number) => void | Promise<void>;
}

export interface LoadRun {
  samples: Sample[];
  durationMs: number;
  /** Stopped before all requests were sent (deadline or cancellation). */
  truncated: boolean;
  cancelled: boolean;
}

export async function runLoad(opts: LoadOptions, send: (index: number) => Promise<RequestResult>): Promise<LoadRun> {
  const started = performance.now();
  const samples: Sample[] = [];
  let next = 0;
  let fatal: unknown;
  let stoppedEarly = false;
  const worker = async (): Promise<void> => {
    while (next < opts.requests && fatal === undefined) {
      if (opts.signal?.aborted || performance.now() - started >= opts.maxDurationMs) {
        stoppedEarly = true;
        return;
      }
      const index = next++;
      const t0 = performance.now();
      let result: RequestResult;
      try {
        result = await send(index);
      } catch (err) {
        if (err instanceof FatalLoadError) {
          fatal ??= err.reason;
          return;
        }
        result = { ok: false, error: (err as Error)?.message ?? String(err) };
      }
      samples.push({ ...result, ms: performance.now() - t0 });
      await opts.onProgress?.(samples.length, opts.requests);
    }
  };
  const workers = Math.max(1, Math.min(opts.concurrency, opts.requests));
  await Promise.all(Array.from({ length: workers }, worker));
  if (fatal !== undefined) throw fatal;
  return {
    samples,
    durationMs: performance.now() - started,
    truncated: stoppedEarly && samples.length < opts.requests,
    cancelled: opts.signal?.aborted === true,
  };
}

/** Nearest-rank percentile of an ascending list (p in 0–100). */
export function percentile(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

export interface Thresholds {
  p50Ms?: number;
  p95Ms?: number;
  p99Ms?: number;
  maxErrorRate: number;
}

/** Without a configured error-rate limit, 1% of requests may fail. */
export const DEFAULT_MAX_ERROR_RATE = 0.01;

export interface Measurement {
  completed: number;
  succeeded: number;
  failed: number;
  p50Ms: number | null;
  p95Ms: number | null;
  p99Ms: number | null;
  minMs: number | null;
  maxMs: number | null;
  meanMs: number | null;
  errorRate: number;
  violations: string[];
  withinThresholds: boolean;
  errorSamples: string[];
}

const round = (n: number | null, digits = 1): number | null => (n === null ? null : Math.round(n * 10 ** digits) / 10 ** digits);

/** Latency percentiles over the successful requests; the error rate over all of them. */
export function summarise(samples: readonly Sample[], thresholds: Thresholds): Measurement {
  const okTimes = samples.filter((s) => s.ok).map((s) => s.ms).sort((a, b) => a - b);
  const failed = samples.length - okTimes.length;
  const errorRate = samples.length === 0 ? 1 : failed / samples.length;
  const m = {
    p50Ms: round(percentile(okTimes, 50)),
    p95Ms: round(percentile(okTimes, 95)),
    p99Ms: round(percentile(okTimes, 99)),
  };
  const violations: string[] = [];
  if (samples.length === 0) violations.push('no request completed');
  else if (okTimes.length === 0) violations.push('no request succeeded, so there is no latency to compare');
  for (const key of ['p50Ms', 'p95Ms', 'p99Ms'] as const) {
    const limit = thresholds[key];
    const value = m[key];
    if (limit !== undefined && value !== null && value > limit) violations.push(`${key.slice(0, 3)} ${value} ms is above the threshold of ${limit} ms`);
  }
  if (samples.length > 0 && errorRate > thresholds.maxErrorRate) {
    violations.push(`error rate ${(errorRate * 100).toFixed(2)}% is above the threshold of ${(thresholds.maxErrorRate * 100).toFixed(2)}%`);
  }
  const distinctErrors = [...new Set(samples.filter((s) => !s.ok).map((s) => s.error ?? 'error'))];
  return {
    completed: samples.length,
    succeeded: okTimes.length,
    failed,
    ...m,
    minMs: round(okTimes[0] ?? null),
    maxMs: round(okTimes.at(-1) ?? null),
    meanMs: round(okTimes.length ? okTimes.reduce((a, b) => a + b, 0) / okTimes.length : null),
    errorRate: Math.round(errorRate * 10_000) / 10_000,
    violations,
    withinThresholds: violations.length === 0,
    errorSamples: distinctErrors.slice(0, 5),
  };
}
