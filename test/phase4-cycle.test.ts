/**
 * The whole phase-4 cycle through one MCP client, as an agent runs it: upload → deploy → smoke →
 * logs (criteria met) → rollback confirmed by the human in the client's form → aliases and
 * objects back on their previous versions, the task rolled-back.
 */
import { createHash } from 'node:crypto';
import * as cwlogs from '@aws-sdk/client-cloudwatch-logs';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogGroup, fixtureClients, motoEndpoint, uniqueName } from './helpers/aws-fixtures.js';
import { readEvents, type Harness } from './helpers/mcp.js';
import { HANDLER_V2, aliasOf, liveFunction, objectText, taskIn, versionedObject, writeTree } from './helpers/deploy-fixtures.js';

const REGION = 'ap-southeast-2';

const harnesses: Harness[] = [];
afterEach(async () => {
  while (harnesses.length) await harnesses.pop()!.close();
});

describe('deploy → smoke → logs → rollback', () => {
  it('meets the phase-4 criteria, then rolls back everything once the human confirms in the form', async () => {
    const fn = await liveFunction(REGION);
    const worker = await liveFunction(REGION);
    const bucket = uniqueName('cycle');
    const v0 = await versionedObject(bucket, 'jobs/transform.py', 'print("release 1")\n');
    await createLogGroup({ name: `/aws/lambda/${fn}`, region: REGION });
    await createLogGroup({ name: `/aws/lambda/${worker}`, region: REGION });

    let shown = '';
    const t = await taskIn({
      region: REGION,
      components: [fn, worker, 'jobs'],
      harness: {
        clientName: 'claude-code',
        elicit: (message) => {
          shown = message;
          return { action: 'accept', content: { approve: true, comment: 'smoke failures in prod, roll back' } };
        },
      },
    });
    harnesses.push(t.h);
    const { h, taskId } = t;

    writeTree(h.root, 'dist/jobs', { 'transform.py': 'print("release 2")\n' });
    writeTree(h.root, 'build/api', HANDLER_V2);
    writeTree(h.root, 'build/worker', { ...HANDLER_V2, 'lib/util.py': 'VALUE = 3\n' });

    const upload = await h.call('upload-artifacts', { bucket, prefix: 'jobs', paths: ['dist/jobs'], component: 'jobs' });
    expect(upload.structuredContent.objects[0]).toMatchObject({ key: 'jobs/transform.py', previousVersionId: v0, uploaded: true });
    expect((await h.call('deploy-lambda', { function: fn, directory: 'build/api', alias: 'live' })).structuredContent).toMatchObject({ previousVersion: '1', newVersion: '2' });
    expect((await h.call('deploy-lambda', { function: worker, directory: 'build/worker', alias: 'live', routing: { steps: [50] } })).structuredContent).toMatchObject({ previousVersion: '1', newVersion: '2' });

    const smoke = await h.call('smoke-test', {
      targets: [
        { kind: 'lambda', function: fn, payload: { ping: 1 }, expectJson: { ping: 1 } },
        { kind: 'lambda', function: worker, payload: { ping: 2 }, expectJson: { ping: 2 } },
        { kind: 's3-object', bucket, key: 'jobs/transform.py', sha256: createHash('sha256').update('print("release 2")\n').digest('hex') },
      ],
    });
    expect(smoke.structuredContent.allPassed).toBe(true);

    const logs = fixtureClients(motoEndpoint(), REGION).logs;
    await logs.send(new cwlogs.CreateLogStreamCommand({ logGroupName: `/aws/lambda/${fn}`, logStreamName: 's' }));
    await logs.send(new cwlogs.PutLogEventsCommand({ logGroupName: `/aws/lambda/${fn}`, logStreamName: 's', logEvents: [{ timestamp: Date.now(), message: 'INFO handled ping' }] }));
    const checked = await h.call('check-logs');
    expect(checked.structuredContent).toMatchObject({ errorCount: 0 });
    expect(checked.structuredContent.logGroups.map((g: any) => g.logGroup).sort()).toEqual([`/aws/lambda/${fn}`, `/aws/lambda/${worker}`].sort());

    const status = await h.call('deployment-status');
    expect(status.structuredContent.criteria.map((c: any) => [c.id, c.met])).toEqual([
      ['components-deployed', true],
      ['smoke-passed', true],
      ['logs-clean', true],
    ]);

    // Something goes wrong: the agent proposes the rollback; the human sees exactly what it restores.
    const rb = await h.call('rollback', { reason: 'Smoke tests against production fail after release 2.' });
    expect(rb.isError, JSON.stringify(rb.structuredContent)).toBeFalsy();
    expect(rb.structuredContent).toMatchObject({ status: 'rolled-back', failedCount: 0, approval: { channel: 'elicitation', comment: 'smoke failures in prod, roll back' } });
    expect(rb.structuredContent.approval.approver).toContain('claude-code');
    expect(shown).toContain('ROLL BACK');
    expect(shown).toContain(`${fn}:live → version 1 (from 2), routing cleared`);
    expect(shown).toContain(`${worker}:live → version 1 (from 2), routing cleared`);
    expect(shown).toContain(`s3://${bucket}/jobs/transform.py → version ${v0}`);
    expect(rb.structuredContent.restored.map((r: any) => [r.target, r.from, r.to, r.status, r.verified]).sort()).toEqual(
      [
        [`${fn}:live`, '2', '1', 'restored', true],
        [`${worker}:live`, '2', '1', 'restored', true],
        [`s3://${bucket}/jobs/transform.py`, upload.structuredContent.objects[0].versionId, v0, 'restored', true],
      ].sort(),
    );
    expect(typeof rb.structuredContent.durationMs).toBe('number');

    // In AWS.
    expect(await aliasOf(REGION, fn)).toEqual({ version: '1', weights: {} });
    expect(await aliasOf(REGION, worker)).toEqual({ version: '1', weights: {} });
    expect((await objectText(bucket, 'jobs/transform.py')).text).toBe('print("release 1")\n');

    // In the record: requested → approved (elicitation) → started → outcome; the task ended.
    const types = readEvents(h.root, taskId).map((e) => e.type);
    const at = (type: string) => types.indexOf(type);
    expect(at('rollback.requested')).toBeGreaterThan(0);
    expect(at('rollback.approved')).toBeGreaterThan(at('rollback.requested'));
    expect(at('rollback.started')).toBeGreaterThan(at('rollback.approved'));
    expect(types.at(-1)).toBe('tool.succeeded');
    const after = await h.call('deployment-status', { taskId });
    expect(after.structuredContent.status).toBe('rolled-back');
    const journal = await h.srv.deployments!.renderJournal(taskId);
    expect(journal).toMatch(/rolled-back/);
    expect(journal).toContain('Rollback approved');
    // Nothing more runs on a rolled-back task, rollback included.
    const again = await h.call('rollback', { taskId, reason: 'Try to roll back a second time.' });
    expect(again.structuredContent).toMatchObject({ refused: true, reason: 'phase' });
  });
});
