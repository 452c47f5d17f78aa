/**
 * deploy-lambda against moto, through an MCP client: previous version recorded, reproducible
 * directory zips, configuration shipped with the code (values never recorded), gradual shift
 * through RoutingConfig weights with checks, and — whatever step fails — the alias left on the
 * previous version, unweighted.
 */
import fs from 'node:fs';
import { createHash } from 'node:crypto';
import path from 'node:path';
import * as lambdasdk from '@aws-sdk/client-lambda';
import * as s3sdk from '@aws-sdk/client-s3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createBucket, makeZip, motoEndpoint, queueLambdaResults, uniqueName, updateFunctionCode } from './helpers/aws-fixtures.js';
import { startFaultProxy, type FaultProxy, type ProxyRequest } from './helpers/fault-proxy.js';
import { readEvents, type Harness } from './helpers/mcp.js';
import { zipDirectory } from '../src/deploy/zip.js';
import { HANDLER_V2, aliasOf, lambdaClient, liveFunction, s3Client, taskIn, versionsOf, writeTree, textOf } from './helpers/deploy-fixtures.js';

// This file queues Lambda results: it keeps its functions in a region of its own.
const REGION = 'us-west-2';

const harnesses: Harness[] = [];
afterEach(async () => {
  while (harnesses.length) await harnesses.pop()!.close();
});

async function task(harness: Parameters<typeof taskIn>[0]['harness'] = {}) {
  const t = await taskIn({ region: REGION, harness });
  harnesses.push(t.h);
  return t;
}

const zipSha = (zip: Buffer) => createHash('sha256').update(zip).digest('base64');

describe('deploy-lambda', () => {
  it('records the previous version, publishes, moves the alias, and reports identical code as unchanged', async () => {
    const fn = await liveFunction(REGION);
    const { h, taskId } = await task();
    writeTree(h.root, 'build/handler', HANDLER_V2);

    const progress: string[] = [];
    const r = (await h.client.callTool({ name: 'deploy-lambda', arguments: { function: fn, directory: 'build/handler', alias: 'live' } }, undefined, {
      onprogress: (p) => progress.push(p.message ?? ''),
    })) as any;
    expect(r.isError, JSON.stringify(r.structuredContent)).toBeFalsy();
    const o = r.structuredContent;
    expect(o).toMatchObject({ function: fn, alias: 'live', previousVersion: '1', newVersion: '2', aliasVersion: '2', changed: true, published: true, aliasCreated: false, source: { kind: 'directory', files: 2 } });
    expect(o.steps.map((s: any) => s.name)).toEqual(['record-previous', 'update-code', 'wait-code', 'publish', 'shift-100', 'verify']);
    expect(progress.some((m) => m.includes('update-code'))).toBe(true);
    expect(progress.length).toBeGreaterThanOrEqual(6);

    // What landed in AWS matches what was reported.
    const v2 = await lambdaClient(REGION).send(new lambdasdk.GetFunctionConfigurationCommand({ FunctionName: fn, Qualifier: '2' }));
    expect(v2.CodeSha256).toBe(o.codeSha256);
    expect(o.previousCodeSha256).not.toBe(o.codeSha256);
    expect(await aliasOf(REGION, fn)).toEqual({ version: '2', weights: {} });

    // Same directory again, with fresh mtimes: the reproducible zip has the same hash → no-op.
    const later = new Date(Date.now() + 60_000);
    for (const f of ['index.py', 'lib/util.py']) fs.utimesSync(path.join(h.root, 'build/handler', f), later, later);
    const again = await h.call('deploy-lambda', { function: fn, directory: 'build/handler', alias: 'live' });
    expect(again.structuredContent).toMatchObject({ changed: false, newVersion: '2', aliasVersion: '2', codeSha256: o.codeSha256 });
    expect(await versionsOf(REGION, fn)).toEqual(['1', '2']);

    // The journal's Application Deployment section has before/after versions and the hash.
    const journal = await h.srv.deployments!.renderJournal(taskId);
    expect(journal).toContain(`${fn}:live version 1 → 2 (CodeSha256 ${o.previousCodeSha256} → ${o.codeSha256})`);
    const status = await h.call('deployment-status');
    expect(status.structuredContent.criteria.find((c: any) => c.id === 'components-deployed')).toMatchObject({ met: false });
  });

  it('deploys a zip file and an S3 object, and refuses bad sources before touching AWS', async () => {
    const fn = await liveFunction(REGION);
    const { h } = await task();
    const zip = makeZip({ 'index.py': 'def handler(e, c):\n    return {"from": "zip"}\n' });
    fs.writeFileSync(path.join(h.root, 'package.zip'), zip);
    const fromZip = await h.call('deploy-lambda', { function: fn, zipPath: 'package.zip', alias: 'live' });
    expect(fromZip.structuredContent).toMatchObject({ previousVersion: '1', newVersion: '2', codeSha256: zipSha(zip), source: { kind: 'zip', bytes: zip.length } });

    const bucket = uniqueName('packages');
    await createBucket({ name: bucket });
    const zip3 = makeZip({ 'index.py': 'def handler(e, c):\n    return {"from": "s3"}\n' });
    await s3Client().send(new s3sdk.PutObjectCommand({ Bucket: bucket, Key: 'fn.zip', Body: zip3 }));
    const fromS3 = await h.call('deploy-lambda', { function: fn, s3: { bucket, key: 'fn.zip' }, alias: 'live' });
    expect(fromS3.structuredContent).toMatchObject({ previousVersion: '2', newVersion: '3', codeSha256: zipSha(zip3), source: { kind: 's3', bucket, key: 'fn.zip' } });
    expect(await aliasOf(REGION, fn)).toEqual({ version: '3', weights: {} });

    // publish: false updates $LATEST only.
    const zip4 = makeZip({ 'index.py': 'def handler(e, c):\n    return {"from": "latest"}\n' });
    fs.writeFileSync(path.join(h.root, 'latest.zip'), zip4);
    const latestOnly = await h.call('deploy-lambda', { function: fn, zipPath: 'latest.zip', alias: 'live', publish: false });
    expect(latestOnly.structuredContent).toMatchObject({ published: false, newVersion: null, previousVersion: '3', aliasVersion: '3', codeSha256: zipSha(zip4) });
    expect(await versionsOf(REGION, fn)).toEqual(['1', '2', '3']);
    expect(await aliasOf(REGION, fn)).toEqual({ version: '3', weights: {} });

    const none = await h.call('deploy-lambda', { function: fn, alias: 'live' });
    expect(none.structuredContent).toMatchObject({ error: 'invalid-source' });
    const two = await h.call('deploy-lambda', { function: fn, alias: 'live', zipPath: 'package.zip', directory: 'build' });
    expect(two.structuredContent).toMatchObject({ error: 'invalid-source' });
    const outside = await h.call('deploy-lambda', { function: fn, alias: 'live', zipPath: '../../etc/passwd' });
    expect(outside.structuredContent.error).toMatch(/^path-/);
    fs.writeFileSync(path.join(h.root, 'notzip.zip'), 'hello');
    expect((await h.call('deploy-lambda', { function: fn, alias: 'live', zipPath: 'notzip.zip' })).structuredContent).toMatchObject({ error: 'not-a-zip' });
    const missing = await h.call('deploy-lambda', { function: uniqueName('nope'), alias: 'live', zipPath: 'package.zip' });
    expect(missing.structuredContent).toMatchObject({ error: 'function-not-found' });
    expect(await aliasOf(REGION, fn)).toEqual({ version: '3', weights: {} });
  });

  it('creates a missing alias (first deployment): nothing to roll back to, and the rollback says so', async () => {
    const fn = await liveFunction(REGION);
    const { h } = await task();
    writeTree(h.root, 'build/new', HANDLER_V2);
    const r = await h.call('deploy-lambda', { function: fn, directory: 'build/new', alias: 'canary', routing: { steps: [10] } });
    expect(r.structuredContent).toMatchObject({ previousVersion: null, newVersion: '2', aliasVersion: '2', aliasCreated: true });
    expect(r.structuredContent.steps.map((s: any) => s.name)).toEqual(['record-previous', 'update-code', 'wait-code', 'publish', 'create-alias', 'verify']);
    expect(await aliasOf(REGION, fn, 'canary')).toEqual({ version: '2', weights: {} });
    const rb = await h.call('rollback', { reason: 'First deployment misbehaves.' });
    expect(rb.structuredContent).toMatchObject({ error: 'nothing-to-roll-back' });
    expect(rb.structuredContent.message).toContain('alias canary has no previous version');
  });

  it('ships configuration with the code, records the previous configuration, and never records an environment value', async () => {
    const fn = await liveFunction(REGION);
    const { h, taskId } = await task();
    writeTree(h.root, 'build/model', HANDLER_V2);
    const secret = 'sk-live-Zq81bVt0rX29aPmN';
    const r = await h.call('deploy-lambda', {
      function: fn,
      directory: 'build/model',
      alias: 'live',
      configuration: { memorySize: 512, timeout: 30, environment: { MODEL_API_KEY: secret, MODEL_NAME: 'summariser-large-2026' } },
    });
    expect(r.isError, JSON.stringify(r.structuredContent)).toBeFalsy();
    expect(r.structuredContent.steps.map((s: any) => s.name)).toEqual(['record-previous', 'update-code', 'wait-code', 'update-configuration', 'wait-configuration', 'publish', 'shift-100', 'verify']);
    expect(r.structuredContent.previousConfiguration).toEqual({ memorySize: 128, timeout: 3, environmentVariableNames: [] });
    expect(r.structuredContent.appliedConfiguration).toEqual({ memorySize: 512, timeout: 30, environmentVariableNames: ['MODEL_API_KEY', 'MODEL_NAME'] });

    // The published version captured code and configuration together.
    const v2 = await lambdaClient(REGION).send(new lambdasdk.GetFunctionConfigurationCommand({ FunctionName: fn, Qualifier: r.structuredContent.newVersion }));
    expect(v2).toMatchObject({ MemorySize: 512, Timeout: 30 });
    expect(v2.Environment?.Variables).toEqual({ MODEL_API_KEY: secret, MODEL_NAME: 'summariser-large-2026' });

    // No value anywhere the server writes or answers.
    const everywhere = [
      fs.readFileSync(path.join(h.root, '.deploy-mcp', 'tasks', String(taskId), 'events.jsonl'), 'utf8'),
      await h.srv.deployments!.renderJournal(taskId),
      JSON.stringify(r),
    ].join('\n');
    expect(everywhere).not.toContain(secret);
    expect(everywhere).not.toContain('summariser-large-2026');
    expect(everywhere).toContain('MODEL_API_KEY');
  });

  it('shifts traffic gradually through the given weights, checking the new version between steps', async () => {
    const fn = await liveFunction(REGION);
    const proxy = await startFaultProxy(motoEndpoint());
    try {
      const { h } = await task({ awsEndpoint: proxy.url });
      writeTree(h.root, 'build/canary', HANDLER_V2);
      const before = proxy.requests.length;
      const r = await h.call('deploy-lambda', {
        function: fn,
        directory: 'build/canary',
        alias: 'live',
        routing: { steps: [10, 50, 100], checkBetween: { payload: { ping: 'canary' }, expectJson: { ping: 'canary' } } },
      });
      expect(r.isError, JSON.stringify(r.structuredContent)).toBeFalsy();
      const sent = proxy.requests.slice(before);
      const aliasUpdates = sent
        .filter((q) => q.service === 'lambda' && q.method === 'PUT' && q.path.endsWith(`/functions/${fn}/aliases/live`))
        .map((q) => JSON.parse(q.body.toString()));
      expect(aliasUpdates.map((b) => [b.FunctionVersion, b.RoutingConfig?.AdditionalVersionWeights])).toEqual([
        ['1', { '2': 0.1 }],
        ['1', { '2': 0.5 }],
        ['2', {}],
      ]);
      // Each weighted step was followed by an invoke of the new version before the next move.
      const order = sent.filter((q) => q.service === 'lambda' && (q.path.endsWith('/aliases/live') || q.path.endsWith('/invocations'))).map((q) => `${q.method} ${q.path.split('/').pop()}${q.query.get('Qualifier') ? `@${q.query.get('Qualifier')}` : ''}`);
      const firstUpdate = order.indexOf('PUT live');
      expect(order.slice(firstUpdate)).toEqual(['PUT live', 'GET live', 'POST invocations@2', 'PUT live', 'GET live', 'POST invocations@2', 'PUT live', 'GET live']);
      expect(r.structuredContent.routing).toEqual([
        expect.objectContaining({ weight: 10, checked: true }),
        expect.objectContaining({ weight: 50, checked: true }),
        expect.objectContaining({ weight: 100, checked: false }),
      ]);
      expect(await aliasOf(REGION, fn)).toEqual({ version: '2', weights: {} });
      expect(textOf(r)).toContain('10% → 50% → 100%');
    } finally {
      await proxy.close();
    }
  });

  it('a failed check between steps puts the alias back on the previous version, unweighted', async () => {
    const fn = await liveFunction(REGION);
    const { h, taskId } = await task();
    writeTree(h.root, 'build/bad', HANDLER_V2);
    // The new version answers wrongly to the check invoke.
    await queueLambdaResults(motoEndpoint(), [{ ok: false, error: 'model not loaded' }], { region: REGION });
    const r = await h.call('deploy-lambda', {
      function: fn,
      directory: 'build/bad',
      alias: 'live',
      routing: { steps: [25], checkBetween: { expectJson: { ok: true } } },
    });
    expect(r.isError).toBe(true);
    expect(r.structuredContent).toMatchObject({ error: 'check-failed', details: { failedStep: 'check-25', previousVersion: '1', aliasRestored: true, aliasVersion: '1', aliasWeights: {} } });
    expect(r.structuredContent.message).toContain('put back on the previous version 1, routing cleared');
    expect(r.structuredContent.message).toContain('$.ok: expected true, got false');
    expect(await aliasOf(REGION, fn)).toEqual({ version: '1', weights: {} });
    const failed = readEvents(h.root, taskId).at(-1);
    expect(failed).toMatchObject({ type: 'tool.failed', data: { tool: 'deploy-lambda', error: { details: { aliasRestored: true } } } });
  });

  describe('a failure injected at each step', () => {
    let proxy: FaultProxy;
    beforeAll(async () => {
      proxy = await startFaultProxy(motoEndpoint());
    });
    afterAll(async () => proxy?.close());

    const lambdaPath = (req: ProxyRequest, fn: string, method: string, suffix: string, qualified?: boolean) =>
      req.service === 'lambda' &&
      req.method === method &&
      req.path === `/2015-03-31/functions/${fn}${suffix}` &&
      (qualified === undefined || req.query.has('Qualifier') === qualified);

    /** Fails the `nth` request matching `match` with AccessDenied. */
    function failNth(match: (req: ProxyRequest) => boolean, nth: number) {
      let seen = 0;
      proxy.addRule({ match: (req) => match(req) && ++seen === nth, fault: { kind: 'access-denied' }, times: 1 });
    }

    const cases: { step: string; action: string; rule: (fn: string) => [(req: ProxyRequest) => boolean, number]; aliasTouched: boolean }[] = [
      { step: 'record-previous', action: 'lambda:GetFunctionConfiguration', rule: (fn) => [(q) => lambdaPath(q, fn, 'GET', '/configuration', false), 1], aliasTouched: false },
      { step: 'update-code', action: 'lambda:UpdateFunctionCode', rule: (fn) => [(q) => lambdaPath(q, fn, 'PUT', '/code'), 1], aliasTouched: false },
      { step: 'wait-code', action: 'lambda:GetFunctionConfiguration', rule: (fn) => [(q) => lambdaPath(q, fn, 'GET', '/configuration', false), 2], aliasTouched: false },
      { step: 'update-configuration', action: 'lambda:UpdateFunctionConfiguration', rule: (fn) => [(q) => lambdaPath(q, fn, 'PUT', '/configuration'), 1], aliasTouched: false },
      { step: 'wait-configuration', action: 'lambda:GetFunctionConfiguration', rule: (fn) => [(q) => lambdaPath(q, fn, 'GET', '/configuration', false), 3], aliasTouched: false },
      { step: 'publish', action: 'lambda:PublishVersion', rule: (fn) => [(q) => lambdaPath(q, fn, 'POST', '/versions'), 1], aliasTouched: false },
      { step: 'shift-10', action: 'lambda:UpdateAlias', rule: (fn) => [(q) => lambdaPath(q, fn, 'PUT', '/aliases/live'), 1], aliasTouched: false },
      { step: 'check-10', action: 'lambda:InvokeFunction', rule: (fn) => [(q) => lambdaPath(q, fn, 'POST', '/invocations'), 1], aliasTouched: true },
      { step: 'shift-100', action: 'lambda:UpdateAlias', rule: (fn) => [(q) => lambdaPath(q, fn, 'PUT', '/aliases/live'), 2], aliasTouched: true },
      { step: 'verify', action: 'lambda:GetAlias', rule: (fn) => [(q) => lambdaPath(q, fn, 'GET', '/aliases/live'), 3], aliasTouched: true },
    ];

    for (const c of cases) {
      it(`${c.step}: the alias stays on (or goes back to) the previous version, unweighted`, async () => {
        const fn = await liveFunction(REGION);
        const { h, taskId } = await task({ awsEndpoint: proxy.url, awsMaxAttempts: 1 });
        writeTree(h.root, 'build/f', HANDLER_V2);
        proxy.clearRules();
        const [match, nth] = c.rule(fn);
        failNth(match, nth);
        const r = await h.call('deploy-lambda', {
          function: fn,
          directory: 'build/f',
          alias: 'live',
          configuration: { timeout: 10 },
          routing: { steps: [10, 100], checkBetween: { payload: { ping: 1 } } },
        });
        proxy.clearRules();
        expect(r.isError, JSON.stringify(r.structuredContent)).toBe(true);
        const s = r.structuredContent;
        expect(s.details.failedStep).toBe(c.step);
        expect(s.message).toContain(c.action);
        expect(s.details.aliasVersion).toBe('1');
        expect(s.details.aliasWeights).toEqual({});
        if (c.aliasTouched) {
          expect(s.details.aliasRestored).toBe(true);
          expect(s.message).toContain('put back on the previous version 1, routing cleared');
        } else {
          expect(s.message).toMatch(/was not changed|was not touched|did not change it/);
        }
        // In AWS itself, not just in the report.
        expect(await aliasOf(REGION, fn)).toEqual({ version: '1', weights: {} });
        expect(readEvents(h.root, taskId).at(-1)).toMatchObject({ type: 'tool.failed', data: { tool: 'deploy-lambda', error: { details: { failedStep: c.step } } } });
      });
    }

    it('PublishVersion refused by AWS (precondition failed): nothing published, alias untouched', async () => {
      const fn = await liveFunction(REGION);
      const { h } = await task({ awsEndpoint: proxy.url, awsMaxAttempts: 1 });
      writeTree(h.root, 'build/p', HANDLER_V2);
      proxy.clearRules();
      proxy.addRule({
        match: (q) => lambdaPath(q, fn, 'POST', '/versions'),
        fault: { kind: 'error', status: 412, code: 'PreconditionFailedException', message: 'The CodeSha256 does not match the current code' },
        times: 1,
      });
      const before = proxy.requests.length;
      const r = await h.call('deploy-lambda', { function: fn, directory: 'build/p', alias: 'live' });
      proxy.clearRules();
      expect(r.structuredContent).toMatchObject({ error: 'code-changed', details: { failedStep: 'publish', aliasVersion: '1' } });
      expect(r.structuredContent.message).toContain('PreconditionFailedException');
      // The request carried the preconditions.
      const publish = proxy.requests.slice(before).find((q) => lambdaPath(q, fn, 'POST', '/versions'))!;
      const body = JSON.parse(publish.body.toString());
      expect(body.CodeSha256).toBe(zipSha(zipDirectory(path.join(h.root, 'build/p')).zip));
      expect(await versionsOf(REGION, fn)).toEqual(['1']);
      expect(await aliasOf(REGION, fn)).toEqual({ version: '1', weights: {} });
    });

    it('code changed underneath just before PublishVersion: refused, the alias never points at the foreign version', async () => {
      const fn = await liveFunction(REGION);
      const { h } = await task({ awsEndpoint: proxy.url, awsMaxAttempts: 1 });
      writeTree(h.root, 'build/q', HANDLER_V2);
      proxy.clearRules();
      const intruder = makeZip({ 'index.py': 'def handler(e, c):\n    return "someone else"\n' });
      let changed: Promise<void> | undefined;
      proxy.addRule({
        // Another deployer updates the code while our PublishVersion is on its way (moto itself
        // does not enforce the CodeSha256 precondition, so the tool must catch it).
        match: (q) => {
          if (!lambdaPath(q, fn, 'POST', '/versions')) return false;
          changed ??= updateFunctionCode(fn, intruder, { region: REGION });
          return true;
        },
        fault: { kind: 'delay', ms: 1500 },
        times: 1,
      });
      const r = await h.call('deploy-lambda', { function: fn, directory: 'build/q', alias: 'live' });
      proxy.clearRules();
      await changed;
      expect(r.structuredContent).toMatchObject({ error: 'code-changed', details: { failedStep: 'publish' } });
      expect(r.structuredContent.message).toContain('changed underneath');
      expect(await aliasOf(REGION, fn)).toEqual({ version: '1', weights: {} });
      const latest = await lambdaClient(REGION).send(new lambdasdk.GetFunctionConfigurationCommand({ FunctionName: fn }));
      expect(latest.CodeSha256).toBe(zipSha(intruder));
    });
  });
});
