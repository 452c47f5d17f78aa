import { z } from 'zod';
import type { AwsClients } from '../src/aws/clients.js';
import { ToolError, defineTool } from '../src/tool.js';
import { TaskIdInput } from '../src/tool-schemas.js';

const StateValue = z.enum(['OK', 'ALARM', 'INSUFFICIENT_DATA']);
type State = z.infer<typeof StateValue>;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface ActionCheck {
  arn: string;
  kind: 'sns' | 'other';
  reachable: boolean | null;
  subscriptionsConfirmed?: number;
  detail: string;
}

async function checkAction(clients: AwsClients, arn: string): Promise<ActionCheck> {
  const parts = arn.split(':');
  if (parts[2] !== 'sns') return { arn, kind: 'other', reachable: null, detail: `${parts[2] ?? 'unknown'} action, not checked` };
  if (parts[3] !== clients.target.region) return { arn, kind: 'sns', reachable: null, detail: `topic in ${parts[3]}, not checked from ${clients.target.region}` };
  const sns = await import('@aws-sdk/client-sns');
  try {
    const out = await (await clients.sns()).send(new sns.GetTopicAttributesCommand({ TopicArn: arn }));
    const confirmed = Number(out.Attributes?.SubscriptionsConfirmed ?? 0);
    return {
      arn,
      kind: 'sns',
      reachable: true,
      subscriptionsConfirmed: confirmed,
      detail: confirmed > 0 ? `topic exists with ${confirmed} confirmed subscription(s)` : 'topic exists but has no confirmed subscription: ask the human whether the notification arrived',
    };
  } catch (err) {
    const problem = clients.problem(err, { action: 'sns:GetTopicAttributes', resource: arn });
    return { arn, kind: 'sns', reachable: false, detail: problem.kind === 'not-found' ? 'topic does not exist' : problem.message };
  }
}

export default defineTool({
  name: 'test-alarm',
  title: 'Test an alarm end to end',
  description:
    "Tests a CloudWatch alarm: reads its state, forces it into ALARM with SetAlarmState (its actions fire — subscribers of the SNS topic are notified, so tell on-call first), confirms through DescribeAlarms that it reached ALARM and that its actions are enabled and point at SNS topics that exist, then restores the state it had before and confirms that too. `passed` needs all of that (alarm actions are required unless `requireActions: false`). An alarm already in ALARM is not tested: it reports a live problem to investigate first. Phase 6 needs a passing test for every alarm created with create-alarm.",
  phases: [6],
  aws: true,
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
  input: z
    .object({
      taskId: TaskIdInput,
      alarmName: z.string().trim().min(1).max(255).describe('Alarm name, as returned by create-alarm'),
      requireActions: z.boolean().optional().describe('Fail the test when the alarm has no working action (default true)'),
    })
    .strict(),
  output: z.object({
    alarmName: z.string(),
    passed: z.boolean(),
    states: z.array(z.object({ step: z.enum(['before', 'forced', 'restored']), state: z.string(), at: z.string() })),
    actionsEnabled: z.boolean(),
    actions: z.array(
      z.object({ arn: z.string(), kind: z.enum(['sns', 'other']), reachable: z.boolean().nullable(), subscriptionsConfirmed: z.number().optional(), detail: z.string() }),
    ),
    problems: z.array(z.string()),
  }),
  summarize: (o) =>
    `Alarm ${o.alarmName} test ${o.passed ? 'passed' : 'FAILED'}: ${o.states.map((s) => `${s.step} ${s.state}`).join(' → ')}; ${o.actions.length} action(s)${o.actionsEnabled ? '' : ' (disabled)'}${
      o.problems.length ? `. Problems: ${o.problems.join('; ')}` : ''
    }.`,
  async run(input, ctx) {
    const state = ctx.task!;
    const clients = ctx.aws();
    const cw = await import('@aws-sdk/client-cloudwatch');
    const cloudwatch = await clients.cloudwatch();
    const read = async () => {
      try {
        return (await cloudwatch.send(new cw.DescribeAlarmsCommand({ AlarmNames: [input.alarmName], AlarmTypes: ['MetricAlarm'] }))).MetricAlarms?.[0];
      } catch (err) {
        throw clients.error(err, { action: 'cloudwatch:DescribeAlarms', resource: input.alarmName });
      }
    };
    const setState = async (value: State, reason: string) => {
      try {
        await cloudwatch.send(new cw.SetAlarmStateCommand({ AlarmName: input.alarmName, StateValue: value, StateReason: reason }));
      } catch (err) {
        throw clients.error(err, { action: 'cloudwatch:SetAlarmState', resource: input.alarmName });
      }
    };
    /** The state as DescribeAlarms reports it, polled briefly until it shows `want`. */
    const waitFor = async (want: State): Promise<string> => {
      let seen = '';
      for (let i = 0; i < 10; i++) {
        seen = (await read())?.StateValue ?? 'UNKNOWN';
        if (seen === want) break;
        await sleep(300);
      }
      return seen;
    };

    const alarm = await read();
    if (!alarm) {
      throw new ToolError('unknown-alarm', `There is no metric alarm named ${input.alarmName} in ${clients.target.region}.`, 'Use an alarmName returned by create-alarm.');
    }
    const now = () => ctx.now().toISOString();
    const before = (alarm.StateValue ?? 'INSUFFICIENT_DATA') as State;
    const states: { step: 'before' | 'forced' | 'restored'; state: string; at: string }[] = [{ step: 'before', state: before, at: now() }];
    const actionsEnabled = alarm.ActionsEnabled !== false;
    const actions = await Promise.all((alarm.AlarmActions ?? []).map((arn) => checkAction(clients, arn)));
    const problems: string[] = [];

    if (before === 'ALARM') {
      problems.push('the alarm is already in ALARM: that is a live problem to investigate (and the test cannot show a transition); test it again once it is OK');
      return { alarmName: input.alarmName, passed: false, states, actionsEnabled, actions, problems };
    }

    await setState('ALARM', `deploy-mcp test-alarm (task #${state.taskId}): testing that this alarm and its notifications work. No action needed; it is restored right away.`);
    try {
      const forced = await waitFor('ALARM');
      states.push({ step: 'forced', state: forced, at: now() });
      if (forced !== 'ALARM') problems.push(`the alarm did not show ALARM after SetAlarmState (it shows ${forced})`);
    } finally {
      await setState(before, `deploy-mcp test-alarm (task #${state.taskId}): restored to ${before} after the test.`);
    }
    const restored = await waitFor(before);
    states.push({ step: 'restored', state: restored, at: now() });
    if (restored !== before) problems.push(`the alarm did not return to ${before} (it shows ${restored})`);

    if (input.requireActions !== false) {
      if (actions.length === 0) problems.push('the alarm has no alarm actions, so nobody is notified when it fires');
      else if (!actionsEnabled) problems.push('the alarm actions are disabled');
      for (const a of actions) if (a.reachable === false) problems.push(`action ${a.arn}: ${a.detail}`);
    }
    return { alarmName: input.alarmName, passed: problems.length === 0, states, actionsEnabled, actions, problems };
  },
});
