/**
 * Uploads artifact files to S3 with their SHA-256, skipping objects whose content is already
 * there (same sha256 metadata and size), and recording for each object the version it replaced:
 * that version id is what rollback copies back.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { AwsClients } from '../aws/clients.js';
import { mapWithConcurrency } from '../aws/concurrency.js';
import { ToolError } from '../tool.js';
import { awsCall, isNotFound } from './aws-call.js';

export interface ArtifactFile {
  /** Absolute path on disk. */
  file: string;
  /** Path relative to the project root (for the record). */
  relative: string;
  key: string;
}

export interface UploadedObject {
  bucket: string;
  key: string;
  /** Version id now current (absent in an unversioned bucket). */
  versionId?: string;
  /** Version id that was current before (absent: the key did not exist, or no versioning). */
  previousVersionId?: string;
  /** The key existed before this upload. */
  existed: boolean;
  sha256: string;
  bytes: number;
  /** False when identical content was already there (a no-op). */
  uploaded: boolean;
  multipart: boolean;
  source: string;
}

export interface UploadOptions {
  multipartThresholdBytes: number;
  partSizeBytes: number;
  contentType?: string;
  concurrency?: number;
  signal?: AbortSignal;
  progress?: (done: number, total: number, message: string) => Promise<void>;
}

export const DEFAULT_PART_SIZE = 8 * 1024 * 1024;
/** S3's minimum part size (all but the last part). */
export const MIN_PART_SIZE = 5 * 1024 * 1024;
const MAX_PARTS = 10_000;

/**
 * The files behind `paths` (relative to `root`), with their keys under `prefix`. A file keeps its
 * name; a directory contributes its contents, by relative path. Nothing outside `root` is read.
 */
export function collectArtifacts(root: string, paths: readonly string[], prefix: string): ArtifactFile[] {
  const realRoot = fs.realpathSync(root);
  const cleanPrefix = prefix.replace(/^\/+/, '');
  const keyFor = (rel: string) => (cleanPrefix === '' ? rel : cleanPrefix.endsWith('/') ? `${cleanPrefix}${rel}` : `${cleanPrefix}/${rel}`);
  const out: ArtifactFile[] = [];
  const seen = new Map<string, string>();
  const add = (file: string, rel: string) => {
    const key = keyFor(rel.split(path.sep).join('/'));
    const other = seen.get(key);
    if (other) throw new ToolError('duplicate-key', `${path.relative(realRoot, file)} and ${other} would both be uploaded as ${key}.`, 'Upload them under different prefixes (two calls) or rename one.');
    seen.set(key, path.relative(realRoot, file));
    out.push({ file, relative: path.relative(realRoot, file), key });
  };
  for (const p of paths) {
    const abs = path.resolve(realRoot, p);
    let real: string;
    try {
      real = fs.realpathSync(abs);
    } catch {
      throw new ToolError('path-not-found', `${p} does not exist (looked in ${realRoot}).`, 'Build the artifacts first, or fix the path (relative to the project root).');
    }
    if (real !== realRoot && !real.startsWith(realRoot + path.sep)) {
      throw new ToolError('path-outside-project', `${p} resolves to ${real}, outside the project root ${realRoot}.`, 'Upload files from inside the project only.');
    }
    const stat = fs.statSync(real);
    if (stat.isFile()) add(real, path.basename(real));
    else if (stat.isDirectory()) {
      const walk = (dir: string) => {
        for (const name of fs.readdirSync(dir).sort()) {
          const full = path.join(dir, name);
          const s = fs.statSync(full);
          const realFull = fs.realpathSync(full);
          if (realFull !== realRoot && !realFull.startsWith(realRoot + path.sep)) {
            throw new ToolError('path-outside-project', `${path.relative(realRoot, full)} links outside the project root.`, 'Remove the link or upload its target from inside the project.');
          }
          if (s.isDirectory()) walk(full);
          else if (s.isFile()) add(full, path.relative(real, full));
        }
      };
      walk(real);
    } else {
      throw new ToolError('not-a-file', `${p} is neither a file nor a directory.`, 'Give files or directories.');
    }
  }
  if (out.length === 0) throw new ToolError('nothing-to-upload', `No files under ${paths.join(', ')}.`, 'Build the artifacts first.');
  return out;
}

export async function sha256File(file: string): Promise<{ hex: string; base64: string; bytes: number }> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of fs.createReadStream(file)) {
    hash.update(chunk as Buffer);
    bytes += (chunk as Buffer).length;
  }
  const digest = hash.digest();
  return { hex: digest.toString('hex'), base64: digest.toString('base64'), bytes };
}

export async function bucketVersioning(clients: AwsClients, bucket: string, signal?: AbortSignal): Promise<'Enabled' | 'Suspended' | 'Disabled'> {
  const { GetBucketVersioningCommand } = await import('@aws-sdk/client-s3');
  const s3 = await clients.s3();
  const out = await awsCall(clients, 's3:GetBucketVersioning', `arn:aws:s3:::${bucket}`, () => s3.send(new GetBucketVersioningCommand({ Bucket: bucket }), { abortSignal: signal }));
  return (out.Status as 'Enabled' | 'Suspended' | undefined) ?? 'Disabled';
}

export async function uploadArtifacts(clients: AwsClients, bucket: string, files: ArtifactFile[], opts: UploadOptions): Promise<UploadedObject[]> {
  const { HeadObjectCommand, PutObjectCommand, CreateMultipartUploadCommand, UploadPartCommand, CompleteMultipartUploadCommand, AbortMultipartUploadCommand } = await import(
    '@aws-sdk/client-s3'
  );
  const s3 = await clients.s3();
  const signal = opts.signal;
  let done = 0;
  return mapWithConcurrency(files, opts.concurrency ?? 4, async (f) => {
    const resource = `arn:aws:s3:::${bucket}/${f.key}`;
    const digest = await sha256File(f.file);
    let head: { VersionId?: string; Metadata?: Record<string, string>; ContentLength?: number } | null = null;
    try {
      head = await awsCall(clients, 's3:GetObject', resource, () => s3.send(new HeadObjectCommand({ Bucket: bucket, Key: f.key }), { abortSignal: signal }));
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    const base = { bucket, key: f.key, sha256: digest.hex, bytes: digest.bytes, source: f.relative, existed: head !== null };
    if (head && head.Metadata?.sha256 === digest.hex && head.ContentLength === digest.bytes) {
      await opts.progress?.(++done, files.length, `${f.key} unchanged`);
      return { ...base, uploaded: false, multipart: false, ...(head.VersionId && head.VersionId !== 'null' ? { versionId: head.VersionId } : {}) };
    }
    const previous = head?.VersionId && head.VersionId !== 'null' ? { previousVersionId: head.VersionId } : {};
    const common = { Bucket: bucket, Key: f.key, Metadata: { sha256: digest.hex }, ...(opts.contentType ? { ContentType: opts.contentType } : contentTypeFor(f.key)) };
    let versionId: string | undefined;
    let multipart = false;
    if (digest.bytes < opts.multipartThresholdBytes) {
      const body = fs.readFileSync(f.file);
      const out = await awsCall(clients, 's3:PutObject', resource, () =>
        s3.send(new PutObjectCommand({ ...common, Body: body, ChecksumSHA256: digest.base64 }), { abortSignal: signal }),
      );
      versionId = out.VersionId;
    } else {
      multipart = true;
      const partSize = Math.max(opts.partSizeBytes, MIN_PART_SIZE, Math.ceil(digest.bytes / MAX_PARTS));
      const created = await awsCall(clients, 's3:PutObject', resource, () => s3.send(new CreateMultipartUploadCommand(common), { abortSignal: signal }));
      const uploadId = created.UploadId!;
      try {
        const parts: { ETag: string; PartNumber: number }[] = [];
        const partMd5s: Buffer[] = [];
        const handle = fs.openSync(f.file, 'r');
        try {
          for (let offset = 0, n = 1; offset < digest.bytes; offset += partSize, n++) {
            const length = Math.min(partSize, digest.bytes - offset);
            const chunk = Buffer.alloc(length);
            fs.readSync(handle, chunk, 0, length, offset);
            partMd5s.push(createHash('md5').update(chunk).digest());
            const out = await awsCall(clients, 's3:PutObject', resource, () =>
              s3.send(new UploadPartCommand({ Bucket: bucket, Key: f.key, UploadId: uploadId, PartNumber: n, Body: chunk }), { abortSignal: signal }),
            );
            parts.push({ ETag: out.ETag!, PartNumber: n });
          }
        } finally {
          fs.closeSync(handle);
        }
        const out = await awsCall(clients, 's3:PutObject', resource, () =>
          s3.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: f.key, UploadId: uploadId, MultipartUpload: { Parts: parts } }), { abortSignal: signal }),
        );
        // The multipart ETag is the MD5 of the parts' MD5s: proves every byte arrived (unless KMS re-keys it).
        const expected = `"${createHash('md5').update(Buffer.concat(partMd5s)).digest('hex')}-${parts.length}"`;
        if (out.ETag && /^"[0-9a-f]{32}-\d+"$/.test(out.ETag) && out.ETag !== expected) {
          throw new ToolError('upload-corrupted', `s3://${bucket}/${f.key} arrived with ETag ${out.ETag}, expected ${expected}: the upload was corrupted.`, 'Upload again.');
        }
        versionId = out.VersionId;
      } catch (err) {
        await s3.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: f.key, UploadId: uploadId })).catch(() => undefined);
        throw err;
      }
    }
    await opts.progress?.(++done, files.length, `${f.key} uploaded`);
    return { ...base, ...previous, uploaded: true, multipart, ...(versionId && versionId !== 'null' ? { versionId } : {}) };
  });
}

const CONTENT_TYPES: Record<string, string> = {
  '.json': 'application/json',
  '.js': 'text/javascript',
  '.mjs': 'text/javascript',
  '.py': 'text/x-python',
  '.sh': 'text/x-shellscript',
  '.txt': 'text/plain',
  '.md': 'text/markdown',
  '.csv': 'text/csv',
  '.html': 'text/html',
  '.css': 'text/css',
  '.yaml': 'application/yaml',
  '.yml': 'application/yaml',
  '.zip': 'application/zip',
  '.gz': 'application/gzip',
  '.parquet': 'application/vnd.apache.parquet',
};

function contentTypeFor(key: string): { ContentType?: string } {
  const type = CONTENT_TYPES[path.extname(key).toLowerCase()];
  return type ? { ContentType: type } : {};
}
