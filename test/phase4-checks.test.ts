/**
 * smoke-test, check-logs and configure-schedule against moto (and a local HTTP server): results
 * per target, client-side log patterns with redacted samples in the deployment's window, and an
 * idempotent EventBridge schedule on the alias with its invoke permission.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHash } from 'node:crypto';
import * as cwlogs from '@aws-sdk/client-cloudwatch-logs';
import * as events from '@aws-sdk/client-eventbridge';
import * as lambdasdk from '@aws-sdk/client-lambda';
import * as s3sdk from '@aws-sdk/client-s3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createBucket, createLogGroup, fixtureClients, motoEndpoint, queueLambdaResults, uniqueName } from './helpers/aws-fixtures.js';
import type { Harness } from './helpers/mcp.js';
import { HANDLER_V2, lambdaClient, liveFunction, s3Client, taskIn, writeTree, textOf } from './helpers/deploy-fixtures.js';

// Queued Lambda results are shared per region: this file has its own.
const REGION = 'ap-northeast-1';

const harnesses: Harness[] = [];
afterEach(async () => {
  while (harnesses.length) await harnesses.pop()!.close();
});

async function deployed(components?: string[]) {
  const fn = await liveFunction(REGION);
  const t = await taskIn({ region: REGION, components: components ?? [fn] });
  harnesses.push(t.h);
  writeTree(t.h.root, 'build/fn', HANDLER_V2);
  const r = await t.h.call('deploy-lambda', { function: fn, directory: 'build/fn', alias: 'live' });
  expect(r.isError, JSON.stringify(r.structuredContent)).toBeFalsy();
  return { ...t, fn };
}

describe('smoke-test', () => {
  let server: http.Server;
  let base: string;
  beforeAll(async () => {
    server = http.createServer((req, res) => {
      if (req.url === '/health') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{"status":"ok","version":"2"}');
      } else if (req.url === '/slow') {
        setTimeout(() => res.end('late'), 300);
      } else {
        res.writeHead(500);
        res.end('boom');
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('checks lambda, http and s3-object targets, records each, and only an all-passing latest run meets the criterion', async () => {
    const { h, fn } = await deployed();
    const bucket = uniqueName('smoke');
    await createBucket({ name: bucket });
    await s3Client().send(new s3sdk.PutObjectCommand({ Bucket: bucket, Key: 'out/result.csv', Body: 'a,b\n1,2\n' }));
    const good = createHash('sha256').update('a,b\n1,2\n').digest('hex');

    const ok = await h.call('smoke-test', {
      targets: [
        { kind: 'lambda', function: fn, payload: { ping: 1, nested: { a: [1, 2] } }, expectJson: { nested: { a: [1, 2] } } },
        { kind: 'http', url: `${base}/health`, bodyContains: '"status":"ok"', maxLatencyMs: 5000 },
        { kind: 's3-object', bucket, key: 'out/result.csv', sha256: good },
      ],
    });
    expect(ok.isError, JSON.stringify(ok.structuredContent)).toBeFalsy();
    expect(ok.structuredContent).toMatchObject({ allPassed: true, passedCount: 3, failedCount: 0 });
    // Without a qualifier the lambda target invokes the alias this task deployed.
    expect(ok.structuredContent.results[0]).toMatchObject({ target: `lambda ${fn}:live`, kind: 'lambda', passed: true, statusCode: 200 });
    let status = await h.call('deployment-status');
    expect(status.structuredContent.criteria.find((c: any) => c.id === 'smoke-passed')).toMatchObject({ met: true });

    await queueLambdaResults(motoEndpoint(), [{ statusCode: 500, body: 'model not loaded' }], { region: REGION });
    const bad = await h.call('smoke-test', {
      targets: [
        { kind: 'lambda', function: fn, qualifier: 'live', expectJson: { statusCode: 200 } },
        { kind: 'http', url: `${base}/broken` },
        { kind: 'http', url: `${base}/slow`, maxLatencyMs: 50 },
        { kind: 'http', url: 'http://127.0.0.1:9/closed' },
        { kind: 's3-object', bucket, key: 'out/result.csv', sha256: '0'.repeat(64) },
        { kind: 's3-object', bucket, key: 'out/missing.csv' },
      ],
    });
    expect(bad.isError).toBeFalsy();
    const r = bad.structuredContent;
    expect(r).toMatchObject({ allPassed: false, passedCount: 0, failedCount: 6 });
    expect(r.results[0].detail).toContain('$.statusCode: expected 200, got 500');
    expect(r.results[1].detail).toContain('status 500, expected 200');
    expect(r.results[2].detail).toMatch(/over the 50 ms limit/);
    expect(r.results[3].detail).toMatch(/request failed/);
    expect(r.results[4].detail).toContain(`sha256 is ${good}`);
    expect(r.results[5].detail).toMatch(/does not exist/);
    status = await h.call('deployment-status');
    expect(status.structuredContent.criteria.find((c: any) => c.id === 'smoke-passed')).toMatchObject({ met: false });
    expect(textOf(bad)).toContain('6 of 6 smoke target(s) failed');
  });
});

describe('check-logs', () => {
  it('counts error lines since the deployment, matched client-side, with redacted samples', async () => {
    const fn = await liveFunction(REGION);
    const group = `/aws/lambda/${fn}`;
    await createLogGroup({ name: group, region: REGION });
    const logs = fixtureClients(motoEndpoint(), REGION).logs;
    await logs.send(new cwlogs.CreateLogStreamCommand({ logGroupName: group, logStreamName: 'old' }));
    // Before the deployment: must not count.
    await logs.send(new cwlogs.PutLogEventsCommand({ logGroupName: group, logStreamName: 'old', logEvents: [{ timestamp: Date.now() - 10 * 60_000, message: 'ERROR from the old version' }] }));

    const t = await taskIn({ region: REGION, components: [fn] });
    harnesses.push(t.h);
    const { h } = t;
    writeTree(h.root, 'build/fn', HANDLER_V2);
    expect((await h.call('deploy-lambda', { function: fn, directory: 'build/fn', alias: 'live' })).isError).toBeFalsy();

    await logs.send(new cwlogs.CreateLogStreamCommand({ logGroupName: group, logStreamName: 'new' }));
    const now = Date.now();
    await logs.send(
      new cwlogs.PutLogEventsCommand({
        logGroupName: group,
        logStreamName: 'new',
        logEvents: [
          { timestamp: now, message: 'START RequestId: 1 Version: 2' },
          { timestamp: now + 1, message: '[ERROR] KeyError: db password=hunter2-Secret-77 rejected' },
          { timestamp: now + 2, message: 'Traceback (most recent call last):' },
          { timestamp: now + 3, message: '{"level":"error","msg":"upstream timeout"}' },
          { timestamp: now + 4, message: '2026-01-01T00:00:00Z abc Task timed out after 3.00 seconds' },
          { timestamp: now + 5, message: 'INFO processed 10 rows' },
        ],
      }),
    );

    const r = await h.call('check-logs');
    expect(r.isError, JSON.stringify(r.structuredContent)).toBeFalsy();
    const o = r.structuredContent;
    expect(o).toMatchObject({ errorCount: 4, windowSource: 'deployment', logGroups: [{ logGroup: group, exists: true, scanned: 6, matched: 4 }] });
    expect(o.byPattern).toMatchObject({ ERROR: 1, Traceback: 1, '"level":"error"': 1, 'Task timed out': 1 });
    expect(o.samples).toHaveLength(4);
    expect(JSON.stringify(r)).not.toContain('hunter2-Secret-77');
    expect(o.samples[0].message).toContain('[REDACTED');
    expect(new Date(o.windowStart).getTime()).toBeLessThanOrEqual(now);
    expect(new Date(o.windowStart).getTime()).toBeGreaterThan(now - 10 * 60_000);
    let status = await h.call('deployment-status');
    expect(status.structuredContent.criteria.find((c: any) => c.id === 'logs-clean')).toMatchObject({ met: false });

    // Own patterns; an explicit window; an explicit group that does not exist is an error.
    const custom = await h.call('check-logs', { patterns: ['rows'], since: '1h' });
    expect(custom.structuredContent).toMatchObject({ errorCount: 1, windowSource: 'since' });
    const wrong = await h.call('check-logs', { logGroup: '/aws/lambda/does-not-exist' });
    expect(wrong.structuredContent).toMatchObject({ error: 'log-group-not-found' });
    const clean = await h.call('check-logs', { patterns: ['CRITICAL'] });
    expect(clean.structuredContent.errorCount).toBe(0);
    status = await h.call('deployment-status');
    expect(status.structuredContent.criteria.find((c: any) => c.id === 'logs-clean')).toMatchObject({ met: true });
  });

  it('needs a deployment or since', async () => {
    const t = await taskIn({ region: REGION });
    harnesses.push(t.h);
    expect((await t.h.call('check-logs')).structuredContent).toMatchObject({ error: 'no-deployment' });
  });
});

describe('configure-schedule', () => {
  it('creates a rule on the alias with the invoke permission, is idempotent, and records what it replaced', async () => {
    const { h, fn } = await deployed();
    const r = await h.call('configure-schedule', { function: fn, schedule: 'rate(15 minutes)', input: { job: 'nightly-load' } });
    expect(r.isError, JSON.stringify(r.structuredContent)).toBeFalsy();
    const o = r.structuredContent;
    expect(o).toMatchObject({ ruleName: `${fn}-live-schedule`, created: true, changed: true, alias: 'live', permissionAdded: true, state: 'ENABLED', previous: { exists: false } });
    const eb = new events.EventBridgeClient({ endpoint: motoEndpoint(), region: REGION, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
    const rule = await eb.send(new events.DescribeRuleCommand({ Name: o.ruleName }));
    expect(rule).toMatchObject({ ScheduleExpression: 'rate(15 minutes)', State: 'ENABLED' });
    const targets = await eb.send(new events.ListTargetsByRuleCommand({ Rule: o.ruleName }));
    expect(targets.Targets).toEqual([expect.objectContaining({ Id: 'deploy-mcp-live', Arn: expect.stringMatching(new RegExp(`:function:${fn}:live$`)), Input: '{"job":"nightly-load"}' })]);
    const policy = JSON.parse((await lambdaClient(REGION).send(new lambdasdk.GetPolicyCommand({ FunctionName: fn, Qualifier: 'live' }))).Policy!);
    expect(policy.Statement).toEqual([expect.objectContaining({ Sid: o.statementId, Principal: { Service: 'events.amazonaws.com' } })]);

    const same = await h.call('configure-schedule', { function: fn, schedule: 'rate(15 minutes)', input: { job: 'nightly-load' } });
    expect(same.structuredContent).toMatchObject({ created: false, changed: false, permissionAdded: false, changes: [] });
    const policyAfter = JSON.parse((await lambdaClient(REGION).send(new lambdasdk.GetPolicyCommand({ FunctionName: fn, Qualifier: 'live' }))).Policy!);
    expect(policyAfter.Statement).toHaveLength(1);

    const changed = await h.call('configure-schedule', { function: fn, schedule: 'cron(0 3 * * ? *)', input: { job: 'nightly-load' } });
    expect(changed.structuredContent).toMatchObject({ created: false, changed: true, previous: { exists: true, scheduleExpression: 'rate(15 minutes)', state: 'ENABLED' } });
    expect((await eb.send(new events.DescribeRuleCommand({ Name: o.ruleName }))).ScheduleExpression).toBe('cron(0 3 * * ? *)');

    const invalid = await h.call('configure-schedule', { function: fn, schedule: 'every 5 minutes' });
    expect(invalid.structuredContent).toMatchObject({ error: 'invalid-schedule' });
    const noAlias = await h.call('configure-schedule', { function: uniqueName('other'), schedule: 'rate(1 hour)' });
    expect(noAlias.structuredContent).toMatchObject({ error: 'no-alias' });
  });
});
