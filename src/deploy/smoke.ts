/**
 * Smoke checks (SPEC §5 `smoke-test` targets): invoke a Lambda function, call an HTTP endpoint,
 * check an S3 object. Each check reports pass/fail with a detail a person can act on; a failing
 * AWS call is a failed check, not a crash.
 */
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { AwsClients } from '../aws/clients.js';
import { awsCall, errorMessage } from './aws-call.js';

export interface LambdaTarget {
  kind: 'lambda';
  function: string;
  qualifier?: string;
  payload?: unknown;
  expectJson?: unknown;
  expectStatusCode?: number;
}

export interface HttpTarget {
  kind: 'http';
  url: string;
  method?: string;
  expectStatus?: number;
  bodyContains?: string;
  maxLatencyMs?: number;
  headers?: Record<string, string>;
  body?: string;
  timeoutMs?: number;
}

export interface S3ObjectTarget {
  kind: 's3-object';
  bucket: string;
  key: string;
  sha256?: string;
  versionId?: string;
}

export type SmokeTarget = LambdaTarget | HttpTarget | S3ObjectTarget;

export interface SmokeResult {
  target: string;
  kind: SmokeTarget['kind'];
  passed: boolean;
  detail: string;
  durationMs: number;
  statusCode?: number;
  /** Lambda: the version that ran, when AWS says. S3: the version id read. */
  version?: string;
}

const MAX_DETAIL = 300;
const clip = (text: string, max = MAX_DETAIL) => (text.length > max ? `${text.slice(0, max)}…` : text);

export function targetLabel(t: SmokeTarget): string {
  switch (t.kind) {
    case 'lambda':
      return `lambda ${t.function}${t.qualifier ? `:${t.qualifier}` : ''}`;
    case 'http':
      return `http ${(t.method ?? 'GET').toUpperCase()} ${t.url}`;
    case 's3-object':
      return `s3://${t.bucket}/${t.key}${t.versionId ? `?versionId=${t.versionId}` : ''}`;
  }
}

/**
 * Where `actual` differs from the `expected` subset: objects match on the keys `expected` names,
 * arrays element by element with equal length, everything else by strict equality. Returns null
 * when it matches.
 */
export function jsonMismatch(expected: unknown, actual: unknown, at = '$'): string | null {
  if (expected !== null && typeof expected === 'object') {
    if (Array.isArray(expected)) {
      if (!Array.isArray(actual)) return `${at}: expected an array, got ${describe(actual)}`;
      if (actual.length !== expected.length) return `${at}: expected ${expected.length} element(s), got ${actual.length}`;
      for (let i = 0; i < expected.length; i++) {
        const m = jsonMismatch(expected[i], actual[i], `${at}[${i}]`);
        if (m) return m;
      }
      return null;
    }
    if (actual === null || typeof actual !== 'object' || Array.isArray(actual)) return `${at}: expected an object, got ${describe(actual)}`;
    for (const [key, value] of Object.entries(expected as Record<string, unknown>)) {
      if (!(key in (actual as Record<string, unknown>))) return `${at}.${key}: missing`;
      const m = jsonMismatch(value, (actual as Record<string, unknown>)[key], `${at}.${key}`);
      if (m) return m;
    }
    return null;
  }
  return Object.is(expected, actual) ? null : `${at}: expected ${JSON.stringify(expected)}, got ${describe(actual)}`;
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  return clip(JSON.stringify(value) ?? String(value), 80);
}

export interface LambdaInvokeResult {
  passed: boolean;
  detail: string;
  durationMs: number;
  statusCode?: number;
  executedVersion?: string;
}

export async function invokeLambda(clients: AwsClients, t: Omit<LambdaTarget, 'kind'>, signal?: AbortSignal): Promise<LambdaInvokeResult> {
  const started = Date.now();
  const { InvokeCommand } = await import('@aws-sdk/client-lambda');
  const lambda = await clients.lambda();
  const resource = `${t.function}${t.qualifier ? `:${t.qualifier}` : ''}`;
  let out;
  try {
    out = await awsCall(clients, 'lambda:InvokeFunction', resource, () =>
      lambda.send(
        new InvokeCommand({
          FunctionName: t.function,
          ...(t.qualifier ? { Qualifier: t.qualifier } : {}),
          InvocationType: 'RequestResponse',
          Payload: Buffer.from(JSON.stringify(t.payload ?? {}), 'utf8'),
        }),
        { abortSignal: signal },
      ),
    );
  } catch (err) {
    if ((err as Error)?.name === 'AbortError') throw err;
    return { passed: false, detail: `invoke failed: ${errorMessage(err)}`, durationMs: Date.now() - started };
  }
  const durationMs = Date.now() - started;
  const statusCode = out.StatusCode;
  const text = out.Payload ? Buffer.from(out.Payload).toString('utf8') : '';
  const base = { durationMs, statusCode, executedVersion: out.ExecutedVersion };
  if (out.FunctionError) {
    let message = text;
    try {
      const parsed = JSON.parse(text) as { errorType?: string; errorMessage?: string };
      message = [parsed.errorType, parsed.errorMessage].filter(Boolean).join(': ') || text;
    } catch {
      /* keep the raw text */
    }
    return { ...base, passed: false, detail: `FunctionError ${out.FunctionError}: ${clip(message, 200)}` };
  }
  const wantStatus = t.expectStatusCode ?? 200;
  if (statusCode !== wantStatus) return { ...base, passed: false, detail: `invoke status ${statusCode}, expected ${wantStatus}` };
  if (t.expectJson !== undefined) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      return { ...base, passed: false, detail: `the response is not JSON (${text.length} bytes), expected JSON matching ${describe(t.expectJson)}` };
    }
    const mismatch = jsonMismatch(t.expectJson, parsed);
    if (mismatch) return { ...base, passed: false, detail: `response does not match expectJson: ${mismatch}` };
    return { ...base, passed: true, detail: `status ${statusCode}, no FunctionError, response matches expectJson` };
  }
  return { ...base, passed: true, detail: `status ${statusCode}, no FunctionError` };
}

async function checkHttp(t: HttpTarget, signal: AbortSignal | undefined): Promise<Omit<SmokeResult, 'target' | 'kind'>> {
  const method = (t.method ?? 'GET').toUpperCase();
  const timeoutMs = t.timeoutMs ?? Math.max(10_000, (t.maxLatencyMs ?? 0) * 2);
  const timeout = AbortSignal.timeout(timeoutMs);
  const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
  const started = performance.now();
  let res: Response;
  let body: string;
  try {
    res = await fetch(t.url, { method, headers: t.headers, body: t.body, signal: combined, redirect: 'follow' });
    body = await res.text();
  } catch (err) {
    if (signal?.aborted) throw err;
    const e = err as Error & { cause?: { code?: string; message?: string } };
    const why = timeout.aborted ? `no answer within ${timeoutMs} ms` : `${e.cause?.code ?? e.name}: ${e.cause?.message ?? e.message}`;
    return { passed: false, detail: `request failed (${why})`, durationMs: Math.round(performance.now() - started) };
  }
  const durationMs = Math.round(performance.now() - started);
  const expectStatus = t.expectStatus ?? 200;
  const problems: string[] = [];
  if (res.status !== expectStatus) problems.push(`status ${res.status}, expected ${expectStatus}`);
  if (t.bodyContains !== undefined && !body.includes(t.bodyContains)) problems.push(`body (${body.length} bytes) does not contain ${JSON.stringify(clip(t.bodyContains, 80))}`);
  if (t.maxLatencyMs !== undefined && durationMs > t.maxLatencyMs) problems.push(`took ${durationMs} ms, over the ${t.maxLatencyMs} ms limit`);
  return {
    passed: problems.length === 0,
    detail: problems.length ? problems.join('; ') : `status ${res.status} in ${durationMs} ms${t.bodyContains !== undefined ? ', body matched' : ''}`,
    durationMs,
    statusCode: res.status,
  };
}

async function checkS3Object(clients: AwsClients, t: S3ObjectTarget, signal: AbortSignal | undefined): Promise<Omit<SmokeResult, 'target' | 'kind'>> {
  const started = Date.now();
  const { HeadObjectCommand, GetObjectCommand } = await import('@aws-sdk/client-s3');
  const s3 = await clients.s3();
  const resource = `arn:aws:s3:::${t.bucket}/${t.key}`;
  const version = t.versionId ? { VersionId: t.versionId } : {};
  try {
    const head = await awsCall(clients, 's3:GetObject', resource, () =>
      s3.send(new HeadObjectCommand({ Bucket: t.bucket, Key: t.key, ...version }), { abortSignal: signal }),
    );
    if (!t.sha256) {
      return { passed: true, detail: `exists (${head.ContentLength ?? '?'} bytes${head.VersionId ? `, version ${head.VersionId}` : ''})`, durationMs: Date.now() - started, version: head.VersionId };
    }
    const got = await awsCall(clients, 's3:GetObject', resource, () => s3.send(new GetObjectCommand({ Bucket: t.bucket, Key: t.key, ...version }), { abortSignal: signal }));
    const hash = createHash('sha256');
    for await (const chunk of got.Body as Readable) hash.update(chunk as Buffer);
    const actual = hash.digest('hex');
    const want = t.sha256.toLowerCase();
    const passed = actual === want;
    return {
      passed,
      detail: passed ? `exists, sha256 matches (${head.ContentLength ?? '?'} bytes)` : `sha256 is ${actual}, expected ${want}`,
      durationMs: Date.now() - started,
      version: got.VersionId ?? head.VersionId,
    };
  } catch (err) {
    if ((err as Error)?.name === 'AbortError') throw err;
    return { passed: false, detail: errorMessage(err), durationMs: Date.now() - started };
  }
}

export async function runSmokeTarget(clients: AwsClients, t: SmokeTarget, signal?: AbortSignal): Promise<SmokeResult> {
  const target = targetLabel(t);
  switch (t.kind) {
    case 'lambda': {
      const r = await invokeLambda(clients, t, signal);
      return { target, kind: t.kind, passed: r.passed, detail: r.detail, durationMs: r.durationMs, statusCode: r.statusCode, version: r.executedVersion };
    }
    case 'http':
      return { target, kind: t.kind, ...(await checkHttp(t, signal)) };
    case 's3-object':
      return { target, kind: t.kind, ...(await checkS3Object(clients, t, signal)) };
  }
}
