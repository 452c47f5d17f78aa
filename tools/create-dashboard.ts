import { z } from 'zod';
import { dashboardBody, dashboardName, dashboardUrl } from '../src/monitoring/alarms.js';
import { createdAlarms } from '../src/report/task-facts.js';
import { ToolError, defineTool } from '../src/tool.js';
import { TaskIdInput } from '../src/tool-schemas.js';
import { deployedFunctions } from '../src/workflow/criteria.js';

export default defineTool({
  name: 'create-dashboard',
  title: 'Create the CloudWatch dashboard',
  description:
    "Creates (or replaces) a CloudWatch dashboard for the deployment: a header, the status of every alarm created with create-alarm, and per function deployed in phase 4 its invocations/errors/throttles, duration p50/p95/p99, concurrency with the log-error metric, and its alarms. Default name `<project>-<environment>-<component>`. Run it after create-alarm so the alarms are on it; running it again updates it in place.",
  phases: [6],
  aws: true,
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  input: z
    .object({
      taskId: TaskIdInput,
      name: z
        .string()
        .regex(/^[A-Za-z0-9_-]{1,255}$/, 'letters, digits, - and _ (CloudWatch dashboard names)')
        .optional()
        .describe('Dashboard name; default <project>-<environment>-<component>'),
    })
    .strict(),
  output: z.object({
    dashboardName: z.string(),
    widgets: z.number().int(),
    created: z.boolean(),
    functions: z.array(z.string()),
    alarms: z.array(z.string()),
    missingAlarms: z.array(z.string()),
    url: z.string(),
  }),
  summarize: (o) =>
    `Dashboard ${o.dashboardName} ${o.created ? 'created' : 'updated'} with ${o.widgets} widgets for ${o.functions.join(', ')} and ${o.alarms.length} alarm(s)${o.missingAlarms.length ? ` (not found any more: ${o.missingAlarms.join(', ')})` : ''}. ${o.url}`,
  async run(input, ctx) {
    const state = ctx.task!;
    const functions = deployedFunctions(state);
    if (functions.length === 0) {
      throw new ToolError('no-functions', 'No function was deployed in phase 4, so there is nothing to put on a dashboard.', 'Deploy the functions in phase 4 (deploy-lambda) first.');
    }
    const clients = ctx.aws();
    const cw = await import('@aws-sdk/client-cloudwatch');
    const cloudwatch = await clients.cloudwatch();
    const name = input.name ?? dashboardName(ctx.config?.project ?? 'deploy', state.environment, state.component);

    const alarms = createdAlarms(state);
    const arns = new Map<string, string>();
    for (let i = 0; i < alarms.length; i += 100) {
      const names = alarms.slice(i, i + 100).map((a) => a.alarmName);
      try {
        const out = await cloudwatch.send(new cw.DescribeAlarmsCommand({ AlarmNames: names, MaxRecords: 100 }));
        for (const a of out.MetricAlarms ?? []) if (a.AlarmName && a.AlarmArn) arns.set(a.AlarmName, a.AlarmArn);
      } catch (err) {
        throw clients.error(err, { action: 'cloudwatch:DescribeAlarms' });
      }
    }
    const present = alarms.filter((a) => arns.has(a.alarmName));
    const body = dashboardBody({
      title: `Task #${state.taskId}: ${state.title} (${state.environment})`,
      region: clients.target.region,
      alarmArns: present.map((a) => arns.get(a.alarmName)!),
      functions: functions.map((fn) => {
        const own = present.filter((a) => a.function === fn);
        const filter = own.find((a) => a.metricFilter?.status !== 'skipped')?.metricFilter;
        return {
          name: fn,
          alarmArns: own.map((a) => arns.get(a.alarmName)!),
          ...(filter ? { logMetric: { namespace: filter.metricNamespace, metricName: filter.metricName } } : {}),
        };
      }),
    });

    let existed = true;
    try {
      await cloudwatch.send(new cw.GetDashboardCommand({ DashboardName: name }));
    } catch (err) {
      if (clients.problem(err, { action: 'cloudwatch:GetDashboard' }).kind !== 'not-found') throw clients.error(err, { action: 'cloudwatch:GetDashboard', resource: name });
      existed = false;
    }
    try {
      const out = await cloudwatch.send(new cw.PutDashboardCommand({ DashboardName: name, DashboardBody: JSON.stringify(body) }));
      const invalid = (out.DashboardValidationMessages ?? []).map((m) => `${m.DataPath ?? ''} ${m.Message ?? ''}`.trim());
      if (invalid.length) throw new ToolError('dashboard-invalid', `CloudWatch rejected parts of dashboard ${name}: ${invalid.join('; ')}.`);
    } catch (err) {
      if (err instanceof ToolError) throw err;
      throw clients.error(err, { action: 'cloudwatch:PutDashboard', resource: name });
    }
    return {
      dashboardName: name,
      widgets: body.widgets.length,
      created: !existed,
      functions,
      alarms: present.map((a) => a.alarmName),
      missingAlarms: alarms.filter((a) => !arns.has(a.alarmName)).map((a) => a.alarmName),
      url: dashboardUrl(clients.target.region, name),
    };
  },
});
