/**
 * Phase 7 and the rollback itself, against moto through an MCP client: the generated procedure
 * (rollback.md, a rollback.sh that bash accepts and that really restores), the rehearsal, S3
 * object versions restored, and every way of running a rollback without a human's confirmation
 * failing: agent-only calls, replays, foreign request ids, extra arguments, expiry, forged
 * approvals, rejections.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { canonicalJson } from '../src/state/event-log.js';
import { decideRollback } from '../src/deploy/rollback-approval.js';
import { createHash } from 'node:crypto';
import { awsTestEnv, motoEndpoint, queueLambdaResults, uniqueName } from './helpers/aws-fixtures.js';
import { startFaultProxy, type FaultProxy } from './helpers/fault-proxy.js';
import { forcePhase, readEvents, type Harness } from './helpers/mcp.js';
import { underTty } from './helpers/tty.js';
import { HANDLER_V2, aliasOf, lambdaClient, liveFunction, objectText, taskIn, versionedObject, writeTree } from './helpers/deploy-fixtures.js';
import * as lambdasdk from '@aws-sdk/client-lambda';

const REGION = 'ca-central-1';
const CLI = path.resolve(__dirname, '../dist/src/cli.js');

const harnesses: Harness[] = [];
afterEach(async () => {
  while (harnesses.length) await harnesses.pop()!.close();
});

interface Deployed {
  h: Harness;
  taskId: number;
  fn: string;
  bucket: string;
  key: string;
  /** The object version before the task. */
  v0: string;
  /** The object version the task uploaded. */
  v1: string;
}

/** A task that deployed a function (1 → 2) and overwrote an object (v0 → v1), now in `phase`. */
async function deployedIn(phase: number, harness: Parameters<typeof taskIn>[0]['harness'] = {}, opts: { schedule?: boolean } = {}): Promise<Deployed> {
  const fn = await liveFunction(REGION);
  const bucket = uniqueName('rollback');
  const key = 'jobs/load.py';
  const v0 = await versionedObject(bucket, key, 'print("load v1")\n');
  const { h, taskId } = await taskIn({ region: REGION, components: [fn, 'jobs'], harness });
  harnesses.push(h);
  writeTree(h.root, 'build/fn', HANDLER_V2);
  writeTree(h.root, 'dist/jobs', { 'load.py': 'print("load v2")\n' });
  const up = await h.call('upload-artifacts', { bucket, prefix: 'jobs', paths: ['dist/jobs'], component: 'jobs' });
  expect(up.isError, JSON.stringify(up.structuredContent)).toBeFalsy();
  const dep = await h.call('deploy-lambda', { function: fn, directory: 'build/fn', alias: 'live' });
  expect(dep.structuredContent).toMatchObject({ previousVersion: '1', newVersion: '2' });
  if (opts.schedule) expect((await h.call('configure-schedule', { function: fn, schedule: 'rate(1 hour)' })).isError).toBeFalsy();
  await forcePhase(h.srv, taskId, phase);
  return { h, taskId, fn, bucket, key, v0, v1: up.structuredContent.objects[0].versionId };
}

/** Nothing was restored: alias still on the deployed version, object still the uploaded one. */
async function expectUntouched(d: Deployed) {
  expect(await aliasOf(REGION, d.fn)).toEqual({ version: '2', weights: {} });
  expect(await objectText(d.bucket, d.key)).toEqual({ text: 'print("load v2")\n', versionId: d.v1 });
  const types = readEvents(d.h.root, d.taskId).map((e) => e.type);
  expect(types).not.toContain('rollback.started');
}

describe('plan-rollback', () => {
  it('writes rollback.md with the exact commands and an executable rollback.sh that bash accepts', async () => {
    const d = await deployedIn(7, {}, { schedule: true });
    const r = await d.h.call('plan-rollback');
    expect(r.isError, JSON.stringify(r.structuredContent)).toBeFalsy();
    const o = r.structuredContent;
    expect(o.path).toBe(path.join(d.h.root, '.deploy-mcp', 'tasks', String(d.taskId), 'rollback.md'));
    expect(o.steps).toEqual([
      expect.objectContaining({ order: 1, kind: 'lambda-alias', component: d.fn, restore: '1', current: '2', checked: true, source: 'deploy-lambda' }),
      expect.objectContaining({ order: 2, kind: 's3-object', component: 'jobs', restore: d.v0, current: d.v1, checked: true, source: 'upload-artifacts' }),
    ]);
    expect(o.steps[0].commands).toEqual([`aws lambda update-alias --function-name ${d.fn} --name live --function-version 1 --routing-config '{"AdditionalVersionWeights":{}}' --region ${REGION}`]);
    expect(o.steps[1].commands).toEqual([`aws s3api copy-object --bucket ${d.bucket} --key jobs/load.py --copy-source '${d.bucket}/jobs/load.py?versionId=${encodeURIComponent(d.v0)}' --region ${REGION}`]);
    expect(o.manual.map((m: any) => m.title)).toEqual([expect.stringMatching(/^schedule .*: created by this task$/)]);

    const md = fs.readFileSync(o.path, 'utf8');
    expect(md).toContain(`# Rollback procedure — task #${d.taskId}`);
    for (const s of o.steps) for (const c of s.commands) expect(md).toContain(c);
    expect(md).toContain('aws events delete-rule');
    expect(md).toContain('## Data recovery (S3)');

    const sh = fs.statSync(o.scriptPath);
    expect(sh.mode & 0o111).not.toBe(0);
    const syntax = spawnSync('bash', ['-n', o.scriptPath], { encoding: 'utf8' });
    expect(syntax.status, syntax.stderr).toBe(0);
    const script = fs.readFileSync(o.scriptPath, 'utf8');
    expect(script.startsWith('#!/usr/bin/env bash\n')).toBe(true);
    expect(script).toContain(o.steps[0].commands[0]);

    // Without --yes the script asks, and with anything but "rollback" it changes nothing.
    const declined = spawnSync('bash', [o.scriptPath], { input: 'no\n', encoding: 'utf8', env: { ...process.env, ...awsTestEnv(motoEndpoint()) } });
    expect(declined.status).not.toBe(0);
    expect(declined.stderr).toContain('nothing was changed');

    const status = await d.h.call('deployment-status');
    expect(status.structuredContent.criteria.find((c: any) => c.id === 'rollback-planned')).toMatchObject({ met: true });
    expect(await d.h.srv.deployments!.renderJournal(d.taskId)).toContain('Rollback procedure: 2 step(s), 1 manual step(s)');
    await expectUntouched(d);
  });

  const awsCli = spawnSync('aws', ['--version'], { encoding: 'utf8' }).status === 0;
  it.skipIf(!awsCli)('rollback.sh really restores the alias and the object (AWS CLI against moto)', async () => {
    const d = await deployedIn(7);
    const r = await d.h.call('plan-rollback');
    const run = spawnSync('bash', [r.structuredContent.scriptPath, '--yes'], {
      encoding: 'utf8',
      env: { ...process.env, ...awsTestEnv(motoEndpoint()), AWS_DEFAULT_REGION: REGION, AWS_PAGER: '' },
      timeout: 120_000,
    });
    expect(run.status, `${run.stdout}\n${run.stderr}`).toBe(0);
    expect(run.stdout).toContain('All 2 step(s) verified');
    expect(await aliasOf(REGION, d.fn)).toEqual({ version: '1', weights: {} });
    expect((await objectText(d.bucket, d.key)).text).toBe('print("load v1")\n');
  }, 180_000);

  it('uses the phase-2 backups when present, and ignores a backup file that no longer matches its manifest', async () => {
    const d = await deployedIn(7);
    const taskDir = path.join(d.h.root, '.deploy-mcp', 'tasks', String(d.taskId));
    const snapshot = (doc: unknown) => `${JSON.stringify(doc, null, 2)}\n`;
    const fnDoc = snapshot({ format: 'deploy-mcp.backup/1', type: 'lambda-function', name: d.fn, restore: { functionName: d.fn, aliases: { live: { functionVersion: '1', routingWeights: {} } } } });
    const bucketDoc = snapshot({ format: 'deploy-mcp.backup/1', type: 's3-bucket', name: d.bucket, bucket: d.bucket, objects: { captured: true, restorable: true, items: [{ key: d.key, versionId: d.v0 }] } });
    const files = [
      { path: `backups/lambda-function-${d.fn}.json`, content: fnDoc, type: 'lambda-function', name: d.fn },
      { path: `backups/s3-bucket-${d.bucket}.json`, content: bucketDoc, type: 's3-bucket', name: d.bucket },
    ];
    for (const f of files) await d.h.srv.store!.writeFile(d.taskId, f.path, f.content);
    const manifest = { files: files.map((f) => ({ path: f.path, sha256: createHash('sha256').update(f.content).digest('hex'), bytes: f.content.length, type: f.type, name: f.name })), skipped: [] };
    await d.h.srv.store!.writeFile(d.taskId, 'backups/manifest.json', JSON.stringify(manifest));

    const r = await d.h.call('plan-rollback');
    expect(r.structuredContent.backupsUsed).toBe(2);
    const md = fs.readFileSync(r.structuredContent.path, 'utf8');
    expect(md).toContain(`backups/lambda-function-${d.fn}.json`);
    expect(r.structuredContent.notes).toEqual([]);

    // The backup disagrees with what deploy-lambda recorded: the recorded version wins, and the plan says so.
    const otherDoc = fnDoc.replace('"functionVersion": "1"', '"functionVersion": "7"');
    fs.writeFileSync(path.join(taskDir, files[0].path), otherDoc);
    manifest.files[0].sha256 = createHash('sha256').update(otherDoc).digest('hex');
    await d.h.srv.store!.writeFile(d.taskId, 'backups/manifest.json', JSON.stringify(manifest));
    const disagree = await d.h.call('plan-rollback');
    expect(disagree.structuredContent.steps[0].restore).toBe('1');
    expect(disagree.structuredContent.notes.join(' ')).toContain('the phase-2 backup recorded version 7');

    // Edited after the manifest was written: not used.
    fs.appendFileSync(path.join(taskDir, files[1].path), ' ');
    const tampered = await d.h.call('plan-rollback');
    expect(tampered.structuredContent.backupsUsed).toBe(1);
    expect(tampered.structuredContent.notes.join(' ')).toContain('does not match the sha256 in the manifest');
  });
});

describe('test-rollback', () => {
  it('rehearses: back to the previous version and verified, duration recorded, forward again', async () => {
    const d = await deployedIn(7);
    const r = await d.h.call('test-rollback', { payload: { ping: 'rehearsal' }, expectJson: { ping: 'rehearsal' } });
    expect(r.isError, JSON.stringify(r.structuredContent)).toBeFalsy();
    const o = r.structuredContent;
    expect(o).toMatchObject({ passed: true, restoredVersion: '1', rolledForwardVersion: '2' });
    expect(typeof o.durationMs).toBe('number');
    expect(o.functions[0].steps.map((s: any) => [s.name, s.passed])).toEqual([
      ['rollback', true],
      ['smoke-previous', true],
      ['roll-forward', true],
      ['smoke-deployed', true],
    ]);
    expect(o.objects).toEqual([expect.objectContaining({ versionId: d.v0, exists: true })]);
    expect(o.leftOn).toEqual([expect.objectContaining({ function: d.fn, asDeployed: true })]);
    await expectUntouched(d);
    const status = await d.h.call('deployment-status');
    expect(status.structuredContent.criteria.map((c: any) => [c.id, c.met])).toEqual([
      ['rollback-planned', false],
      ['rollback-rehearsed', true],
    ]);
  });

  it('a failing smoke check fails the rehearsal but still leaves the alias as deployed', async () => {
    const d = await deployedIn(7);
    await queueLambdaResults(motoEndpoint(), [{ healthy: false }], { region: REGION });
    const r = await d.h.call('test-rollback', { expectJson: { healthy: true } });
    expect(r.structuredContent).toMatchObject({ passed: false, leftOn: [{ asDeployed: true }] });
    expect(r.structuredContent.functions[0].steps.find((s: any) => s.name === 'smoke-previous')).toMatchObject({ passed: false });
    expect(await aliasOf(REGION, d.fn)).toEqual({ version: '2', weights: {} });
    const status = await d.h.call('deployment-status');
    expect(status.structuredContent.criteria.find((c: any) => c.id === 'rollback-rehearsed')).toMatchObject({ met: false });
  });

  it('refuses to rehearse when the alias is not where the task left it', async () => {
    const d = await deployedIn(7);
    await lambdaClient(REGION).send(new lambdasdk.UpdateAliasCommand({ FunctionName: d.fn, Name: 'live', FunctionVersion: '2', RoutingConfig: { AdditionalVersionWeights: { '1': 0.3 } } }));
    const r = await d.h.call('test-rollback');
    expect(r.structuredContent).toMatchObject({ error: 'alias-drifted' });
    expect(await aliasOf(REGION, d.fn)).toEqual({ version: '2', weights: { '1': 0.3 } });
  });
});

describe('rollback needs a human', () => {
  it('agent-only calls stay pending however often they are repeated, and change nothing', async () => {
    const d = await deployedIn(5);
    // A pending transition and unmet criteria do not block the rollback.
    const transition = await d.h.call('request-transition', { summary: 'Validation incomplete, asking anyway.', override: { reason: 'Testing that rollback is not blocked.' } });
    expect(transition.structuredContent.status).toBe('pending');

    const first = await d.h.call('rollback', { reason: 'Error rate doubled after release 2.' });
    expect(first.isError, JSON.stringify(first.structuredContent)).toBeFalsy();
    expect(first.structuredContent).toMatchObject({ status: 'pending', restored: [] });
    expect(first.structuredContent.requestId).toMatch(/^rb-[0-9a-f]{12}$/);
    expect(first.structuredContent.instructions).toContain(`npx deploy-mcp approve ${d.taskId}`);
    expect(first.structuredContent.plan).toEqual([`${d.fn}:live → version 1 (from 2), routing cleared`, `s3://${d.bucket}/${d.key} → version ${d.v0} (from ${d.v1})`]);
    const requestId = first.structuredContent.requestId;
    for (let i = 0; i < 3; i++) {
      const again = await d.h.call('rollback', { reason: 'Error rate doubled after release 2.' });
      expect(again.structuredContent).toMatchObject({ status: 'pending', requestId });
      const poll = await d.h.call('rollback', { reason: 'Error rate doubled after release 2.', requestId });
      expect(poll.structuredContent).toMatchObject({ status: 'pending', requestId });
    }
    const events = readEvents(d.h.root, d.taskId);
    expect(events.filter((e) => e.type === 'rollback.requested')).toHaveLength(1);
    expect(events.some((e) => e.type === 'rollback.approved')).toBe(false);
    await expectUntouched(d);

    // Once the human approves, it runs — with the transition still pending and criteria unmet.
    await decideRollback(d.h.srv.deployments!, d.taskId, requestId, { approve: true, channel: 'terminal', approver: 'alice@host' });
    const run = await d.h.call('rollback', { reason: 'Error rate doubled after release 2.', requestId });
    expect(run.structuredContent).toMatchObject({ status: 'rolled-back', failedCount: 0 });
    expect(await aliasOf(REGION, d.fn)).toEqual({ version: '1', weights: {} });
  });

  it('extra arguments cannot approve it', async () => {
    const d = await deployedIn(6);
    const { structuredContent: req } = await d.h.call('rollback', { reason: 'Alarm fired on the error rate.' });
    for (const extra of [{ approved: true }, { approve: true }, { approver: 'alice@host', channel: 'terminal' }, { confirmed: true }, { force: true }, { decision: { approve: true } }]) {
      const r = await d.h.call('rollback', { reason: 'Alarm fired on the error rate.', requestId: req.requestId, ...extra });
      expect(r.isError, `accepted ${JSON.stringify(extra)}`).toBe(true);
    }
    const transitionId = await d.h.call('rollback', { reason: 'Alarm fired on the error rate.', requestId: 'tr-000000000001' });
    expect(transitionId.isError).toBe(true);
    await expectUntouched(d);
  });

  it('a forged approval (not from a human channel) never runs', async () => {
    const d = await deployedIn(5);
    const { structuredContent: req } = await d.h.call('rollback', { reason: 'Latency regression after release.' });
    const request = (await d.h.srv.deployments!.state(d.taskId)).rollbackRequests.get(req.requestId)!;
    await d.h.srv.store!.append(d.taskId, { type: 'rollback.approved', data: { requestId: req.requestId, channel: 'agent', approver: 'the agent', planHash: request.planHash } });
    const r = await d.h.call('rollback', { reason: 'Latency regression after release.', requestId: req.requestId });
    expect(r.structuredContent).toMatchObject({ error: 'not-approved' });
    await expectUntouched(d);
  });

  it("another task's request id does not run here", async () => {
    const a = await deployedIn(5);
    const { structuredContent: reqA } = await a.h.call('rollback', { reason: 'Release of task A is broken.' });
    await decideRollback(a.h.srv.deployments!, a.taskId, reqA.requestId, { approve: true, channel: 'terminal', approver: 'alice@host' });
    // Task B lives in the same project.
    const started = await a.h.call('start-deployment', { title: 'Other', environment: 'staging', component: uniqueName('other') });
    const taskB = started.structuredContent.taskId;
    await forcePhase(a.h.srv, taskB, 5);
    const r = await a.h.call('rollback', { taskId: taskB, reason: 'Reusing the approval of task A.', requestId: reqA.requestId });
    expect(r.structuredContent).toMatchObject({ error: 'unknown-request' });
    const made = await a.h.call('rollback', { taskId: taskB, reason: 'Made-up request id.', requestId: 'rb-0123456789ab' });
    expect(made.structuredContent).toMatchObject({ error: 'unknown-request' });
    await expectUntouched(a);
    // Task A's approved request is still intact and runs on task A.
    const ok = await a.h.call('rollback', { taskId: a.taskId, reason: 'Release of task A is broken.', requestId: reqA.requestId });
    expect(ok.structuredContent.status).toBe('rolled-back');
  });

  it('an expired request is never run, approved in time or not', async () => {
    let now = new Date();
    const d = await deployedIn(5, { now: () => now });
    const { structuredContent: late } = await d.h.call('rollback', { reason: 'Consumer lag is growing.' });
    expect(new Date(late.expiresAt).getTime() - now.getTime()).toBe(24 * 3600 * 1000);
    now = new Date(now.getTime() + 25 * 3600 * 1000);
    const decided = await decideRollback(d.h.srv.deployments!, d.taskId, late.requestId, { approve: true, channel: 'terminal', approver: 'alice@host' });
    expect(decided.outcome).toBe('expired');
    const r1 = await d.h.call('rollback', { reason: 'Consumer lag is growing.', requestId: late.requestId });
    expect(r1.structuredContent).toMatchObject({ error: 'request-expired' });

    // Approved in time, but run after expiry.
    const { structuredContent: fresh } = await d.h.call('rollback', { reason: 'Consumer lag is still growing.' });
    expect(fresh.requestId).not.toBe(late.requestId);
    now = new Date(now.getTime() + 3600 * 1000);
    expect((await decideRollback(d.h.srv.deployments!, d.taskId, fresh.requestId, { approve: true, channel: 'terminal', approver: 'alice@host' })).outcome).toBe('approved');
    now = new Date(now.getTime() + 24 * 3600 * 1000);
    const r2 = await d.h.call('rollback', { reason: 'Consumer lag is still growing.', requestId: fresh.requestId });
    expect(r2.structuredContent).toMatchObject({ error: 'request-expired' });
    expect(readEvents(d.h.root, d.taskId).filter((e) => e.type === 'rollback.voided').map((e) => e.data.reason)).toEqual(['expired', 'expired']);
    await expectUntouched(d);
  });

  it('a rejection (terminal or form) is final for that request', async () => {
    const d = await deployedIn(5, { elicit: () => ({ action: 'decline' }) });
    const declined = await d.h.call('rollback', { reason: 'Dashboards look odd after release.' });
    expect(declined.structuredContent).toMatchObject({ status: 'rejected' });
    expect(readEvents(d.h.root, d.taskId).find((e) => e.type === 'rollback.rejected').data).toMatchObject({ channel: 'elicitation', reason: 'declined' });
    const poll = await d.h.call('rollback', { reason: 'Dashboards look odd after release.', requestId: declined.structuredContent.requestId });
    expect(poll.structuredContent).toMatchObject({ status: 'rejected' });
    // Approving it afterwards changes nothing.
    const late = await decideRollback(d.h.srv.deployments!, d.taskId, declined.structuredContent.requestId, { approve: true, channel: 'terminal', approver: 'alice@host' });
    expect(late.outcome).toBe('not-pending');
    expect((await d.h.call('rollback', { reason: 'Dashboards look odd after release.', requestId: declined.structuredContent.requestId })).structuredContent.status).toBe('rejected');
    await expectUntouched(d);
  });

  describe('a request runs at most once', () => {
    let proxy: FaultProxy;
    beforeAll(async () => {
      proxy = await startFaultProxy(motoEndpoint());
    });
    afterAll(async () => proxy?.close());

    it('a replayed request id is refused even when the first run failed part-way', async () => {
      const d = await deployedIn(6, { awsEndpoint: proxy.url, awsMaxAttempts: 1 });
      const { structuredContent: req } = await d.h.call('rollback', { reason: 'Error alarm in ALARM since release 2.' });
      await decideRollback(d.h.srv.deployments!, d.taskId, req.requestId, { approve: true, channel: 'terminal', approver: 'alice@host', comment: 'go' });
      // The object copy is denied: the alias is restored, the object is not.
      proxy.addRule({ match: (q) => q.service === 's3' && q.method === 'PUT' && !!q.headers['x-amz-copy-source'], fault: { kind: 'access-denied' } });
      const first = await d.h.call('rollback', { reason: 'Error alarm in ALARM since release 2.', requestId: req.requestId });
      proxy.clearRules();
      expect(first.structuredContent).toMatchObject({ status: 'failed', failedCount: 1, approval: { channel: 'terminal', approver: 'alice@host', comment: 'go' } });
      expect(first.structuredContent.restored.find((x: any) => x.kind === 's3-object').detail).toContain('s3:PutObject');
      expect(await aliasOf(REGION, d.fn)).toEqual({ version: '1', weights: {} });
      const status = await d.h.call('deployment-status', { taskId: d.taskId });
      expect(status.structuredContent.status).toBe('active');

      // Someone moves the alias forward again; a replay of the consumed request must not touch it.
      await lambdaClient(REGION).send(new lambdasdk.UpdateAliasCommand({ FunctionName: d.fn, Name: 'live', FunctionVersion: '2' }));
      const before = proxy.requests.length;
      const replay = await d.h.call('rollback', { reason: 'Error alarm in ALARM since release 2.', requestId: req.requestId });
      expect(replay.structuredContent).toMatchObject({ error: 'request-used' });
      expect(proxy.requests.slice(before).filter((q) => q.service !== 'sts')).toEqual([]);
      expect(await aliasOf(REGION, d.fn)).toEqual({ version: '2', weights: {} });
    });
  });

  it('restores only the components asked for', async () => {
    const d = await deployedIn(5, { elicit: () => ({ action: 'accept', content: { approve: true } }) });
    const unknown = await d.h.call('rollback', { reason: 'Only the function is broken.', components: ['nope'] });
    expect(unknown.structuredContent).toMatchObject({ error: 'unknown-component' });
    const r = await d.h.call('rollback', { reason: 'Only the function is broken.', components: [d.fn] });
    expect(r.structuredContent).toMatchObject({ status: 'rolled-back', plan: [`${d.fn}:live → version 1 (from 2), routing cleared`] });
    expect(await aliasOf(REGION, d.fn)).toEqual({ version: '1', weights: {} });
    expect(await objectText(d.bucket, d.key)).toEqual({ text: 'print("load v2")\n', versionId: d.v1 });
  });
});

describe('terminal channel: deploy-mcp approve / reject', () => {
  beforeAll(() => {
    expect(fs.existsSync(CLI), 'run `npm run build` first (npm test does)').toBe(true);
    expect(fs.readFileSync(path.resolve(__dirname, '../dist/src/cli/approve.js'), 'utf8'), 'dist/ is older than src/: run `npm run build`').toContain('decideRollbackInTerminal');
  });

  it('shows the restore plan, needs a TTY and the typed phrase; the agent then runs the approved request once', async () => {
    const d = await deployedIn(8);
    const { structuredContent: req } = await d.h.call('rollback', { reason: 'Post-release report shows data loss in jobs.' });
    expect(req.status).toBe('pending');

    const noTty = spawnSync(process.execPath, [CLI, 'approve', String(d.taskId), '--project', d.h.root], { input: 'approve rollback\n', encoding: 'utf8' });
    expect(noTty.status).toBe(2);
    expect(noTty.stderr).toMatch(/interactive terminal/);

    const wrong = await underTty(d.h.root, `approve ${d.taskId}`, 'approve 8\n');
    expect(wrong.output).toContain(`${d.fn}:live → version 1 (from 2), routing cleared`);
    expect(wrong.output).toContain(`s3://${d.bucket}/${d.key} → version ${d.v0}`);
    expect(wrong.output).toContain('Post-release report shows data loss in jobs.');
    expect(wrong.output).toContain('rollback request is still pending');
    expect(readEvents(d.h.root, d.taskId).some((e) => e.type === 'rollback.approved')).toBe(false);
    const stillPending = await d.h.call('rollback', { reason: 'Post-release report shows data loss in jobs.', requestId: req.requestId });
    expect(stillPending.structuredContent.status).toBe('pending');

    const ok = await underTty(d.h.root, `approve ${d.taskId}`, 'approve rollback\nconfirmed with the data team\n');
    expect(ok.code, ok.output).toBe(0);
    expect(ok.output).toContain('approved by');
    const approved = readEvents(d.h.root, d.taskId).find((e) => e.type === 'rollback.approved');
    expect(approved.data).toMatchObject({ requestId: req.requestId, channel: 'terminal', comment: 'confirmed with the data team' });
    expect(approved.data.approver).toMatch(/.+@.+/);

    const run = await d.h.call('rollback', { reason: 'Post-release report shows data loss in jobs.', requestId: req.requestId });
    expect(run.structuredContent).toMatchObject({ status: 'rolled-back', failedCount: 0, approval: { channel: 'terminal', comment: 'confirmed with the data team' } });
    // S3 object versions restored: the old bytes are current again, as a new version.
    const obj = await objectText(d.bucket, d.key);
    expect(obj.text).toBe('print("load v1")\n');
    expect([d.v0, d.v1]).not.toContain(obj.versionId);
    expect(await aliasOf(REGION, d.fn)).toEqual({ version: '1', weights: {} });
    const state = await d.h.srv.deployments!.state(d.taskId);
    expect(state.status).toBe('rolled-back');
    expect(state.endReason).toBe('Post-release report shows data loss in jobs.');
    expect(canonicalJson(state.rollbackRequests.get(req.requestId)!.status)).toBe('"executed"');
  }, 60_000);

  it('reject records the reason, and the request can no longer run', async () => {
    const d = await deployedIn(6);
    const { structuredContent: req } = await d.h.call('rollback', { reason: 'Throttling alarm after the release.' });
    const noReason = await underTty(d.h.root, `reject ${d.taskId}`, 'reject rollback\n\n');
    expect(noReason.output).toContain('A rejection needs a reason');
    const r = await underTty(d.h.root, `reject ${d.taskId}`, 'reject rollback\nthrottling is upstream, not this release\n');
    expect(r.code, r.output).toBe(0);
    expect(readEvents(d.h.root, d.taskId).find((e) => e.type === 'rollback.rejected').data).toMatchObject({ channel: 'terminal', comment: 'throttling is upstream, not this release' });
    const after = await d.h.call('rollback', { reason: 'Throttling alarm after the release.', requestId: req.requestId });
    expect(after.structuredContent).toMatchObject({ status: 'rejected' });
    await expectUntouched(d);
  }, 60_000);
});
