import { z } from 'zod';
import type { AwsClients } from '../src/aws/clients.js';
import { inspectLogGroup } from '../src/aws/verify/log-group.js';
import { ALARM_PRESETS, PresetError, alarmDifferences, alarmSpec, logGroupOf, metricFilterSpec, type MetricFilterSpec } from '../src/monitoring/alarms.js';
import { ToolError, defineTool } from '../src/tool.js';
import { TaskIdInput } from '../src/tool-schemas.js';
import { deployedFunctions } from '../src/workflow/criteria.js';

export const FunctionName = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,64}$/, 'a Lambda function name (letters, digits, - and _; not an ARN)')
  .describe('Lambda function name');

const MetricFilterOutput = z.object({
  logGroup: z.string(),
  filterName: z.string(),
  metricNamespace: z.string(),
  metricName: z.string(),
  status: z.enum(['created', 'updated', 'unchanged', 'skipped']),
  reason: z.string().optional(),
});

type FilterResult = z.infer<typeof MetricFilterOutput>;

/** Makes sure the function's log group has the error-counting metric filter. Idempotent. */
async function ensureMetricFilter(clients: AwsClients, spec: MetricFilterSpec): Promise<FilterResult> {
  const logsdk = await import('@aws-sdk/client-cloudwatch-logs');
  const logs = await clients.logs();
  const base = { logGroup: spec.logGroupName, filterName: spec.filterName, metricNamespace: spec.metricNamespace, metricName: spec.metricName };
  const group = await inspectLogGroup(clients, spec.logGroupName);
  if (group.existence === 'absent') {
    return { ...base, status: 'skipped', reason: `log group ${spec.logGroupName} does not exist yet (Lambda creates it on the first invocation); run create-alarm again after one` };
  }
  if (group.existence === 'unknown') {
    const p = group.problems[0];
    throw new ToolError('log-group-unreadable', `Could not read log group ${spec.logGroupName}: ${p?.message ?? 'unknown error'}`, p?.nextStep);
  }
  let existing;
  try {
    const out = await logs.send(new logsdk.DescribeMetricFiltersCommand({ logGroupName: spec.logGroupName, filterNamePrefix: spec.filterName }));
    existing = out.metricFilters?.find((f) => f.filterName === spec.filterName);
  } catch (err) {
    const problem = clients.problem(err, { action: 'logs:DescribeMetricFilters', resource: spec.logGroupName });
    if (problem.kind === 'not-found') {
      return { ...base, status: 'skipped', reason: `log group ${spec.logGroupName} does not exist yet (Lambda creates it on the first invocation); run create-alarm again after one` };
    }
    throw clients.error(err, { action: 'logs:DescribeMetricFilters', resource: spec.logGroupName });
  }
  const t = existing?.metricTransformations?.[0];
  const same =
    existing &&
    existing.filterPattern === spec.filterPattern &&
    t?.metricNamespace === spec.metricNamespace &&
    t?.metricName === spec.metricName &&
    String(t?.metricValue) === '1';
  if (same) return { ...base, status: 'unchanged' };
  try {
    await logs.send(
      new logsdk.PutMetricFilterCommand({
        logGroupName: spec.logGroupName,
        filterName: spec.filterName,
        filterPattern: spec.filterPattern,
        metricTransformations: [{ metricNamespace: spec.metricNamespace, metricName: spec.metricName, metricValue: '1', defaultValue: 0 }],
      }),
    );
  } catch (err) {
    throw clients.error(err, { action: 'logs:PutMetricFilter', resource: spec.logGroupName });
  }
  return { ...base, status: existing ? 'updated' : 'created' };
}

export default defineTool({
  name: 'create-alarm',
  title: 'Create a CloudWatch alarm for a deployed function',
  description:
    "Creates (or brings up to date) a CloudWatch alarm for a Lambda function from a preset: `errors` (Errors Sum ≥ 1 in 5 min), `throttles` (Throttles Sum ≥ 1 in 5 min), `duration-p95` (p95 Duration above the threshold in 2 of 3 five-minute periods; default the config's performance.p95Ms, else 80% of the function timeout; must be below the timeout), or `log-errors` (the custom metric below ≥ 1 in 5 min). `threshold` overrides the preset's default. Also makes sure the function's log group has a metric filter counting error lines (ERROR, Error, Exception, Task timed out) into DeployMcp/<project> — the custom metric `log-errors` alarms on. Alarm actions default to the config's notify.snsTopicArn. Idempotent: an alarm that already matches is left alone (`created: false, updated: false`). Phase 6 needs at least one alarm per function deployed in phase 4.",
  phases: [6],
  aws: true,
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  input: z
    .object({
      taskId: TaskIdInput,
      function: FunctionName,
      preset: z.enum(ALARM_PRESETS).describe('errors | throttles | duration-p95 | log-errors'),
      threshold: z.number().positive().optional().describe("Overrides the preset's default threshold (count, or milliseconds for duration-p95)"),
      actions: z
        .array(z.string().regex(/^arn:aws[a-z-]*:[a-z0-9-]+:/, 'an action ARN (SNS topic, …)'))
        .max(5)
        .optional()
        .describe('Alarm/OK action ARNs; default the config notify.snsTopicArn'),
    })
    .strict(),
  output: z.object({
    alarmName: z.string(),
    alarmArn: z.string().optional(),
    function: z.string(),
    preset: z.string(),
    created: z.boolean(),
    updated: z.boolean(),
    changedFields: z.array(z.string()),
    metric: z.object({
      namespace: z.string(),
      metricName: z.string(),
      statistic: z.string(),
      threshold: z.number(),
      comparisonOperator: z.string(),
      period: z.number(),
      evaluationPeriods: z.number(),
      datapointsToAlarm: z.number(),
    }),
    actions: z.array(z.string()),
    metricFilter: MetricFilterOutput,
    deployedInThisTask: z.boolean(),
    warnings: z.array(z.string()),
  }),
  summarize: (o) =>
    `Alarm ${o.alarmName} (${o.preset}: ${o.metric.metricName} ${o.metric.statistic} ${o.metric.comparisonOperator === 'GreaterThanThreshold' ? '>' : '≥'} ${o.metric.threshold}) ${
      o.created ? 'created' : o.updated ? `updated (${o.changedFields.join(', ')})` : 'already up to date'
    }; ${o.actions.length ? `notifies ${o.actions.length} action(s)` : 'NO actions'}; log metric filter ${o.metricFilter.status}.${o.warnings.map((w) => ` ⚠ ${w}`).join('')}`,
  async run(input, ctx) {
    const state = ctx.task!;
    const project = ctx.config?.project ?? 'deploy';
    const clients = ctx.aws();
    const lambdasdk = await import('@aws-sdk/client-lambda');
    const cw = await import('@aws-sdk/client-cloudwatch');

    let fnConfig;
    try {
      fnConfig = await (await clients.lambda()).send(new lambdasdk.GetFunctionConfigurationCommand({ FunctionName: input.function }));
    } catch (err) {
      throw clients.error(err, { action: 'lambda:GetFunctionConfiguration', resource: input.function });
    }
    const filterSpec = metricFilterSpec(project, input.function, logGroupOf(input.function, fnConfig.LoggingConfig?.LogGroup));
    const filter = await ensureMetricFilter(clients, filterSpec);
    if (input.preset === 'log-errors' && filter.status === 'skipped') {
      throw new ToolError('no-log-group', `Cannot alarm on log errors of ${input.function}: ${filter.reason}.`, 'Invoke the function once (smoke-test) or create its log group with a retention period, then call create-alarm again.');
    }

    const actions = input.actions ?? (ctx.config?.notify?.snsTopicArn ? [ctx.config.notify.snsTopicArn] : []);
    let spec;
    try {
      spec = alarmSpec({
        project,
        functionName: input.function,
        preset: input.preset,
        threshold: input.threshold,
        timeoutSec: fnConfig.Timeout ?? 3,
        p95Ms: ctx.config?.performance?.p95Ms,
        actions,
        description: `deploy-mcp task #${state.taskId} (${state.environment}/${state.component}): ${input.preset} alarm for Lambda function ${input.function}. Runbook: tasks/${state.taskId}/runbook.md`,
        filter: filterSpec,
      });
    } catch (err) {
      if (err instanceof PresetError) throw new ToolError('invalid-threshold', err.message, 'Pass a threshold below the function timeout, or raise the timeout first.');
      throw err;
    }

    const cloudwatch = await clients.cloudwatch();
    let existing;
    try {
      existing = (await cloudwatch.send(new cw.DescribeAlarmsCommand({ AlarmNames: [spec.AlarmName], AlarmTypes: ['MetricAlarm'] }))).MetricAlarms?.[0];
    } catch (err) {
      throw clients.error(err, { action: 'cloudwatch:DescribeAlarms', resource: spec.AlarmName });
    }
    const changedFields = existing ? alarmDifferences(existing as never, spec) : [];
    if (!existing || changedFields.length > 0) {
      try {
        await cloudwatch.send(
          new cw.PutMetricAlarmCommand({
            ...spec,
            Dimensions: spec.Dimensions.length ? spec.Dimensions : undefined,
            ...(existing
              ? {}
              : { Tags: [{ Key: 'project', Value: project }, { Key: 'environment', Value: state.environment }, { Key: 'deploy-mcp-task', Value: String(state.taskId) }] }),
          }),
        );
      } catch (err) {
        throw clients.error(err, { action: 'cloudwatch:PutMetricAlarm', resource: spec.AlarmName });
      }
    }
    let arn = existing?.AlarmArn;
    if (!arn) {
      try {
        arn = (await cloudwatch.send(new cw.DescribeAlarmsCommand({ AlarmNames: [spec.AlarmName] }))).MetricAlarms?.[0]?.AlarmArn;
      } catch {
        arn = undefined;
      }
    }

    const deployedInThisTask = deployedFunctions(state).includes(input.function);
    const warnings: string[] = [];
    if (!deployedInThisTask) warnings.push(`${input.function} was not deployed by this task in phase 4, so this alarm does not count towards the phase 6 criterion.`);
    if (actions.length === 0) warnings.push('The alarm has no actions: it will change state and nobody will hear. Set notify.snsTopicArn in the config or pass actions.');
    if (filter.status === 'skipped') warnings.push(`Log metric filter skipped: ${filter.reason}.`);
    return {
      alarmName: spec.AlarmName,
      ...(arn ? { alarmArn: arn } : {}),
      function: input.function,
      preset: input.preset,
      created: !existing,
      updated: !!existing && changedFields.length > 0,
      changedFields,
      metric: {
        namespace: spec.Namespace,
        metricName: spec.MetricName,
        statistic: spec.ExtendedStatistic ?? spec.Statistic ?? 'Sum',
        threshold: spec.Threshold,
        comparisonOperator: spec.ComparisonOperator,
        period: spec.Period,
        evaluationPeriods: spec.EvaluationPeriods,
        datapointsToAlarm: spec.DatapointsToAlarm,
      },
      actions,
      metricFilter: filter,
      deployedInThisTask,
      warnings,
    };
  },
});
