/**
 * Executes restore targets: each alias back on its version with routing cleared (read back with
 * GetAlias), each object's previous version copied over the key (read back with HeadObject). One
 * target failing does not stop the others: a rollback restores everything it can and says
 * exactly what it could not.
 */
import type { AwsClients } from '../aws/clients.js';
import { mapWithConcurrency } from '../aws/concurrency.js';
import { awsCall, errorMessage } from './aws-call.js';
import { describeAlias, restoreAlias } from './lambda-alias.js';
import { copySource, type ObjectRestoreTarget, type RestoreTarget } from './rollback-plan.js';

export interface RestoredItem {
  kind: RestoreTarget['kind'];
  component: string;
  target: string;
  /** What it was before the restore (alias version / object version id). */
  from: string | null;
  to: string;
  status: 'restored' | 'unchanged' | 'failed';
  verified: boolean;
  detail: string;
  durationMs: number;
}

export interface ExecuteOptions {
  signal?: AbortSignal;
  concurrency?: number;
  progress?: (done: number, total: number, message: string) => Promise<void>;
}

export async function executeRestore(clients: AwsClients, targets: readonly RestoreTarget[], opts: ExecuteOptions = {}): Promise<RestoredItem[]> {
  let done = 0;
  return mapWithConcurrency(targets, opts.concurrency ?? 10, async (t) => {
    const item = t.kind === 'lambda-alias' ? await restoreOneAlias(clients, t, opts.signal) : await restoreOneObject(clients, t, opts.signal);
    await opts.progress?.(++done, targets.length, `${item.target}: ${item.status}`);
    return item;
  });
}

async function restoreOneAlias(clients: AwsClients, t: Extract<RestoreTarget, { kind: 'lambda-alias' }>, signal?: AbortSignal): Promise<RestoredItem> {
  const started = Date.now();
  const target = `${t.function}:${t.alias}`;
  try {
    const r = await restoreAlias(clients, t.function, t.alias, t.version, signal);
    return {
      kind: t.kind,
      component: t.component,
      target,
      from: r.before ? r.before.functionVersion : null,
      to: t.version,
      status: r.verified ? (r.changed ? 'restored' : 'unchanged') : 'failed',
      verified: r.verified,
      detail: r.verified
        ? `${r.changed ? `was ${describeAlias(r.before)}; ` : 'already '}on version ${t.version}, unweighted (GetAlias)`
        : `after the update the alias reads back as ${describeAlias(r.after)}`,
      durationMs: Date.now() - started,
    };
  } catch (err) {
    return { kind: t.kind, component: t.component, target, from: null, to: t.version, status: 'failed', verified: false, detail: errorMessage(err), durationMs: Date.now() - started };
  }
}

interface ObjectFacts {
  versionId?: string;
  size?: number;
  sha256?: string;
  etag?: string;
}

async function headObject(clients: AwsClients, bucket: string, key: string, versionId: string | undefined, signal?: AbortSignal): Promise<ObjectFacts> {
  const { HeadObjectCommand } = await import('@aws-sdk/client-s3');
  const s3 = await clients.s3();
  const out = await awsCall(clients, 's3:GetObject', `arn:aws:s3:::${bucket}/${key}`, () =>
    s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key, ...(versionId ? { VersionId: versionId } : {}) }), { abortSignal: signal }),
  );
  return { versionId: out.VersionId, size: out.ContentLength, sha256: out.Metadata?.sha256, etag: out.ETag };
}

/** Same content: size and recorded sha256 (and the ETag when both are plain MD5s). */
function sameContent(a: ObjectFacts, b: ObjectFacts): boolean {
  const md5 = (e?: string) => (e && /^"[0-9a-f]{32}"$/.test(e) ? e : undefined);
  if (a.size !== b.size) return false;
  if ((a.sha256 ?? null) !== (b.sha256 ?? null)) return false;
  if (md5(a.etag) && md5(b.etag) && a.etag !== b.etag) return false;
  return true;
}

async function restoreOneObject(clients: AwsClients, t: ObjectRestoreTarget, signal?: AbortSignal): Promise<RestoredItem> {
  const started = Date.now();
  const target = `s3://${t.bucket}/${t.key}`;
  const base = { kind: t.kind, component: t.component, target, to: t.versionId };
  let from: string | null = null;
  try {
    const { CopyObjectCommand } = await import('@aws-sdk/client-s3');
    const s3 = await clients.s3();
    const old = await headObject(clients, t.bucket, t.key, t.versionId, signal);
    const current = await headObject(clients, t.bucket, t.key, undefined, signal).catch(() => null);
    from = current?.versionId ?? null;
    if (current && current.versionId === t.versionId) {
      return { ...base, from, status: 'unchanged', verified: true, detail: `version ${t.versionId} is already current`, durationMs: Date.now() - started };
    }
    const copied = await awsCall(clients, 's3:PutObject', `arn:aws:s3:::${t.bucket}/${t.key}`, () =>
      s3.send(new CopyObjectCommand({ Bucket: t.bucket, Key: t.key, CopySource: copySource(t.bucket, t.key, t.versionId), MetadataDirective: 'COPY' }), { abortSignal: signal }),
    );
    const now = await headObject(clients, t.bucket, t.key, undefined, signal);
    const verified = sameContent(now, old) && (!copied.VersionId || now.versionId === copied.VersionId);
    return {
      ...base,
      from,
      status: verified ? 'restored' : 'failed',
      verified,
      detail: verified
        ? `content of version ${t.versionId} (${old.size} bytes${old.sha256 ? `, sha256 ${old.sha256.slice(0, 12)}…` : ''}) is current again as version ${now.versionId ?? '?'} (HeadObject)`
        : `after the copy the object reads back as version ${now.versionId ?? '?'} (${now.size} bytes), not the content of ${t.versionId} (${old.size} bytes)`,
      durationMs: Date.now() - started,
    };
  } catch (err) {
    return { ...base, from, status: 'failed', verified: false, detail: errorMessage(err), durationMs: Date.now() - started };
  }
}
