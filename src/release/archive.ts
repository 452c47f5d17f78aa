/**
 * Archiving a task (archive-artifacts): its files and a config snapshot copied to a local folder
 * or an S3 prefix with a manifest of sha256 hashes, and every copy read back and hashed again.
 */
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { AwsClients } from '../aws/clients.js';

export interface ArchiveFile {
  /** Relative name inside the archive, `/`-separated. */
  name: string;
  content: Buffer;
}

export interface ArchivedEntry {
  name: string;
  location: string;
  bytes: number;
  sha256: string;
  verified: boolean;
  versionId?: string;
}

export type Destination = { kind: 'local'; dir: string } | { kind: 's3'; bucket: string; prefix: string };

export const sha256 = (data: Buffer | string): string => createHash('sha256').update(data).digest('hex');

export function parseDestination(text: string, root: string): Destination {
  const s3 = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:\/(.*))?$/.exec(text.trim());
  if (s3) return { kind: 's3', bucket: s3[1], prefix: (s3[2] ?? '').replace(/^\/+|\/+$/g, '') };
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) throw new Error(`"${text}" is neither a local path nor an s3://bucket/prefix URL.`);
  return { kind: 'local', dir: path.resolve(root, text) };
}

/** Files under `dir`, recursively, as archive names; lock and temporary files are skipped. */
export function collectDirectory(dir: string, skip: (name: string) => boolean = () => false): ArchiveFile[] {
  const files: ArchiveFile[] = [];
  const walk = (current: string, prefix: string) => {
    for (const entry of fs.readdirSync(current, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const name = prefix ? `${prefix}/${entry.name}` : entry.name;
      if (entry.name.endsWith('.lock') || entry.name.includes('.tmp-') || skip(name)) continue;
      const full = path.join(current, entry.name);
      if (entry.isDirectory()) walk(full, name);
      else if (entry.isFile()) files.push({ name, content: fs.readFileSync(full) });
    }
  };
  walk(dir, '');
  return files;
}

export interface ManifestMeta {
  taskId: number;
  title: string;
  environment: string;
  component: string;
  status: string;
  phase: number;
  createdAt: string;
  archivedAt: string;
  eventCount: number;
  headHash: string | null;
}

export function buildManifest(meta: ManifestMeta, files: readonly ArchiveFile[]): { json: ArchiveFile; sums: ArchiveFile } {
  const entries = files.map((f) => ({ name: f.name, bytes: f.content.length, sha256: sha256(f.content) }));
  const json = { format: 'deploy-mcp-archive/1', ...meta, files: entries };
  return {
    json: { name: 'manifest.json', content: Buffer.from(`${JSON.stringify(json, null, 2)}\n`) },
    // `sha256sum -c SHA256SUMS` checks the copy with standard tools.
    sums: { name: 'SHA256SUMS', content: Buffer.from(entries.map((e) => `${e.sha256}  ${e.name}\n`).join('')) },
  };
}

export async function archiveLocal(dir: string, files: readonly ArchiveFile[]): Promise<ArchivedEntry[]> {
  const entries: ArchivedEntry[] = [];
  for (const f of files) {
    const target = path.join(dir, ...f.name.split('/'));
    if (!target.startsWith(dir + path.sep)) throw new Error(`Refusing archive name ${f.name}`);
    fs.mkdirSync(path.dirname(target), { recursive: true });
    const tmp = `${target}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
    const fd = fs.openSync(tmp, 'w');
    try {
      fs.writeSync(fd, f.content);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, target);
    const expected = sha256(f.content);
    const copied = sha256(fs.readFileSync(target));
    entries.push({ name: f.name, location: target, bytes: f.content.length, sha256: copied, verified: copied === expected });
  }
  return entries;
}

const CONTENT_TYPES: Record<string, string> = { '.md': 'text/markdown; charset=utf-8', '.json': 'application/json', '.jsonl': 'application/x-ndjson' };

export async function archiveS3(clients: AwsClients, bucket: string, prefix: string, files: readonly ArchiveFile[]): Promise<ArchivedEntry[]> {
  const s3sdk = await import('@aws-sdk/client-s3');
  const s3 = await clients.s3();
  const entries: ArchivedEntry[] = [];
  for (const f of files) {
    const key = prefix ? `${prefix}/${f.name}` : f.name;
    const location = `s3://${bucket}/${key}`;
    let versionId: string | undefined;
    try {
      const put = await s3.send(
        new s3sdk.PutObjectCommand({
          Bucket: bucket,
          Key: key,
          Body: f.content,
          ContentType: CONTENT_TYPES[path.extname(f.name)] ?? 'application/octet-stream',
          Metadata: { sha256: sha256(f.content) },
        }),
      );
      versionId = put.VersionId;
    } catch (err) {
      throw clients.error(err, { action: 's3:PutObject', resource: `arn:aws:s3:::${bucket}/${key}` });
    }
    let copied: string;
    try {
      const got = await s3.send(new s3sdk.GetObjectCommand({ Bucket: bucket, Key: key, ...(versionId ? { VersionId: versionId } : {}) }));
      copied = sha256(Buffer.from(await got.Body!.transformToByteArray()));
    } catch (err) {
      // The SDK checks S3's own checksum of the body: a mismatch is a failed verification, not an access problem.
      if (/checksum mismatch/i.test(String((err as Error)?.message))) copied = 'checksum-mismatch';
      else throw clients.error(err, { action: 's3:GetObject', resource: `arn:aws:s3:::${bucket}/${key}` });
    }
    entries.push({ name: f.name, location, bytes: f.content.length, sha256: copied, verified: copied === sha256(f.content), ...(versionId ? { versionId } : {}) });
  }
  return entries;
}
