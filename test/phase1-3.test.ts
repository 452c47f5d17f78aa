/**
 * Phases 1 and 3 through a real MCP client against moto: credentials and pinning, inventory,
 * the plan, verify-resource and verify-infrastructure, and the exit criteria they satisfy.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BASE_CONFIG, forcePhase, readEvents, startHarness, type Harness } from './helpers/mcp.js';
import { createBucket, createFunction, createLogGroup, createRole, motoEndpoint, uniqueName } from './helpers/aws-fixtures.js';
import { startFaultProxy, type FaultProxy } from './helpers/fault-proxy.js';

const harnesses: Harness[] = [];
afterEach(async () => {
  while (harnesses.length) await harnesses.pop()!.close();
});

async function task(config: unknown = BASE_CONFIG, opts: Parameters<typeof startHarness>[0] = {}) {
  const h = await startHarness({ config, ...opts });
  harnesses.push(h);
  const r = await h.call('start-deployment', { title: 'Ingest release', environment: 'staging', component: 'ingest' });
  expect(r.isError, JSON.stringify(r.content)).toBeFalsy();
  return { h, taskId: r.structuredContent.taskId as number };
}

const PLAN = {
  components: ['ingest-fn'],
  order: ['ingest-fn'],
  infrastructureChanges: ['Create the ingest bucket with versioning and SSE'],
  rollbackStrategy: 'Point the live alias back at the previous version.',
  expectedDowntime: 'none (alias shift)',
};

describe('phase 1', () => {
  it('verify-credentials pins the task; list-resources and record-plan meet the exit criteria', async () => {
    const { h, taskId } = await task();
    const creds = await h.call('verify-credentials');
    expect(creds.structuredContent).toMatchObject({ account: '123456789012', region: 'us-east-1', matchesConfig: true, pinned: true });
    const listed = await h.call('list-resources', { types: ['s3-bucket', 'iam-role'] });
    expect(listed.isError, JSON.stringify(listed.content)).toBeFalsy();
    expect(listed.structuredContent.counts).toHaveProperty('s3-bucket');
    const plan = await h.call('record-plan', PLAN);
    expect(plan.structuredContent.planHash).toMatch(/^[0-9a-f]{64}$/);
    const status = await h.call('deployment-status');
    expect(status.structuredContent.criteria.map((c: any) => [c.id, c.met])).toEqual([
      ['plan-recorded', true],
      ['infrastructure-listed', true],
      ['credentials-verified', true],
    ]);
    expect(status.structuredContent.pinnedAccount).toEqual({ account: '123456789012', region: 'us-east-1' });
    const journal = await h.srv.deployments!.renderJournal(taskId);
    expect(journal).toContain('- **Rollback strategy**: Point the live alias back');
    expect(journal).toContain('**Pinned identity**: arn:aws:');
  });

  it('a plan whose order is not a permutation of its components is refused with the reason', async () => {
    const { h } = await task();
    const r = await h.call('record-plan', { ...PLAN, order: ['other'] });
    expect(r.structuredContent).toMatchObject({ error: 'invalid-plan' });
    expect(r.structuredContent.message).toContain('missing: ingest-fn');
  });

  it('credentials of another account are reported and not pinned', async () => {
    const { h } = await task({ ...BASE_CONFIG, environments: { staging: { accountId: '111111111111', region: 'us-east-1' } } });
    const creds = await h.call('verify-credentials');
    expect(creds.structuredContent).toMatchObject({ account: '123456789012', expectedAccount: '111111111111', matchesConfig: false, pinned: false });
    const status = await h.call('deployment-status');
    expect(status.structuredContent.criteria.find((c: any) => c.id === 'credentials-verified').met).toBe(false);
  });

  describe('account pinning', () => {
    let proxy: FaultProxy;
    beforeAll(async () => {
      proxy = await startFaultProxy(motoEndpoint());
    });
    afterAll(async () => proxy?.close());

    it('refuses AWS tools once the credentials resolve to another account, before any other AWS call', async () => {
      const { h, taskId } = await task(BASE_CONFIG, { awsEndpoint: proxy.url });
      expect((await h.call('verify-credentials')).structuredContent.pinned).toBe(true);
      // From now on STS says we are someone else (as after `aws sso login` into another account).
      proxy.addRule({
        match: (req) => req.service === 'sts',
        transform: (_req, res) => ({ ...res, body: Buffer.from(res.body.toString('utf8').replace(/123456789012/g, '999999999999')) }),
      });
      const before = proxy.requests.length;
      const r = await h.call('list-resources', { types: ['s3-bucket'] });
      expect(r.structuredContent).toMatchObject({ refused: true, reason: 'account-mismatch', tool: 'list-resources', taskId });
      expect(r.structuredContent.message).toContain('999999999999');
      const sent = proxy.requests.slice(before).map((q) => q.service);
      expect(sent).toEqual(['sts']);
      expect(readEvents(h.root, taskId).at(-1)).toMatchObject({ type: 'tool.refused', data: { reason: 'account-mismatch' } });
      proxy.clearRules();
      expect((await h.call('list-resources', { types: ['s3-bucket'] })).isError).toBeFalsy();
    });
  });
});

describe('phase 3', () => {
  it('verify-resource reports each mismatch as {field, expected, actual} and a missing resource as a discrepancy', async () => {
    const { h, taskId } = await task();
    await forcePhase(h.srv, taskId, 3);
    const bucket = uniqueName('ingest-staging');
    await createBucket({ name: bucket, versioning: 'Enabled', encryption: 'AES256', publicAccessBlock: true, tags: { team: 'data' } });
    const ok = await h.call('verify-resource', { type: 's3-bucket', name: bucket, expect: { versioning: 'Enabled', encryption: 'AES256', publicAccessBlock: true, tags: { team: 'data' } } });
    expect(ok.structuredContent).toMatchObject({ exists: true, verified: true, discrepancies: [] });
    const bad = await h.call('verify-resource', { type: 's3-bucket', name: bucket, expect: { versioning: 'Suspended', encryption: 'aws:kms' } });
    expect(bad.structuredContent.verified).toBe(false);
    expect(bad.structuredContent.discrepancies).toEqual([
      { field: 'versioning', expected: 'Suspended', actual: 'Enabled' },
      { field: 'encryption', expected: 'aws:kms', actual: 'AES256' },
    ]);
    const missing = await h.call('verify-resource', { type: 'lambda-function', name: uniqueName('nope') });
    expect(missing.isError).toBeFalsy();
    expect(missing.structuredContent).toMatchObject({ exists: false, verified: false, discrepancies: [{ field: 'exists', expected: true, actual: false }] });
    const typo = await h.call('verify-resource', { type: 's3-bucket', name: bucket, expect: { versionning: 'Enabled' } });
    expect(typo.structuredContent).toMatchObject({ error: 'invalid-expectation' });
  });

  it('verify-infrastructure verifies the config concurrently, reports progress, and meets the exit criterion only with zero discrepancies', async () => {
    const suffix = uniqueName('x').slice(-6);
    const bucket = `ingest-staging-${suffix}`;
    const role = `ingest-staging-role-${suffix}`;
    const fn = `ingest-staging-fn-${suffix}`;
    const logGroup = `/aws/lambda/ingest-staging-fn-${suffix}`;
    const config = {
      ...BASE_CONFIG,
      resources: [
        { type: 's3-bucket', name: `ingest-\${environment}-${suffix}`, expect: { versioning: 'Enabled', encryption: 'AES256' } },
        { type: 'iam-role', name: `ingest-\${environment}-role-${suffix}`, expect: { trustedService: 'lambda.amazonaws.com' } },
        { type: 'lambda-function', name: `ingest-\${environment}-fn-${suffix}`, expect: { runtime: 'python3.12', memorySize: 256, role: `ingest-\${environment}-role-${suffix}` } },
        { type: 'log-group', name: `/aws/lambda/ingest-\${environment}-fn-${suffix}`, expect: { retentionInDays: 30 } },
      ],
    };
    const { h, taskId } = await task(config);
    await forcePhase(h.srv, taskId, 3);
    await createBucket({ name: bucket, versioning: 'Enabled', encryption: 'AES256' });
    const roleArn = await createRole(role);
    await createFunction({ name: fn, roleArn, runtime: 'python3.12', memorySize: 128 });
    await createLogGroup({ name: logGroup, retentionInDays: 30 });

    const progress: string[] = [];
    const first = (await h.client.callTool({ name: 'verify-infrastructure', arguments: {} }, undefined, { onprogress: (p) => progress.push(p.message ?? '') })) as any;
    expect(first.structuredContent).toMatchObject({ verified: false, discrepancyCount: 1, fullRun: true });
    expect(first.structuredContent.results.find((r: any) => r.type === 'lambda-function').discrepancies).toEqual([{ field: 'memorySize', expected: 256, actual: 128 }]);
    expect(progress.length).toBeGreaterThanOrEqual(4);
    let status = await h.call('deployment-status');
    expect(status.structuredContent.criteria[0]).toMatchObject({ id: 'infrastructure-verified', met: false });

    // The human fixes it in the console; the agent verifies again.
    const { LambdaClient, UpdateFunctionConfigurationCommand } = await import('@aws-sdk/client-lambda');
    const lambda = new LambdaClient({ endpoint: motoEndpoint(), region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
    await lambda.send(new UpdateFunctionConfigurationCommand({ FunctionName: fn, MemorySize: 256 }));
    const partial = await h.call('verify-infrastructure', { resources: [`ingest-\${environment}-fn-${suffix}`] });
    expect(partial.structuredContent).toMatchObject({ verified: true, fullRun: false });
    status = await h.call('deployment-status');
    expect(status.structuredContent.criteria[0].met).toBe(false); // a partial run does not count
    const full = await h.call('verify-infrastructure');
    expect(full.structuredContent).toMatchObject({ verified: true, discrepancyCount: 0, problemCount: 0 });
    status = await h.call('deployment-status');
    expect(status.structuredContent.criteria[0]).toMatchObject({ id: 'infrastructure-verified', met: true });
    const journal = await h.srv.deployments!.renderJournal(taskId);
    expect(journal).toContain('| s3-bucket | `' + bucket + '` | ✔ verified |');
  });

  it('an AccessDenied on one property is reported for it while the rest still verifies', async () => {
    const proxy = await startFaultProxy(motoEndpoint(), [{ match: (r) => r.service === 's3' && r.query.has('versioning'), fault: { kind: 'access-denied' } }]);
    try {
      const { h, taskId } = await task(BASE_CONFIG, { awsEndpoint: proxy.url, awsMaxAttempts: 1 });
      await forcePhase(h.srv, taskId, 3);
      const bucket = uniqueName('denied');
      await createBucket({ name: bucket, versioning: 'Enabled', encryption: 'AES256' });
      const r = await h.call('verify-resource', { type: 's3-bucket', name: bucket, expect: { versioning: 'Enabled', encryption: 'AES256' } });
      expect(r.structuredContent.verified).toBe(false);
      expect(r.structuredContent.problems).toEqual([expect.objectContaining({ field: 'versioning', code: expect.stringMatching(/AccessDenied/) })]);
      expect(r.structuredContent.problems[0].message).toContain('s3:GetBucketVersioning');
      expect(r.structuredContent.actual.encryption).toBe('AES256');
      expect(r.structuredContent.discrepancies).toEqual([]);
    } finally {
      await proxy.close();
    }
  });

  it('an unreachable AWS endpoint is a clear error, not a crash, and is recorded', async () => {
    const { h, taskId } = await task(BASE_CONFIG, { awsEndpoint: 'http://127.0.0.1:9', awsMaxAttempts: 1 });
    const r = await h.call('verify-credentials');
    expect(r.isError).toBe(true);
    expect(r.structuredContent.error).toMatch(/^aws:/);
    expect(r.structuredContent.nextStep).toBeTruthy();
    expect(readEvents(h.root, taskId).at(-1)).toMatchObject({ type: 'tool.failed', data: { tool: 'verify-credentials' } });
  });
});
