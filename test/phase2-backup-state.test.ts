/**
 * backup-state against moto: a Lambda function with published versions and a weighted alias, a
 * versioned bucket with objects under the configured prefix, an unversioned bucket, a log group,
 * an absent resource and an unsupported type; the snapshot content a rollback will consume, the
 * manifest's sha256s, partial runs, and an AccessDenied naming the IAM action (fault proxy).
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { backupFileName, safeName } from '../tools/backup-state.js';
import {
  createAlias,
  createBucket,
  createFunction,
  createLogGroup,
  createRole,
  fixtureClients,
  makeZip,
  motoEndpoint,
  publishVersion,
  uniqueName,
  updateFunctionCode,
} from './helpers/aws-fixtures.js';
import { startFaultProxy, type FaultProxy } from './helpers/fault-proxy.js';
import { BASE_CONFIG, forcePhase, readEvents, startHarness, tempProject, type Harness } from './helpers/mcp.js';

const ENV_SECRET = 'hunter2-env-value-must-not-appear';
const id = uniqueName('bk');
const fn = `${id}-fn-staging`;
const artifacts = `${id}-artifacts-staging`;
const plain = `${id}-plain-staging`;
const logGroup = `/aws/lambda/${fn}`;
const absentFn = `${id}-gone-staging`;

const CONFIG = {
  ...BASE_CONFIG,
  resources: [
    { type: 'lambda-function', name: `${id}-fn-\${environment}` },
    { type: 'lambda-alias', name: `${id}-fn-\${environment}:live` },
    { type: 's3-bucket', name: plain },
    { type: 'log-group', name: `/aws/lambda/${id}-fn-\${environment}` },
    { type: 'lambda-function', name: absentFn },
    { type: 'iam-role', name: `${id}-role` },
  ],
  components: [{ name: 'site', kind: 's3-artifacts', bucket: `${id}-artifacts-\${environment}`, prefix: 'app/' }],
};

const versions: Record<string, string> = {};
let codeSha: Record<string, string> = {};

beforeAll(async () => {
  const roleArn = await createRole(`${id}-role`);
  await createFunction({ name: fn, roleArn, environment: { DB_PASSWORD: ENV_SECRET, LOG_LEVEL: 'info' } });
  const v1 = await publishVersion(fn, { description: 'first' });
  await updateFunctionCode(fn, makeZip({ 'index.py': 'def handler(e, c):\n    return 2\n' }));
  const v2 = await publishVersion(fn, { description: 'second' });
  expect([v1, v2]).toEqual(['1', '2']);
  await createAlias({ functionName: fn, name: 'live', functionVersion: '1', routingWeights: { '2': 0.1 } });
  const { lambda, s3 } = fixtureClients();
  const { ListVersionsByFunctionCommand } = await import('@aws-sdk/client-lambda');
  const listed = await lambda.send(new ListVersionsByFunctionCommand({ FunctionName: fn }));
  codeSha = Object.fromEntries((listed.Versions ?? []).map((v) => [v.Version!, v.CodeSha256!]));

  await createBucket({ name: artifacts, versioning: 'Enabled', tags: { team: 'web' }, lifecycleRules: 1 });
  const put = async (bucket: string, key: string, body: string) => (await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }))).VersionId!;
  await put(artifacts, 'app/index.html', '<h1>v1</h1>');
  versions['app/index.html'] = await put(artifacts, 'app/index.html', '<h1>v2</h1>');
  versions['app/main.js'] = await put(artifacts, 'app/main.js', 'console.log(1)');
  await put(artifacts, 'other/outside.txt', 'not under the prefix');

  await createBucket({ name: plain });
  await put(plain, 'a.txt', 'aaa');
  await put(plain, 'b/c.txt', 'bc');

  await createLogGroup({ name: logGroup, retentionInDays: 14, tags: { team: 'web' } });
});

const open: Harness[] = [];
afterEach(async () => {
  while (open.length) await open.pop()!.close();
});

/** A task in phase 2; closed after the test unless `keep` (then the caller closes it). */
async function phase2(opts: { config?: unknown; awsEndpoint?: string; keep?: boolean } = {}): Promise<{ h: Harness; taskId: number }> {
  const h = await startHarness({ root: tempProject(opts.config ?? CONFIG), awsEndpoint: opts.awsEndpoint, awsMaxAttempts: 1 });
  if (!opts.keep) open.push(h);
  const r = await h.call('start-deployment', { title: 'Backups', environment: 'staging', component: 'api' });
  const taskId = r.structuredContent.taskId as number;
  await forcePhase(h.srv, taskId, 2);
  return { h, taskId };
}

const taskDir = (h: Harness, taskId: number) => path.join(h.root, '.deploy-mcp', 'tasks', String(taskId));
const readJson = (file: string) => JSON.parse(fs.readFileSync(file, 'utf8'));

describe('backup-state', () => {
  let h: Harness;
  let taskId: number;
  let out: any;
  let dir: string;

  beforeAll(async () => {
    ({ h, taskId } = await phase2({ keep: true }));
    const r = await h.call('backup-state', {});
    expect(r.isError, JSON.stringify(r.structuredContent)).toBeFalsy();
    out = r.structuredContent;
    dir = taskDir(h, taskId);
  });
  afterAll(async () => h?.close());

  it('backs up what exists and skips what does not, with reasons', () => {
    expect(out.backups.map((b: any) => [b.type, b.name, b.versionId])).toEqual([
      ['lambda-alias', `${fn}:live`, '1'],
      ['lambda-function', fn, '2'],
      ['log-group', logGroup, undefined],
      ['s3-bucket', artifacts, undefined],
      ['s3-bucket', plain, undefined],
    ]);
    expect(out.skipped).toEqual([
      { type: 'iam-role', name: `${id}-role`, reason: expect.stringContaining('not snapshotted') },
      { type: 'lambda-function', name: absentFn, reason: `Lambda function ${absentFn} does not exist` },
    ]);
    for (const b of out.backups) expect(b.path).toBe(path.join(dir, backupFileName(b.type, b.name)));
    expect(out.manifestPath).toBe(path.join(dir, 'backups', 'manifest.json'));
  });

  it('records the Lambda function: configuration, every published version, alias targets and weights', () => {
    const snap = readJson(path.join(dir, backupFileName('lambda-function', fn)));
    expect(snap).toMatchObject({ format: 'deploy-mcp.backup/1', type: 'lambda-function', name: fn, region: 'us-east-1', account: '123456789012' });
    expect(snap.function).toMatchObject({ functionName: fn, runtime: 'python3.12', handler: 'index.handler', environmentVariableNames: ['DB_PASSWORD', 'LOG_LEVEL'] });
    expect(snap.versions.map((v: any) => [v.version, v.codeSha256])).toEqual([
      ['1', codeSha['1']],
      ['2', codeSha['2']],
    ]);
    expect(codeSha['1']).not.toBe(codeSha['2']);
    expect(snap.latestPublishedVersion).toBe('2');
    expect(snap.aliases).toEqual([expect.objectContaining({ name: 'live', functionVersion: '1', routingWeights: { '2': 0.1 } })]);
    expect(snap.restore).toEqual({ functionName: fn, aliases: { live: { functionVersion: '1', routingWeights: { '2': 0.1 } } } });
  });

  it('records the alias target and its code', () => {
    const snap = readJson(path.join(dir, backupFileName('lambda-alias', `${fn}:live`)));
    expect(snap.restore).toEqual({ functionName: fn, alias: 'live', functionVersion: '1', routingWeights: { '2': 0.1 } });
    expect(snap.targetCodeSha256).toBe(codeSha['1']);
  });

  it('records the current version id, ETag and size of each object under the configured prefix', () => {
    const snap = readJson(path.join(dir, backupFileName('s3-bucket', artifacts)));
    expect(snap.configuration).toMatchObject({ versioning: 'Enabled', tags: { team: 'web' }, policy: null, encryption: [] });
    expect(snap.configuration.lifecycleRules).toHaveLength(1);
    expect(snap.objects).toMatchObject({ captured: true, prefixes: ['app/'], versioned: true, restorable: true, count: 2, truncated: false });
    expect(snap.objects.items.map((o: any) => [o.key, o.versionId, o.size])).toEqual([
      ['app/index.html', versions['app/index.html'], '<h1>v2</h1>'.length],
      ['app/main.js', versions['app/main.js'], 'console.log(1)'.length],
    ]);
    expect(snap.objects.items[0].etag).toBe(`"${createHash('md5').update('<h1>v2</h1>').digest('hex')}"`);
  });

  it('captures a small unversioned bucket whole and says it cannot be restored by version', () => {
    const snap = readJson(path.join(dir, backupFileName('s3-bucket', plain)));
    expect(snap.configuration.versioning).toBe('Disabled');
    expect(snap.objects).toMatchObject({ captured: true, prefixes: [''], versioned: false, restorable: false, count: 2 });
    expect(snap.objects.reason).toContain('versioning is not enabled');
    expect(snap.objects.items.map((o: any) => [o.key, o.versionId])).toEqual([
      ['a.txt', 'null'],
      ['b/c.txt', 'null'],
    ]);
  });

  it('records the log group settings', () => {
    const snap = readJson(path.join(dir, backupFileName('log-group', logGroup)));
    expect(snap.logGroup).toMatchObject({ name: logGroup, retentionInDays: 14 });
    expect(path.basename(backupFileName('log-group', logGroup))).toBe(`log-group-${safeName(logGroup)}.json`);
    expect(safeName(logGroup)).toMatch(/^_aws_lambda_bk-[0-9a-f]{8}-fn-staging-[0-9a-f]{8}$/);
  });

  it('writes a manifest whose sha256s match the files on disk', () => {
    const manifest = readJson(out.manifestPath);
    expect(manifest).toMatchObject({ format: 'deploy-mcp.backup/1', taskId, environment: 'staging', account: '123456789012', region: 'us-east-1', failed: [] });
    expect(manifest.files).toHaveLength(5);
    for (const f of manifest.files) {
      const content = fs.readFileSync(path.join(dir, f.path));
      expect(f.sha256).toBe(createHash('sha256').update(content).digest('hex'));
      expect(f.bytes).toBe(content.length);
    }
    expect(manifest.skipped.map((s: any) => s.name).sort()).toEqual([`${id}-role`, absentFn].sort());
  });

  it('never writes a Lambda environment variable value', () => {
    for (const file of fs.readdirSync(path.join(dir, 'backups'))) {
      expect(fs.readFileSync(path.join(dir, 'backups', file), 'utf8')).not.toContain(ENV_SECRET);
    }
    expect(fs.readFileSync(path.join(dir, 'events.jsonl'), 'utf8')).not.toContain(ENV_SECRET);
  });

  it('meets the backup criterion', async () => {
    const status = await h.call('deployment-status', {});
    expect(status.structuredContent.criteria.find((c: any) => c.id === 'backup-taken')).toMatchObject({ met: true });
  });

  it('a partial run refreshes the named resources and keeps the other snapshots in the manifest', async () => {
    const r = await h.call('backup-state', { resources: [`${id}-fn-\${environment}`] });
    expect(r.structuredContent.backups.map((b: any) => b.name)).toEqual([fn]);
    const manifest = readJson(r.structuredContent.manifestPath);
    expect(manifest.files.map((f: any) => f.name).sort()).toEqual([fn, `${fn}:live`, logGroup, artifacts, plain].sort());
    const unknown = await h.call('backup-state', { resources: ['not-configured'] });
    expect(unknown.structuredContent).toMatchObject({ error: 'unknown-resource' });
  });
});

describe('backup-state failures', () => {
  let proxy: FaultProxy;
  beforeAll(async () => {
    proxy = await startFaultProxy(motoEndpoint());
  });
  afterAll(async () => proxy?.close());

  it('fails with the IAM action to grant when a read rollback needs is denied', async () => {
    proxy.clearRules();
    proxy.addRule({ match: (r) => r.service === 'lambda' && r.method === 'GET' && /\/functions\/[^/]+\/versions$/.test(r.path), fault: { kind: 'access-denied' } });
    const { h, taskId } = await phase2({ config: { ...BASE_CONFIG, resources: [{ type: 'lambda-function', name: fn }, { type: 'log-group', name: logGroup }] }, awsEndpoint: proxy.url });
    const r = await h.call('backup-state', {});
    expect(r.isError).toBe(true);
    expect(r.structuredContent).toMatchObject({ error: 'backup-incomplete' });
    expect(r.structuredContent.message).toContain('lambda:ListVersionsByFunction');
    expect(r.structuredContent.nextStep).toContain('lambda:ListVersionsByFunction');
    // What could be read was still written, and the failure is in the manifest and the log.
    const manifest = readJson(path.join(taskDir(h, taskId), 'backups', 'manifest.json'));
    expect(manifest.files.map((f: any) => f.type)).toEqual(['log-group']);
    expect(manifest.failed).toEqual([expect.objectContaining({ type: 'lambda-function', name: fn, action: 'lambda:ListVersionsByFunction', code: 'AccessDeniedException' })]);
    expect(readEvents(h.root, taskId).at(-1)).toMatchObject({ type: 'tool.failed', data: { tool: 'backup-state', error: { error: 'backup-incomplete' } } });
  });

  it('notes an optional setting it could not read without failing the backup', async () => {
    proxy.clearRules();
    proxy.addRule({ match: (r) => r.service === 's3' && r.method === 'GET' && r.query.has('policy'), fault: { kind: 'access-denied' } });
    const { h } = await phase2({ config: { ...BASE_CONFIG, resources: [{ type: 's3-bucket', name: plain }] }, awsEndpoint: proxy.url });
    const r = await h.call('backup-state', {});
    expect(r.isError, JSON.stringify(r.structuredContent)).toBeFalsy();
    expect(r.structuredContent.warnings.join(' ')).toContain('policy not recorded');
    const snap = readJson(r.structuredContent.backups[0].path);
    expect(snap.unreadable).toEqual([expect.objectContaining({ field: 'policy', action: 's3:GetBucketPolicy' })]);
    expect(snap.configuration.policy).toBeNull();
  });

  it('refuses to pretend when nothing is configured', async () => {
    const { h } = await phase2({ config: BASE_CONFIG });
    const r = await h.call('backup-state', {});
    expect(r.structuredContent).toMatchObject({ error: 'nothing-to-back-up' });
    expect(r.structuredContent.nextStep).toContain('greenfield');
  });

  it('records an absent-only configuration as skipped, which still counts as a backup', async () => {
    const { h } = await phase2({ config: { ...BASE_CONFIG, resources: [{ type: 's3-bucket', name: `${id}-never-created` }] } });
    const r = await h.call('backup-state', {});
    expect(r.structuredContent).toMatchObject({ backups: [], skipped: [{ type: 's3-bucket', name: `${id}-never-created`, reason: `S3 bucket ${id}-never-created does not exist` }] });
  });
});
