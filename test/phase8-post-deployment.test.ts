/**
 * Phase 8 end to end through an MCP client: a task recorded through all eight phases (real
 * tools where they are this issue's, recorded evidence for the others), then the report, the
 * release tag pushed to a bare origin, the archive to S3 verified by hash, stakeholder
 * notifications, and the final approval that completes the task.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { CreateLogStreamCommand, PutLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { CreateTopicCommand, SNSClient } from '@aws-sdk/client-sns';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BASE_CONFIG, readEvents, startHarness, type Harness } from './helpers/mcp.js';
import { createBucket, createFunction, createLogGroup, createRole, fixtureClients, motoEndpoint, setAlarmState, uniqueName } from './helpers/aws-fixtures.js';
import { startFaultProxy, type FaultProxy } from './helpers/fault-proxy.js';
import { advance, criteria, recordDeployments, recordOutcome, taskInPhase } from './helpers/phase-fixtures.js';
import { REPORT_SECTIONS } from '../src/report/report.js';

const sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');

function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', ['-c', 'user.name=Test', '-c', 'user.email=test@example.com', '-c', 'init.defaultBranch=main', ...args], { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

/** A git repository in `root` with one commit on main, and a bare repository as its origin. */
function initRepo(root: string, withOrigin = true): { main: string; origin?: string } {
  git(root, 'init', '-q');
  fs.writeFileSync(path.join(root, '.gitignore'), '.deploy-mcp/\n');
  fs.writeFileSync(path.join(root, 'handler.js'), 'exports.handler = async () => ({ ok: true });\n');
  git(root, 'add', '.');
  git(root, 'commit', '-q', '-m', 'initial');
  const main = git(root, 'rev-parse', 'HEAD');
  if (!withOrigin) return { main };
  const origin = fs.mkdtempSync(path.join(os.tmpdir(), 'deploy-mcp-origin-'));
  git(origin, 'init', '-q', '--bare');
  git(root, 'remote', 'add', 'origin', origin);
  return { main, origin };
}

async function createTopic(name: string): Promise<string> {
  const sns = new SNSClient({ endpoint: motoEndpoint(), region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
  return (await sns.send(new CreateTopicCommand({ Name: name }))).TopicArn!;
}

interface Capture {
  url: string;
  received: { path: string; body: any }[];
  status: number;
  close(): Promise<void>;
}

async function captureServer(): Promise<Capture> {
  const received: { path: string; body: any }[] = [];
  const capture = { received, status: 200 } as Capture;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString();
      if (req.method === 'POST') received.push({ path: req.url ?? '', body: text ? JSON.parse(text) : null });
      // Slow endpoints for the performance measurement answer after a short while.
      setTimeout(() => res.writeHead(req.method === 'POST' ? capture.status : 200).end('ok'), req.method === 'POST' ? 0 : 5);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  capture.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  capture.close = () => new Promise<void>((resolve) => server.close(() => resolve()));
  return capture;
}

/** Checks what a Mermaid parser would choke on, block by block. */
function checkGantt(block: string, phases: number): void {
  const lines = block.split('\n');
  expect(lines[0]).toBe('gantt');
  expect(lines).toContain('    dateFormat YYYY-MM-DD HH:mm:ss');
  expect(lines.some((l) => /^ {4}title [^:;#]+$/.test(l))).toBe(true);
  expect(lines.some((l) => /^ {4}axisFormat \S+/.test(l))).toBe(true);
  const ids = new Set<string>();
  let tasks = 0;
  for (const line of lines.slice(1)) {
    if (/^ {4}(title|dateFormat|axisFormat) /.test(line) || /^ {4}section [^:;#]+$/.test(line)) continue;
    const m = /^ {4}([^:;#]+?) :((?:done|active|crit|milestone)(?:, (?:done|active|crit|milestone))*), ([a-z][a-z0-9]*), (\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}), (\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}|\d+[smhdw])$/.exec(line);
    expect(m, `not a gantt task line: ${line}`).not.toBeNull();
    expect(ids.has(m![3]), `duplicate id ${m![3]}`).toBe(false);
    ids.add(m![3]);
    if (/\d{4}-/.test(m![5])) expect(m![5] >= m![4], line).toBe(true);
    if (m![3].startsWith('p')) tasks += 1;
  }
  expect(tasks).toBe(phases);
}

function checkFlowchart(block: string): void {
  const lines = block.split('\n');
  expect(lines[0]).toBe('flowchart LR');
  const nodes = new Set<string>();
  const node = /^ {4}([a-z]+\d+)(\[|\(\[|\[\/|\[\(|\{\{|>|\[\[|\()"([^"]*)"(\]|\]\)|\/\]|\)\]|\}\}|\]\]|\))$/;
  const edge = /^ {4}([a-z]+\d+) (-->|-\.->)(?:\|([^|"]+)\|)? ([a-z]+\d+)$/;
  for (const line of lines.slice(1)) {
    const n = node.exec(line);
    if (n) {
      nodes.add(n[1]);
      continue;
    }
    const e = edge.exec(line);
    expect(e, `not a flowchart node or edge: ${line}`).not.toBeNull();
    expect(nodes.has(e![1]) && nodes.has(e![4]), `edge to an undefined node: ${line}`).toBe(true);
  }
  expect(nodes.size).toBeGreaterThan(3);
}

function mermaidBlocks(markdown: string): string[] {
  return [...markdown.matchAll(/```mermaid\n([\s\S]*?)\n```/g)].map((m) => m[1]);
}

describe('phase 8 on a fully recorded task', () => {
  const fn = uniqueName('orders-api');
  const bucket = uniqueName('orders-data');
  const archiveBucket = uniqueName('release-archive');
  const webhookPath = '/hooks/T0KEN-9a8b7c6d5e4f';
  let web: Capture;
  let topicArn: string;
  let h: Harness;
  let taskId: number;
  let branch: string;
  let repo: { main: string; origin?: string };
  let report: string;
  let reportResult: any;

  beforeAll(async () => {
    web = await captureServer();
    topicArn = await createTopic(uniqueName('releases'));
    const roleArn = await createRole(uniqueName('orders-role'), 'lambda.amazonaws.com', { managedPolicyArns: ['arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole'] });
    await createFunction({ name: fn, roleArn, timeout: 5 });
    await createLogGroup({ name: `/aws/lambda/${fn}`, retentionInDays: 30 });
    await createBucket({ name: bucket, encryption: 'AES256', publicAccessBlock: true });
    await createBucket({ name: archiveBucket, versioning: 'Enabled' });
    const config = {
      ...BASE_CONFIG,
      resources: [{ type: 's3-bucket', name: bucket, expect: { encryption: 'AES256' } }],
      performance: { p95Ms: 2000, maxErrorRate: 0.05 },
      budgetUsd: 100,
      notify: { snsTopicArn: topicArn, webhookUrl: `${web.url}${webhookPath}` },
      contacts: [{ name: 'Dana Ops', role: 'on-call', email: 'dana@example.com' }],
    };
    h = await startHarness({ config, elicit: () => ({ action: 'accept', content: { approve: true, comment: 'ship it' } }) });
    repo = initRepo(h.root);
    const started = await h.call('start-deployment', { title: 'Orders API v2', environment: 'staging', component: 'orders' });
    taskId = started.structuredContent.taskId;
    branch = started.structuredContent.branch;

    // Phase 1: real tools.
    expect((await h.call('verify-credentials')).structuredContent.pinned).toBe(true);
    expect((await h.call('list-resources', { types: ['s3-bucket'] })).isError).toBeFalsy();
    expect((await h.call('record-plan', { components: [fn], order: [fn], infrastructureChanges: ['none'], rollbackStrategy: 'Point the live alias back at the previous version.', expectedDowntime: 'none' })).isError).toBeFalsy();
    await advance(h, taskId, { approver: 'alice@laptop', comment: 'plan looks right' });

    // Phase 2: the deployment branch with its release commit (evidence of other tools recorded).
    git(h.root, 'checkout', '-q', '-b', branch);
    fs.writeFileSync(path.join(h.root, 'handler.js'), 'exports.handler = async () => ({ ok: true, v: 2 });\n');
    git(h.root, 'commit', '-q', '-am', 'orders v2');
    await recordOutcome(h, taskId, 'create-branch', 2, {}, { branch, created: true, pushed: false, baseCommit: repo.main, head: repo.main, fromBranch: 'main' });
    await recordOutcome(h, taskId, 'run-checks', 2, {}, { results: [{ name: 'test', command: 'node -e 0', exitCode: 0, passed: true, durationMs: 800 }], allPassed: true });
    await recordOutcome(h, taskId, 'check-config', 2, {}, { findings: [], clean: true });
    await recordOutcome(h, taskId, 'backup-state', 2, {}, { backups: [] });
    await advance(h, taskId, { approver: 'alice@laptop' });

    // Phase 3: a failure, fixed; a rejected request, then approval.
    await recordOutcome(h, taskId, 'verify-infrastructure', 3, {}, null, { code: 'aws:AccessDenied', message: 'Missing permission s3:GetEncryptionConfiguration on the bucket', nextStep: 'add it to the deploy role' });
    await recordOutcome(h, taskId, 'verify-infrastructure', 3, {}, { results: [{ type: 's3-bucket', name: bucket, verified: true, discrepancies: [] }], verified: true, discrepancyCount: 0 });
    await advance(h, taskId, { approver: 'bob@desk', rejectedBy: { approver: 'bob@desk', comment: 'show me the encryption check first' } });

    // Phase 4: the deployment; a tool called too early is refused.
    await recordDeployments(h, taskId, [{ function: fn, alias: 'live', newVersion: '2', previousVersion: '1', codeSha256: 'q1w2e3r4t5y6u7i8o9p0a1s2d3f4g5h6j7k8l9z0x1c=' }]);
    await recordOutcome(h, taskId, 'smoke-test', 4, { targets: [{ kind: 'lambda', function: fn, qualifier: 'live' }] }, { results: [{ target: fn, passed: true }], allPassed: true });
    await recordOutcome(h, taskId, 'check-logs', 4, { logGroup: `/aws/lambda/${fn}` }, { errorCount: 0, samples: [], windowStart: new Date().toISOString() });
    expect((await h.call('tag-release')).structuredContent).toMatchObject({ refused: true, reason: 'phase' });
    await advance(h, taskId, { approver: 'carol', channel: 'elicitation' });

    // Phase 5: this issue's tools for real.
    await recordOutcome(h, taskId, 'run-checks', 5, { checks: ['integration'] }, { results: [{ name: 'integration', command: 'node -e 0', exitCode: 0, passed: true, durationMs: 2100 }], allPassed: true });
    const audit = await h.call('security-audit');
    expect(audit.structuredContent.highCount, JSON.stringify(audit.structuredContent.findings)).toBe(0);
    expect((await h.call('measure-performance', { target: { kind: 'http', url: `${web.url}/health` }, requests: 20, concurrency: 4 })).structuredContent.withinThresholds).toBe(true);
    expect((await h.call('cost-check')).isError).toBeFalsy();
    expect(Object.values(await criteria(h, taskId)).every(Boolean)).toBe(true);
    await advance(h, taskId, { approver: 'alice@laptop' });

    // Phase 6.
    const alarm = await h.call('create-alarm', { function: fn, preset: 'errors' });
    expect(alarm.isError, JSON.stringify(alarm.content)).toBeFalsy();
    expect((await h.call('create-dashboard')).isError).toBeFalsy();
    expect((await h.call('test-alarm', { alarmName: alarm.structuredContent.alarmName })).structuredContent.passed).toBe(true);
    expect((await h.call('write-runbook')).isError).toBeFalsy();
    expect(Object.values(await criteria(h, taskId)).every(Boolean)).toBe(true);
    await advance(h, taskId, { approver: 'alice@laptop' });

    // Phase 7 (other tools' evidence) and a learning.
    await recordOutcome(h, taskId, 'plan-rollback', 7, {}, { steps: ['update alias', 'smoke test', 'check alarms'], path: 'rollback-plan.md' });
    await recordOutcome(h, taskId, 'test-rollback', 7, {}, { passed: true, durationMs: 4200, restoredVersion: '1' });
    await h.call('write-journal', { activity: 'Cold starts', content: 'The first invocation after the alias shift took 1.9 s; warm up before measuring.', kind: 'learning' });
    await advance(h, taskId, { approver: 'alice@laptop' });

    // Since the deployment: two error lines in the logs and the errors alarm firing.
    const logs = fixtureClients().logs;
    await logs.send(new CreateLogStreamCommand({ logGroupName: `/aws/lambda/${fn}`, logStreamName: 'stream-1' }));
    const now = Date.now();
    await logs.send(
      new PutLogEventsCommand({
        logGroupName: `/aws/lambda/${fn}`,
        logStreamName: 'stream-1',
        logEvents: [
          { timestamp: now, message: 'START RequestId: 1' },
          { timestamp: now + 1, message: 'ERROR TypeError: cannot read properties of undefined' },
          { timestamp: now + 2, message: 'Task timed out after 5.00 seconds' },
        ],
      }),
    );
    await setAlarmState(alarm.structuredContent.alarmName, 'ALARM');

    reportResult = await h.call('generate-report');
    expect(reportResult.isError, JSON.stringify(reportResult.content)).toBeFalsy();
    report = fs.readFileSync(reportResult.structuredContent.path, 'utf8');
  });
  afterAll(async () => {
    await h?.close();
    await web?.close();
  });

  it('generate-report writes report.md with every section', () => {
    expect(reportResult.structuredContent.path).toBe(h.srv.store!.filePath(taskId, 'report.md'));
    expect(reportResult.structuredContent.sha256).toBe(sha256(report));
    expect(report.startsWith(`# Post-Deployment Report — Task #${taskId}: Orders API v2`)).toBe(true);
    const headings = [...report.matchAll(/^## (.+)$/gm)].map((m) => m[1]);
    expect(headings).toEqual([...REPORT_SECTIONS]);
    for (const section of REPORT_SECTIONS) {
      const body = report.split(`## ${section}\n`)[1].split('\n## ')[0].trim();
      expect(body.length, section).toBeGreaterThan(20);
    }
    expect(report).not.toMatch(/\{\{\w+\}\}/);
  });

  it('draws the phases as a Mermaid gantt with durations and approvers, and the resources as a flowchart', () => {
    const [gantt, flow] = mermaidBlocks(report);
    checkGantt(gantt, 8);
    expect(gantt).toContain('Phase 1 Pre-Deployment Analysis - ');
    expect(gantt).toContain('approved by alice@laptop via terminal');
    expect(gantt).toContain('approved by carol via elicitation');
    expect(gantt).toMatch(/Phase 8 Post-Deployment - \S+ - in progress :active, p8, /);
    expect(gantt).toContain('section Rejected requests');
    expect(gantt).toMatch(/Phase 3 exit rejected by bob@desk :milestone, r1, /);
    checkFlowchart(flow);
    expect(flow).toContain(`"Lambda ${fn} v2"`);
    expect(flow).toContain('"alias live → v2"');
    expect(flow).toMatch(/-->\|assumes\| role\d+/);
    expect(flow).toContain(`"log group /aws/lambda/${fn}"`);
    expect(flow).toContain(`"alarm demo-${fn}-errors"`);
    expect(flow).toMatch(/alarm\d+ -->\|notifies\| topic\d+/);
    expect(flow).toContain('"dashboard demo-staging-orders"');
  });

  it('covers what was deployed, issues and their resolution, validation, performance, cost, monitoring, approvals and learnings', () => {
    const section = (name: string) => report.split(`## ${name}\n`)[1].split('\n## ')[0];
    expect(section('What Was Deployed')).toMatch(new RegExp(`\\| \`${fn}\` \\| live \\| 2 \\| 1 \\| \`q1w2e3r4t5y6u7i8\` \\|`));
    const issues = section('Issues and Resolutions');
    expect(issues).toContain('`verify-infrastructure` failed: Missing permission s3:GetEncryptionConfiguration on the bucket — resolved: a later run succeeded');
    expect(issues).toMatch(/Refused tag-release \(phase\)/);
    expect(issues).toContain('rejected by bob@desk via terminal: "show me the encryption check first"');
    expect(issues).toContain('resolved: the phase was approved later');
    const validation = section('Validation Results');
    expect(validation).toMatch(/4 resource\(s\) audited — 0 high, \d+ medium/);
    expect(validation).toMatch(/\| integration \| `node -e 0` \| 0 \| ✔ \|/);
    expect(section('Performance')).toMatch(/\| GET http:\/\/127\.0\.0\.1:\d+\/health \| 20\/20 × 4 \| [\d.]+ ms \| [\d.]+ ms \| [\d.]+ ms \| 0\.00% \|/);
    expect(section('Performance')).toContain('p95 ≤ 2000 ms');
    expect(section('Cost')).toMatch(/\| Validation & Testing \| \d{4}-\d{2}-\d{2} → \d{4}-\d{2}-\d{2} \| (0 USD|unavailable) \|/);
    const monitoring = section('Monitoring Since Deployment');
    expect(monitoring).toMatch(new RegExp(`\\| \`demo-${fn}-errors\` \\| \\*\\*ALARM\\*\\* \\|`));
    expect(monitoring).toMatch(new RegExp(`\\| ${fn} \\| \`/aws/lambda/${fn}\` \\| 2 \\| 3 \\|`));
    expect(reportResult.structuredContent.monitoring.logErrors).toEqual([{ function: fn, logGroup: `/aws/lambda/${fn}`, errorCount: 2 }]);
    expect(section('Rollback Readiness')).toContain('passed in 4s (4200 ms), restored version 1');
    const approvals = section('Approvals');
    expect(approvals).toMatch(/\| 1 Pre-Deployment Analysis \| [^|]+ \| alice@laptop \| terminal \| plan looks right \|/);
    expect(approvals).toMatch(/\| 3 Infrastructure Deployment \| [^|]+ \| bob@desk \|/);
    expect(section('Key Learnings')).toContain('**Cold starts**: The first invocation after the alias shift took 1.9 s');
    const recs = section('Recommendations');
    expect(recs).toContain(`Alarm demo-${fn}-errors is in ALARM now`);
    expect(recs).toContain(`2 error line(s) in /aws/lambda/${fn} since the deployment`);
    expect(recs).toContain('The release is not tagged yet');
    expect(report).toContain(`| Deployed commit | \`${git(h.root, 'rev-parse', branch)}\` (head of the deployment branch) |`);
  });

  it('tag-release creates an annotated tag on the deployment branch head and pushes it to the bare origin; again is harmless', async () => {
    const head = git(h.root, 'rev-parse', branch);
    const r = await h.call('tag-release', { push: true });
    expect(r.isError, JSON.stringify(r.content)).toBeFalsy();
    const tag = `release/staging-orders-${new Date().toISOString().slice(0, 10)}-task${taskId}`;
    expect(r.structuredContent).toMatchObject({ tag, commit: head, commitSource: 'branch', branch, created: true, pushed: true, remote: repo.origin });
    expect(head).not.toBe(repo.main);
    expect(git(repo.origin!, 'cat-file', '-t', `refs/tags/${tag}`)).toBe('tag');
    expect(git(repo.origin!, 'rev-parse', `${tag}^{commit}`)).toBe(head);
    const message = git(h.root, 'tag', '-l', '--format=%(contents)', tag);
    expect(message).toContain(`Release of task #${taskId}: Orders API v2`);
    expect(message).toContain(`${fn} v2 (alias live), previously v1`);
    expect(message).toContain('phase 3 Infrastructure Deployment: bob@desk (terminal)');
    const again = await h.call('tag-release', { push: true });
    expect(again.structuredContent).toMatchObject({ tag, commit: head, created: false, pushed: true });
  });

  it('archive-artifacts copies journal, events, report, runbook and a config snapshot to S3 with a manifest, verified by hash', async () => {
    // What backup-state (phase 2) leaves in the task folder is archived too.
    await h.srv.store!.writeFile(taskId, 'backups/lambda-config.json', JSON.stringify({ FunctionName: fn, Version: '1' }));
    const r = await h.call('archive-artifacts', { destination: `s3://${archiveBucket}/releases/orders` });
    expect(r.isError, JSON.stringify(r.content)).toBeFalsy();
    const o = r.structuredContent;
    expect(o).toMatchObject({ destination: `s3://${archiveBucket}/releases/orders`, verified: true, missing: [] });
    const names = o.archived.map((a: any) => a.name);
    for (const name of ['events.jsonl', 'journal.md', 'report.md', 'runbook.md', 'backups/lambda-config.json', 'config.snapshot.json', 'manifest.json', 'SHA256SUMS']) expect(names).toContain(name);
    // Read everything back independently and check it against the manifest.
    const s3 = fixtureClients().s3;
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: archiveBucket, Prefix: 'releases/orders/' }));
    expect(listed.Contents!.map((c) => c.Key!.slice('releases/orders/'.length)).sort()).toEqual([...names].sort());
    const read = async (name: string) => Buffer.from(await (await s3.send(new GetObjectCommand({ Bucket: archiveBucket, Key: `releases/orders/${name}` }))).Body!.transformToByteArray());
    const manifest = JSON.parse((await read('manifest.json')).toString());
    expect(manifest).toMatchObject({ format: 'deploy-mcp-archive/1', taskId, environment: 'staging', component: 'orders' });
    expect(manifest.files.map((f: any) => f.name).sort()).toEqual(names.filter((n: string) => n !== 'manifest.json' && n !== 'SHA256SUMS').sort());
    for (const f of manifest.files) expect(sha256(await read(f.name)), f.name).toBe(f.sha256);
    expect(sha256(await read('manifest.json'))).toBe(o.manifest.sha256);
    expect((await read('report.md')).toString()).toBe(report);
    const events = (await read('events.jsonl')).toString().trim().split('\n').map((l) => JSON.parse(l));
    expect(events.at(-1).hash).toBe(manifest.headHash);
    const snapshot = JSON.parse((await read('config.snapshot.json')).toString());
    expect(snapshot.project).toBe('demo');
    expect(JSON.stringify(snapshot)).not.toContain('T0KEN-9a8b7c6d5e4f');
  });

  it('archive-artifacts to the default local folder writes SHA256SUMS that match the copies', async () => {
    const r = await h.call('archive-artifacts');
    expect(r.isError, JSON.stringify(r.content)).toBeFalsy();
    const dir = path.join(h.root, '.deploy-mcp', 'archive', `task-${taskId}`);
    expect(r.structuredContent.destination).toBe(dir);
    const sums = fs.readFileSync(path.join(dir, 'SHA256SUMS'), 'utf8').trim().split('\n');
    expect(sums.length).toBeGreaterThanOrEqual(5);
    for (const line of sums) {
      const [hash, name] = line.split('  ');
      expect(sha256(fs.readFileSync(path.join(dir, name))), name).toBe(hash);
    }
  });

  it('notify-stakeholders publishes to SNS and posts to the webhook, and records both without the webhook path', async () => {
    const r = await h.call('notify-stakeholders', { message: `Orders API v2 is live in staging. Report: tasks/${taskId}/report.md` });
    expect(r.isError, JSON.stringify(r.content)).toBeFalsy();
    expect(r.structuredContent).toMatchObject({ deliveredCount: 2, failedCount: 0 });
    expect(r.structuredContent.delivered).toEqual([
      expect.objectContaining({ channel: 'sns', target: topicArn, delivered: true, messageId: expect.any(String) }),
      expect.objectContaining({ channel: 'webhook', target: `${web.url}/…`, delivered: true, status: 200 }),
    ]);
    expect(web.received.at(-1)).toMatchObject({
      path: webhookPath,
      body: { taskId, environment: 'staging', component: 'orders', phase: 8, message: expect.stringContaining('Orders API v2 is live'), text: expect.stringContaining('[deploy-mcp] Orders API v2') },
    });
    const events = JSON.stringify(readEvents(h.root, taskId));
    expect(events).not.toContain('T0KEN-9a8b7c6d5e4f');
    expect(events).toContain('"tool":"notify-stakeholders"');
  });

  it('with report, tag and archive done, the final approval completes the task', async () => {
    expect(await criteria(h, taskId)).toEqual({ 'report-generated': true, 'release-tagged': true, 'artifacts-archived': true });
    const r = await h.call('request-transition', { summary: 'Report, tag and archive done; stakeholders notified.' });
    expect(r.isError, JSON.stringify(r.content)).toBeFalsy();
    expect(r.structuredContent).toMatchObject({ status: 'advanced', to: null });
    const status = await h.call('deployment-status', { taskId });
    expect(status.structuredContent.status).toBe('complete');
    expect((await h.call('generate-report', { taskId })).structuredContent).toMatchObject({ refused: true, reason: 'phase' });
  });
});

describe('tag-release edge cases', () => {
  it('tags the recorded base commit when the branch is gone, and reports a missing origin instead of failing', async () => {
    const { h, taskId } = await taskInPhase(8, { component: 'edge-base' });
    try {
      const repo = initRepo(h.root, false);
      await recordOutcome(h, taskId, 'create-branch', 2, {}, { branch: 'deploy/staging-gone', created: true, pushed: false, baseCommit: repo.main });
      const r = await h.call('tag-release', { push: true, tag: 'v1.0.0' });
      expect(r.isError, JSON.stringify(r.content)).toBeFalsy();
      expect(r.structuredContent).toMatchObject({ tag: 'v1.0.0', commit: repo.main, commitSource: 'base-commit', created: true, pushed: false, pushError: 'there is no remote named origin' });
      expect(r.structuredContent.warnings[0]).toContain('does not exist locally');
      expect(git(h.root, 'cat-file', '-t', 'v1.0.0')).toBe('tag');
    } finally {
      await h.close();
    }
  });

  it('never moves an existing tag to another commit, and reports a rejected push as pushed: false', async () => {
    const { h, taskId } = await taskInPhase(8, { component: 'edge-moved' });
    try {
      const repo = initRepo(h.root);
      const state = await h.srv.deployments!.state(taskId);
      git(h.root, 'checkout', '-q', '-b', state.branch);
      git(h.root, 'commit', '-q', '--allow-empty', '-m', 'release');
      git(h.root, 'tag', '-a', 'v2.0.0', '-m', 'old', repo.main);
      const moved = await h.call('tag-release', { tag: 'v2.0.0' });
      expect(moved.structuredContent).toMatchObject({ error: 'tag-exists' });
      expect(git(h.root, 'rev-parse', 'v2.0.0^{commit}')).toBe(repo.main);
      // The origin already has a different v3.0.0: the push is rejected, the local tag stays.
      git(h.root, 'tag', 'v3.0.0', repo.main);
      git(h.root, 'push', '-q', 'origin', 'refs/tags/v3.0.0');
      git(h.root, 'tag', '-d', 'v3.0.0');
      const rejected = await h.call('tag-release', { tag: 'v3.0.0', push: true });
      expect(rejected.isError, JSON.stringify(rejected.content)).toBeFalsy();
      expect(rejected.structuredContent).toMatchObject({ created: true, pushed: false });
      expect(rejected.structuredContent.pushError).toMatch(/rejected|already exists/);
      expect(git(repo.origin!, 'rev-parse', 'v3.0.0^{commit}')).toBe(repo.main);
    } finally {
      await h.close();
    }
  });

  it('says so when the project is not a git repository', async () => {
    const { h } = await taskInPhase(8, { component: 'edge-norepo' });
    try {
      expect((await h.call('tag-release')).structuredContent).toMatchObject({ error: 'not-a-repository' });
    } finally {
      await h.close();
    }
  });
});

describe('archive-artifacts verification', () => {
  let proxy: FaultProxy;
  beforeAll(async () => {
    proxy = await startFaultProxy(motoEndpoint());
  });
  afterAll(async () => proxy?.close());

  it('fails when a copy read back from S3 does not match what was written', async () => {
    const bucket = uniqueName('flaky-archive');
    await createBucket({ name: bucket });
    // The object store hands back different bytes for the journal.
    proxy.addRule({
      match: (req) => req.service === 's3' && req.method === 'GET' && req.path.endsWith('/journal.md'),
      // Without S3's own checksum headers the SDK cannot notice: only the tool's sha256 check can.
      transform: (_req, res) => ({
        ...res,
        headers: Object.fromEntries(Object.entries(res.headers).filter(([k]) => !k.toLowerCase().startsWith('x-amz-checksum'))),
        body: Buffer.concat([res.body, Buffer.from('tampered')]),
      }),
    });
    const { h } = await taskInPhase(8, { component: 'archive-bad', harness: { awsEndpoint: proxy.url, awsMaxAttempts: 1 } });
    try {
      const r = await h.call('archive-artifacts', { destination: `s3://${bucket}/x` });
      expect(r.isError).toBe(true);
      expect(r.structuredContent).toMatchObject({ error: 'archive-verification-failed' });
      expect(r.structuredContent.message).toContain('journal.md');
    } finally {
      await h.close();
    }
  });

  it('rejects a destination that is neither a path nor s3://', async () => {
    const { h } = await taskInPhase(8, { component: 'archive-url' });
    try {
      expect((await h.call('archive-artifacts', { destination: 'ftp://example.com/x' })).structuredContent).toMatchObject({ error: 'invalid-destination' });
    } finally {
      await h.close();
    }
  });
});

describe('notify-stakeholders failures', () => {
  let web: Capture;
  beforeAll(async () => {
    web = await captureServer();
  });
  afterAll(async () => web?.close());

  it('records a failed webhook next to a delivered SNS message, and fails only when nothing was delivered', async () => {
    const topicArn = await createTopic(uniqueName('ops'));
    const config = { ...BASE_CONFIG, notify: { snsTopicArn: topicArn, webhookUrl: `${web.url}/hook/s3cr3t-path` } };
    const { h, taskId } = await taskInPhase(4, { config, component: 'notify' });
    try {
      web.status = 500;
      const partly = await h.call('notify-stakeholders', { message: 'Deploying orders to staging now.' });
      expect(partly.isError, JSON.stringify(partly.content)).toBeFalsy();
      expect(partly.structuredContent.delivered.map((d: any) => [d.channel, d.delivered, d.status ?? null])).toEqual([
        ['sns', true, null],
        ['webhook', false, 500],
      ]);
      const webhookOnly = await h.call('notify-stakeholders', { message: 'again', channel: 'webhook' });
      expect(webhookOnly.isError).toBe(true);
      expect(webhookOnly.structuredContent).toMatchObject({ error: 'not-delivered', details: { delivered: [expect.objectContaining({ channel: 'webhook', delivered: false })] } });
      const failed = readEvents(h.root, taskId).at(-1);
      expect(failed).toMatchObject({ type: 'tool.failed', data: { tool: 'notify-stakeholders' } });
      expect(JSON.stringify(readEvents(h.root, taskId))).not.toContain('s3cr3t-path');
      web.status = 200;
    } finally {
      await h.close();
    }
  });

  it('asks for a channel when none is configured', async () => {
    const { h } = await taskInPhase(5, { component: 'notify-none' });
    try {
      expect((await h.call('notify-stakeholders', { message: 'hello' })).structuredContent).toMatchObject({ error: 'no-channel' });
    } finally {
      await h.close();
    }
  });
});
