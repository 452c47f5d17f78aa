/**
 * Phase 6 against moto through an MCP client: alarms from presets with their log metric filter,
 * re-created idempotently; the dashboard; alarm tests that force ALARM and restore; the runbook;
 * and the phase 6 exit criteria they satisfy.
 */
import fs from 'node:fs';
import { DescribeAlarmsCommand, GetDashboardCommand } from '@aws-sdk/client-cloudwatch';
import { DescribeMetricFiltersCommand } from '@aws-sdk/client-cloudwatch-logs';
import { CreateTopicCommand, SNSClient } from '@aws-sdk/client-sns';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BASE_CONFIG, type Harness } from './helpers/mcp.js';
import { createFunction, createLogGroup, createRole, fixtureClients, motoEndpoint, setAlarmState, uniqueName } from './helpers/aws-fixtures.js';
import { criteria, recordOutcome, taskInPhase } from './helpers/phase-fixtures.js';

async function createTopic(name: string): Promise<string> {
  const sns = new SNSClient({ endpoint: motoEndpoint(), region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
  return (await sns.send(new CreateTopicCommand({ Name: name }))).TopicArn!;
}

async function describeAlarm(name: string) {
  return (await fixtureClients().cloudwatch.send(new DescribeAlarmsCommand({ AlarmNames: [name] }))).MetricAlarms?.[0];
}

describe('phase 6: alarms, dashboard, alarm tests, runbook', () => {
  const fnA = uniqueName('orders-api');
  const fnB = uniqueName('orders-worker');
  let topicArn: string;
  let h: Harness;
  let taskId: number;
  const alarms: Record<string, any> = {};

  beforeAll(async () => {
    topicArn = await createTopic(uniqueName('deploys'));
    const roleArn = await createRole(uniqueName('orders-role'));
    await createFunction({ name: fnA, roleArn, timeout: 3 });
    await createFunction({ name: fnB, roleArn, timeout: 10 });
    await createLogGroup({ name: `/aws/lambda/${fnA}`, retentionInDays: 30 });
    const config = {
      ...BASE_CONFIG,
      performance: { p95Ms: 800 },
      notify: { snsTopicArn: topicArn },
      contacts: [{ name: 'Dana Ops', role: 'on-call', email: 'dana@example.com' }],
    };
    ({ h, taskId } = await taskInPhase(6, {
      config,
      // Dashboards are named after project, environment and component: keep clear of other files.
      component: 'monitoring',
      deployed: [
        { function: fnA, alias: 'live', newVersion: '2', previousVersion: '1' },
        { function: fnB, alias: 'live', newVersion: '5', previousVersion: '4' },
      ],
    }));
    // A failure met (and fixed) in phase 5 belongs in the runbook's known issues.
    await recordOutcome(h, taskId, 'smoke-test', 5, { targets: [] }, null, { code: 'smoke-failed', message: 'orders-api returned HTTP 502 on /health' });
    await recordOutcome(h, taskId, 'smoke-test', 5, { targets: [{ kind: 'lambda', function: fnA, qualifier: 'live', payload: { path: '/health' } }] }, { allPassed: true, results: [] });
  });
  afterAll(async () => h?.close());

  it('create-alarm errors: creates the alarm with the preset defaults, the config topic as action, and the log metric filter', async () => {
    const r = await h.call('create-alarm', { function: fnA, preset: 'errors' });
    expect(r.isError, JSON.stringify(r.content)).toBeFalsy();
    alarms.aErrors = r.structuredContent;
    expect(r.structuredContent).toMatchObject({
      alarmName: `demo-${fnA}-errors`,
      created: true,
      updated: false,
      actions: [topicArn],
      deployedInThisTask: true,
      warnings: [],
      metric: { namespace: 'AWS/Lambda', metricName: 'Errors', statistic: 'Sum', threshold: 1, comparisonOperator: 'GreaterThanOrEqualToThreshold', period: 300 },
      metricFilter: { logGroup: `/aws/lambda/${fnA}`, status: 'created', metricNamespace: 'DeployMcp/demo', metricName: `${fnA}-LogErrors` },
    });
    const alarm = await describeAlarm(`demo-${fnA}-errors`);
    expect(alarm).toMatchObject({ Namespace: 'AWS/Lambda', MetricName: 'Errors', Statistic: 'Sum', Threshold: 1, AlarmActions: [topicArn], Dimensions: [{ Name: 'FunctionName', Value: fnA }] });
    expect(r.structuredContent.alarmArn).toBe(alarm!.AlarmArn);
    const filters = await fixtureClients().logs.send(new DescribeMetricFiltersCommand({ logGroupName: `/aws/lambda/${fnA}` }));
    expect(filters.metricFilters).toEqual([
      expect.objectContaining({ filterName: `${fnA}-log-errors`, metricTransformations: [expect.objectContaining({ metricNamespace: 'DeployMcp/demo', metricName: `${fnA}-LogErrors`, metricValue: '1' })] }),
    ]);
  });

  it('is idempotent: the same call changes nothing, a new threshold updates only that field', async () => {
    const again = await h.call('create-alarm', { function: fnA, preset: 'errors' });
    expect(again.structuredContent).toMatchObject({ created: false, updated: false, changedFields: [], metricFilter: { status: 'unchanged' } });
    const tuned = await h.call('create-alarm', { function: fnA, preset: 'errors', threshold: 3 });
    expect(tuned.structuredContent).toMatchObject({ created: false, updated: true, changedFields: ['Threshold'] });
    expect((await describeAlarm(`demo-${fnA}-errors`))!.Threshold).toBe(3);
    const alarmsNow = await fixtureClients().cloudwatch.send(new DescribeAlarmsCommand({ AlarmNamePrefix: `demo-${fnA}-` }));
    expect(alarmsNow.MetricAlarms!.map((a) => a.AlarmName)).toEqual([`demo-${fnA}-errors`]);
  });

  it('duration-p95 defaults to the configured p95 and refuses a threshold at or above the function timeout', async () => {
    const r = await h.call('create-alarm', { function: fnA, preset: 'duration-p95' });
    expect(r.structuredContent).toMatchObject({ created: true, metric: { metricName: 'Duration', statistic: 'p95', threshold: 800, comparisonOperator: 'GreaterThanThreshold', evaluationPeriods: 3, datapointsToAlarm: 2 } });
    expect((await describeAlarm(`demo-${fnA}-duration-p95`))!.ExtendedStatistic).toBe('p95');
    const tooHigh = await h.call('create-alarm', { function: fnA, preset: 'duration-p95', threshold: 3000 });
    expect(tooHigh.structuredContent).toMatchObject({ error: 'invalid-threshold' });
    expect(tooHigh.structuredContent.message).toContain('function timeout of 3000 ms');
  });

  it('log-errors alarms on the custom metric; a function without a log group gets a skipped filter, and no log-errors alarm', async () => {
    const logErrors = await h.call('create-alarm', { function: fnA, preset: 'log-errors' });
    expect(logErrors.structuredContent).toMatchObject({ created: true, metric: { namespace: 'DeployMcp/demo', metricName: `${fnA}-LogErrors`, statistic: 'Sum' } });
    const b = await h.call('create-alarm', { function: fnB, preset: 'throttles' });
    expect(b.structuredContent).toMatchObject({ created: true, metric: { metricName: 'Throttles' }, metricFilter: { status: 'skipped' } });
    expect(b.structuredContent.warnings.join(' ')).toContain('does not exist yet');
    const noGroup = await h.call('create-alarm', { function: fnB, preset: 'log-errors' });
    expect(noGroup.structuredContent).toMatchObject({ error: 'no-log-group' });
    const missing = await h.call('create-alarm', { function: uniqueName('ghost'), preset: 'errors' });
    expect(missing.structuredContent.error).toBe('aws:ResourceNotFoundException');
  });

  it('meets "an alarm per deployed function" only once both have one', async () => {
    expect((await criteria(h, taskId))['alarms-per-function']).toBe(true);
    expect((await criteria(h, taskId))['alarms-tested']).toBe(false);
  });

  it('create-dashboard puts every function and its alarms on one dashboard, and updates it in place', async () => {
    const r = await h.call('create-dashboard');
    expect(r.isError, JSON.stringify(r.content)).toBeFalsy();
    const name = 'demo-staging-monitoring';
    expect(r.structuredContent).toMatchObject({ dashboardName: name, created: true, functions: [fnA, fnB], missingAlarms: [] });
    expect(r.structuredContent.alarms.sort()).toEqual([`demo-${fnA}-duration-p95`, `demo-${fnA}-errors`, `demo-${fnA}-log-errors`, `demo-${fnB}-throttles`].sort());
    // header + alarm status + per function 3 metric widgets + its alarm widget
    expect(r.structuredContent.widgets).toBe(2 + 4 + 4);
    const body = JSON.parse((await fixtureClients().cloudwatch.send(new GetDashboardCommand({ DashboardName: name }))).DashboardBody!);
    expect(body.widgets).toHaveLength(r.structuredContent.widgets);
    const text = JSON.stringify(body);
    for (const fn of [fnA, fnB]) expect(text).toContain(`"FunctionName","${fn}"`);
    const errorsArn = (await describeAlarm(`demo-${fnA}-errors`))!.AlarmArn!;
    expect(body.widgets.find((w: any) => w.properties.title === 'Alarm status').properties.alarms).toContain(errorsArn);
    expect(text).toContain(`"DeployMcp/demo","${fnA}-LogErrors"`);
    const again = await h.call('create-dashboard');
    expect(again.structuredContent).toMatchObject({ dashboardName: name, created: false, widgets: r.structuredContent.widgets });
  });

  it('test-alarm forces ALARM, confirms state and actions through DescribeAlarms, and restores OK', async () => {
    const r = await h.call('test-alarm', { alarmName: `demo-${fnA}-errors` });
    expect(r.isError, JSON.stringify(r.content)).toBeFalsy();
    expect(r.structuredContent).toMatchObject({ passed: true, actionsEnabled: true, problems: [], actions: [{ arn: topicArn, kind: 'sns', reachable: true }] });
    expect(r.structuredContent.states.map((s: any) => [s.step, s.state])).toEqual([
      ['before', 'OK'],
      ['forced', 'ALARM'],
      ['restored', 'OK'],
    ]);
    const after = await describeAlarm(`demo-${fnA}-errors`);
    expect(after!.StateValue).toBe('OK');
    expect(after!.StateReason).toContain('restored to OK after the test');
  });

  it('meets "every created alarm tested" once each one passed', async () => {
    for (const name of [`demo-${fnA}-duration-p95`, `demo-${fnA}-log-errors`]) {
      expect((await h.call('test-alarm', { alarmName: name })).structuredContent.passed).toBe(true);
    }
    expect((await criteria(h, taskId))['alarms-tested']).toBe(false);
    expect((await h.call('test-alarm', { alarmName: `demo-${fnB}-throttles` })).structuredContent.passed).toBe(true);
    expect((await criteria(h, taskId))['alarms-tested']).toBe(true);
  });

  it('write-runbook writes runbook.md with the real names, commands, contacts and known issues', async () => {
    const r = await h.call('write-runbook', { issues: ['Cold starts add ~800 ms to the first request after a deploy', { symptom: 'HTTP 502 from /health', cause: 'database pool exhausted', action: 'restart the pool by redeploying the alias' }] });
    expect(r.isError, JSON.stringify(r.content)).toBeFalsy();
    expect(r.structuredContent.path).toBe(h.srv.store!.filePath(taskId, 'runbook.md'));
    const text = fs.readFileSync(r.structuredContent.path, 'utf8');
    for (const heading of ['What Runs', 'How to Tell It Is Broken', 'Where to Look', 'How to Check It Works', 'How to Roll Back', 'Known Issues', 'Escalation']) expect(text).toContain(`## ${heading}`);
    expect(text).toContain(`aws logs tail /aws/lambda/${fnA} --since 1h --follow --region us-east-1`);
    expect(text).toContain(`aws lambda update-alias --function-name ${fnA} --name live --function-version 1 --region us-east-1`);
    expect(text).toContain(`aws lambda update-alias --function-name ${fnB} --name live --function-version 4 --region us-east-1`);
    expect(text).toContain(`aws lambda invoke --function-name ${fnA} --qualifier live`);
    expect(text).toContain(`\`demo-${fnA}-errors\``);
    expect(text).toContain('[demo-staging-monitoring](https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1#dashboards/dashboard/demo-staging-monitoring)');
    expect(text).toContain('Dana Ops (on-call) — dana@example.com');
    expect(text).toContain('Cold starts add ~800 ms');
    expect(text).toContain('**HTTP 502 from /health** — cause: database pool exhausted');
    expect(text).toContain('orders-api returned HTTP 502 on /health — resolved by a later successful run.');
    expect(text).not.toMatch(/\{\{\w+\}\}/);
    expect(await criteria(h, taskId)).toEqual({ 'alarms-per-function': true, 'dashboard-created': true, 'alarms-tested': true, 'runbook-written': true });
  });
});

describe('test-alarm failures', () => {
  let h: Harness;
  const fn = uniqueName('lonely-fn');
  beforeAll(async () => {
    const roleArn = await createRole(uniqueName('lonely-role'));
    await createFunction({ name: fn, roleArn });
    ({ h } = await taskInPhase(6, { component: 'lonely', deployed: [{ function: fn }] }));
  });
  afterAll(async () => h?.close());

  it('fails an alarm that notifies nobody (unless actions are not required), and still restores its state', async () => {
    const created = await h.call('create-alarm', { function: fn, preset: 'errors' });
    expect(created.structuredContent.actions).toEqual([]);
    expect(created.structuredContent.warnings.join(' ')).toContain('nobody will hear');
    const r = await h.call('test-alarm', { alarmName: created.structuredContent.alarmName });
    expect(r.structuredContent).toMatchObject({ passed: false, problems: ['the alarm has no alarm actions, so nobody is notified when it fires'] });
    expect(r.structuredContent.states.map((s: any) => s.state)).toEqual(['OK', 'ALARM', 'OK']);
    const relaxed = await h.call('test-alarm', { alarmName: created.structuredContent.alarmName, requireActions: false });
    expect(relaxed.structuredContent.passed).toBe(true);
  });

  it('does not test an alarm that is already in ALARM, and names an unknown alarm', async () => {
    const name = `demo-${fn}-errors`;
    await setAlarmState(name, 'ALARM');
    const r = await h.call('test-alarm', { alarmName: name, requireActions: false });
    expect(r.structuredContent).toMatchObject({ passed: false, states: [{ step: 'before', state: 'ALARM' }] });
    expect(r.structuredContent.problems[0]).toContain('already in ALARM');
    expect((await describeAlarm(name))!.StateValue).toBe('ALARM');
    const unknown = await h.call('test-alarm', { alarmName: uniqueName('no-such-alarm') });
    expect(unknown.structuredContent).toMatchObject({ error: 'unknown-alarm' });
  });

  it('create-dashboard needs a deployed function', async () => {
    const { h: empty } = await taskInPhase(6, { component: 'empty' });
    try {
      expect((await empty.call('create-dashboard')).structuredContent).toMatchObject({ error: 'no-functions' });
    } finally {
      await empty.close();
    }
  });
});
