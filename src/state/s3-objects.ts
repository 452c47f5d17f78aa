/**
 * The few S3 operations the S3 task store needs, with conditional writes reported as a value
 * ("conflict") rather than an exception, and other failures turned into errors people can act on.
 * The SDK is imported on first use (through AwsClients), so the local store never loads it.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import type { AwsClients } from '../aws/clients.js';

export interface StoredObject {
  body: Buffer;
  etag: string;
  lastModified: Date | null;
}

export interface ListedObject {
  key: string;
  etag: string;
  size: number;
}

export type PutCondition = { ifNoneMatch: true } | { ifMatch: string } | null;

/** HTTP statuses S3 answers a lost conditional write with: 412 PreconditionFailed, 409 ConditionalRequestConflict. */
export function isConditionFailure(err: unknown): boolean {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } } | null;
  const status = e?.$metadata?.httpStatusCode;
  return status === 412 || status === 409 || e?.name === 'PreconditionFailed' || e?.name === 'ConditionalRequestConflict';
}

function isNotFound(err: unknown): boolean {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } } | null;
  return e?.name === 'NoSuchKey' || e?.name === 'NotFound' || (e?.$metadata?.httpStatusCode === 404 && e?.name !== 'NoSuchBucket');
}

function isNotModified(err: unknown): boolean {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } } | null;
  return e?.$metadata?.httpStatusCode === 304 || e?.name === 'NotModified';
}

/** An S3 failure, said for people; `retryable` when trying again may help (network, throttling, 5xx). */
export class StateStoreError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
    cause?: unknown,
  ) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'StateStoreError';
  }
}

export class ObjectStore {
  private client: Promise<S3Client> | null = null;
  private sdk: Promise<typeof import('@aws-sdk/client-s3')> | null = null;

  constructor(
    private readonly clients: AwsClients,
    readonly bucket: string,
  ) {}

  url(key: string): string {
    return `s3://${this.bucket}/${key}`;
  }

  async get(key: string, ifNoneMatch?: string): Promise<StoredObject | null | 'not-modified'> {
    const [s3, sdk] = await this.ready();
    try {
      const out = await s3.send(new sdk.GetObjectCommand({ Bucket: this.bucket, Key: key, ...(ifNoneMatch ? { IfNoneMatch: ifNoneMatch } : {}) }));
      const bytes = await out.Body!.transformToByteArray();
      return { body: Buffer.from(bytes), etag: out.ETag ?? '', lastModified: out.LastModified ?? null };
    } catch (err) {
      if (ifNoneMatch && isNotModified(err)) return 'not-modified';
      if (isNotFound(err)) return null;
      throw this.explain(err, 's3:GetObject', key);
    }
  }

  /** Writes `body`; `conflict` when the condition did not hold (someone else wrote first). */
  async put(key: string, body: string | Buffer, condition: PutCondition, contentType = 'application/json'): Promise<{ etag: string } | 'conflict'> {
    const [s3, sdk] = await this.ready();
    try {
      const out = await s3.send(
        new sdk.PutObjectCommand({
          Bucket: this.bucket,
          Key: key,
          Body: typeof body === 'string' ? Buffer.from(body, 'utf8') : body,
          ContentType: contentType,
          ...(condition && 'ifNoneMatch' in condition ? { IfNoneMatch: '*' } : {}),
          ...(condition && 'ifMatch' in condition ? { IfMatch: condition.ifMatch } : {}),
        }),
      );
      return { etag: out.ETag ?? '' };
    } catch (err) {
      if (condition && isConditionFailure(err)) return 'conflict';
      // If-Match on an object that is gone: someone removed it, which is also a lost race.
      if (condition && 'ifMatch' in condition && isNotFound(err)) return 'conflict';
      throw this.explain(err, 's3:PutObject', key);
    }
  }

  async delete(key: string, ifMatch?: string): Promise<boolean> {
    const [s3, sdk] = await this.ready();
    try {
      await s3.send(new sdk.DeleteObjectCommand({ Bucket: this.bucket, Key: key, ...(ifMatch ? { IfMatch: ifMatch } : {}) }));
      return true;
    } catch (err) {
      if (ifMatch && (isConditionFailure(err) || isNotFound(err))) return false;
      if (isNotFound(err)) return true;
      throw this.explain(err, 's3:DeleteObject', key);
    }
  }

  /** Every key under `prefix` (all pages), or with a delimiter the common prefixes below it. */
  async list(prefix: string, delimiter?: string, startAfter?: string): Promise<{ objects: ListedObject[]; prefixes: string[] }> {
    const [s3, sdk] = await this.ready();
    const objects: ListedObject[] = [];
    const prefixes: string[] = [];
    let token: string | undefined;
    do {
      let out;
      try {
        out = await s3.send(
          new sdk.ListObjectsV2Command({
            Bucket: this.bucket,
            Prefix: prefix,
            ContinuationToken: token,
            ...(delimiter ? { Delimiter: delimiter } : {}),
            ...(startAfter && !token ? { StartAfter: startAfter } : {}),
          }),
        );
      } catch (err) {
        throw this.explain(err, 's3:ListBucket', prefix);
      }
      for (const o of out.Contents ?? []) if (o.Key) objects.push({ key: o.Key, etag: o.ETag ?? '', size: o.Size ?? 0 });
      for (const p of out.CommonPrefixes ?? []) if (p.Prefix) prefixes.push(p.Prefix);
      token = out.IsTruncated ? out.NextContinuationToken : undefined;
    } while (token);
    return { objects, prefixes };
  }

  destroy(): void {
    void this.client?.then((c) => c.destroy()).catch(() => undefined);
  }

  private ready(): Promise<[S3Client, typeof import('@aws-sdk/client-s3')]> {
    this.client ??= this.clients.s3();
    this.sdk ??= import('@aws-sdk/client-s3');
    // A failed load must not stick: the next call tries again.
    return Promise.all([this.client, this.sdk]).catch((err) => {
      this.client = null;
      this.sdk = null;
      throw err;
    });
  }

  private explain(err: unknown, action: string, key: string): Error {
    const e = err as { name?: string; message?: string };
    if (e?.name === 'NoSuchBucket') {
      return new StateStoreError(
        `The state bucket "${this.bucket}" does not exist (state.bucket in deploy-mcp.config.json). Create it (versioning on is recommended), or fix the name.`,
        false,
        err,
      );
    }
    const problem = this.clients.problem(err, { action, resource: this.url(key) });
    return new StateStoreError(`Task state in ${this.url(key)}: ${problem.message} Next step: ${problem.nextStep}.`, problem.retryable, err);
  }
}
