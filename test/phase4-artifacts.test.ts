/**
 * upload-artifacts against moto: content SHA-256, version ids recorded (and the version each
 * upload replaced), identical re-upload as a no-op, multipart for large files, nothing read from
 * outside the project.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import * as s3sdk from '@aws-sdk/client-s3';
import { afterEach, describe, expect, it } from 'vitest';
import { createBucket, uniqueName } from './helpers/aws-fixtures.js';
import { readEvents, type Harness } from './helpers/mcp.js';
import { objectText, s3Client, taskIn, versionedObject, writeTree, textOf } from './helpers/deploy-fixtures.js';

const harnesses: Harness[] = [];
afterEach(async () => {
  while (harnesses.length) await harnesses.pop()!.close();
});

async function task(components = ['scripts']) {
  const t = await taskIn({ region: 'us-east-1', components });
  harnesses.push(t.h);
  return t;
}

const sha = (b: string | Buffer) => createHash('sha256').update(b).digest('hex');

async function versionCount(bucket: string, prefix = ''): Promise<number> {
  const out = await s3Client().send(new s3sdk.ListObjectVersionsCommand({ Bucket: bucket, Prefix: prefix }));
  return (out.Versions ?? []).length;
}

describe('upload-artifacts', () => {
  it('uploads with sha256, records version ids and the versions replaced; an identical re-upload is a no-op', async () => {
    const bucket = uniqueName('artifacts');
    const before = await versionedObject(bucket, 'pipeline/transform.py', 'print("v1")\n');
    const { h, taskId } = await task();
    writeTree(h.root, 'dist/pipeline', { 'transform.py': 'print("v2")\n', 'sql/load.sql': 'select 1;\n' });
    writeTree(h.root, 'dist', { 'manifest.json': '{"release": 2}\n' });

    const r = await h.call('upload-artifacts', { bucket, prefix: 'pipeline/', paths: ['dist/pipeline', 'dist/manifest.json'], component: 'scripts' });
    expect(r.isError, JSON.stringify(r.structuredContent)).toBeFalsy();
    const o = r.structuredContent;
    expect(o).toMatchObject({ bucket, versioning: 'Enabled', uploadedCount: 3, unchangedCount: 0, noop: false });
    const byKey = Object.fromEntries(o.objects.map((x: any) => [x.key, x]));
    expect(Object.keys(byKey).sort()).toEqual(['pipeline/manifest.json', 'pipeline/sql/load.sql', 'pipeline/transform.py']);
    expect(byKey['pipeline/transform.py']).toMatchObject({ existed: true, previousVersionId: before, uploaded: true, sha256: sha('print("v2")\n'), bytes: 12 });
    expect(byKey['pipeline/sql/load.sql']).toMatchObject({ existed: false, uploaded: true });
    expect(byKey['pipeline/sql/load.sql'].previousVersionId).toBeUndefined();

    // What is in S3 is what was reported.
    const now = await objectText(bucket, 'pipeline/transform.py');
    expect(now).toEqual({ text: 'print("v2")\n', versionId: byKey['pipeline/transform.py'].versionId });
    const head = await s3Client().send(new s3sdk.HeadObjectCommand({ Bucket: bucket, Key: 'pipeline/manifest.json' }));
    expect(head.Metadata?.sha256).toBe(sha('{"release": 2}\n'));
    expect(head.ContentType).toBe('application/json');

    // Again, unchanged: nothing uploaded, no new versions.
    const versions = await versionCount(bucket);
    const again = await h.call('upload-artifacts', { bucket, prefix: 'pipeline/', paths: ['dist/pipeline', 'dist/manifest.json'], component: 'scripts' });
    expect(again.structuredContent).toMatchObject({ noop: true, uploadedCount: 0, unchangedCount: 3 });
    expect(textOf(again)).toContain('no-op');
    expect(await versionCount(bucket)).toBe(versions);

    // One file changes: only it goes up, replacing the version uploaded above.
    fs.writeFileSync(path.join(h.root, 'dist/pipeline/transform.py'), 'print("v3")\n');
    const third = await h.call('upload-artifacts', { bucket, prefix: 'pipeline/', paths: ['dist/pipeline', 'dist/manifest.json'], component: 'scripts' });
    expect(third.structuredContent).toMatchObject({ uploadedCount: 1, unchangedCount: 2 });
    expect(third.structuredContent.objects.find((x: any) => x.uploaded)).toMatchObject({ key: 'pipeline/transform.py', previousVersionId: byKey['pipeline/transform.py'].versionId });

    // The component counts for the phase-4 criterion.
    const status = await h.call('deployment-status');
    expect(status.structuredContent.criteria.find((c: any) => c.id === 'components-deployed')).toMatchObject({ met: true });
    expect(readEvents(h.root, taskId).filter((e) => e.type === 'tool.succeeded' && e.data.tool === 'upload-artifacts')).toHaveLength(3);
  });

  it('uploads large files in parts and verifies them', async () => {
    const bucket = uniqueName('big-artifacts');
    await createBucket({ name: bucket, versioning: 'Enabled' });
    const { h } = await task();
    const big = Buffer.alloc(11 * 1024 * 1024 + 123);
    for (let i = 0; i < big.length; i += 4096) big.writeUInt32LE((i * 2654435761) >>> 0, i);
    writeTree(h.root, 'dist', { 'model.bin': big });
    const r = await h.call('upload-artifacts', { bucket, prefix: 'models', paths: ['dist/model.bin'], component: 'scripts', multipartThresholdMb: 5 });
    expect(r.isError, JSON.stringify(r.structuredContent)).toBeFalsy();
    expect(r.structuredContent.objects[0]).toMatchObject({ key: 'models/model.bin', multipart: true, bytes: big.length, sha256: sha(big) });
    const got = await s3Client().send(new s3sdk.GetObjectCommand({ Bucket: bucket, Key: 'models/model.bin' }));
    expect(sha(Buffer.from(await got.Body!.transformToByteArray()))).toBe(sha(big));
    const again = await h.call('upload-artifacts', { bucket, prefix: 'models', paths: ['dist/model.bin'], component: 'scripts', multipartThresholdMb: 5 });
    expect(again.structuredContent.noop).toBe(true);
  });

  it('warns when the bucket is not versioned, and never reads outside the project', async () => {
    const bucket = uniqueName('plain-artifacts');
    await createBucket({ name: bucket });
    const { h } = await task();
    writeTree(h.root, 'dist', { 'a.txt': 'a\n' });
    const r = await h.call('upload-artifacts', { bucket, prefix: '', paths: ['dist/a.txt'] });
    expect(r.structuredContent.versioning).toBe('Disabled');
    expect(r.structuredContent.objects[0].versionId).toBeUndefined();
    expect(r.structuredContent.warnings.join(' ')).toMatch(/Versioning is Disabled .* cannot be rolled back/);
    expect(r.structuredContent.warnings.join(' ')).toContain('No component given');

    const outside = await h.call('upload-artifacts', { bucket, prefix: '', paths: ['../'] });
    expect(outside.structuredContent).toMatchObject({ error: 'path-outside-project' });
    fs.symlinkSync('/etc', path.join(h.root, 'dist', 'etc-link'));
    const viaLink = await h.call('upload-artifacts', { bucket, prefix: '', paths: ['dist'] });
    expect(viaLink.structuredContent).toMatchObject({ error: 'path-outside-project' });
    const missing = await h.call('upload-artifacts', { bucket, prefix: '', paths: ['dist/nope.txt'] });
    expect(missing.structuredContent).toMatchObject({ error: 'path-not-found' });
    const list = await s3Client().send(new s3sdk.ListObjectsV2Command({ Bucket: bucket }));
    expect((list.Contents ?? []).map((c) => c.Key)).toEqual(['a.txt']);
  });
});
