/**
 * Alarm presets per Lambda function, the log metric filter that counts errors in a function's
 * log group, and the dashboard body. Pure: names, specs and comparisons; the tools do the I/O.
 */

export const ALARM_PRESETS = ['errors', 'throttles', 'duration-p95', 'log-errors'] as const;
export type AlarmPreset = (typeof ALARM_PRESETS)[number];

/** The namespace of the custom metrics deploy-mcp's metric filters publish. */
export function customNamespace(project: string): string {
  return `DeployMcp/${project}`;
}

/** CloudWatch Logs filter pattern: any of these terms in a line counts as one error. */
export const ERROR_FILTER_PATTERN = '?ERROR ?Error ?Exception ?"Task timed out"';
/** The same terms, for counting matching lines client-side. */
export const ERROR_LINE = /ERROR|Error|Exception|Task timed out/;

export interface MetricFilterSpec {
  logGroupName: string;
  filterName: string;
  filterPattern: string;
  metricNamespace: string;
  metricName: string;
}

export function logGroupOf(functionName: string, configured?: string): string {
  return configured || `/aws/lambda/${functionName}`;
}

export function metricFilterSpec(project: string, functionName: string, logGroupName: string): MetricFilterSpec {
  return {
    logGroupName,
    filterName: `${functionName}-log-errors`,
    filterPattern: ERROR_FILTER_PATTERN,
    metricNamespace: customNamespace(project),
    metricName: `${functionName}-LogErrors`,
  };
}

export function alarmName(project: string, functionName: string, preset: AlarmPreset): string {
  const base = functionName.includes(project) ? functionName : `${project}-${functionName}`;
  return `${base}-${preset}`.slice(0, 255);
}

export interface AlarmSpec {
  AlarmName: string;
  AlarmDescription: string;
  Namespace: string;
  MetricName: string;
  Dimensions: { Name: string; Value: string }[];
  Statistic?: 'Sum' | 'Average' | 'Maximum' | 'Minimum' | 'SampleCount';
  ExtendedStatistic?: string;
  Threshold: number;
  ComparisonOperator: 'GreaterThanOrEqualToThreshold' | 'GreaterThanThreshold';
  Period: number;
  EvaluationPeriods: number;
  DatapointsToAlarm: number;
  TreatMissingData: 'notBreaching' | 'missing' | 'breaching' | 'ignore';
  AlarmActions: string[];
  OKActions: string[];
  ActionsEnabled: boolean;
}

export interface PresetInput {
  project: string;
  functionName: string;
  preset: AlarmPreset;
  threshold?: number;
  /** Function timeout in seconds (bounds the duration threshold). */
  timeoutSec: number;
  /** Configured p95 latency limit (performance.p95Ms), the duration preset's default. */
  p95Ms?: number;
  actions: string[];
  description: string;
  filter?: MetricFilterSpec;
}

export class PresetError extends Error {}

/** Sensible defaults per preset: any error / throttle in 5 minutes; p95 duration in 2 of 3 five-minute periods. */
export function alarmSpec(p: PresetInput): AlarmSpec {
  const base = {
    AlarmName: alarmName(p.project, p.functionName, p.preset),
    AlarmDescription: p.description.slice(0, 1024),
    Dimensions: [{ Name: 'FunctionName', Value: p.functionName }],
    AlarmActions: [...p.actions].sort(),
    OKActions: [...p.actions].sort(),
    ActionsEnabled: true,
  };
  switch (p.preset) {
    case 'errors':
    case 'throttles':
      return {
        ...base,
        Namespace: 'AWS/Lambda',
        MetricName: p.preset === 'errors' ? 'Errors' : 'Throttles',
        Statistic: 'Sum',
        Threshold: p.threshold ?? 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        Period: 300,
        EvaluationPeriods: 1,
        DatapointsToAlarm: 1,
        TreatMissingData: 'notBreaching',
      };
    case 'duration-p95': {
      const timeoutMs = p.timeoutSec * 1000;
      const threshold = p.threshold ?? (p.p95Ms !== undefined && p.p95Ms < timeoutMs ? p.p95Ms : Math.round(timeoutMs * 0.8));
      if (threshold >= timeoutMs) {
        throw new PresetError(
          `A duration-p95 threshold of ${threshold} ms is not below the function timeout of ${timeoutMs} ms: invocations that slow time out and show up as errors, so this alarm could never fire.`,
        );
      }
      return {
        ...base,
        Namespace: 'AWS/Lambda',
        MetricName: 'Duration',
        ExtendedStatistic: 'p95',
        Threshold: threshold,
        ComparisonOperator: 'GreaterThanThreshold',
        Period: 300,
        EvaluationPeriods: 3,
        DatapointsToAlarm: 2,
        TreatMissingData: 'notBreaching',
      };
    }
    case 'log-errors':
      if (!p.filter) throw new PresetError('The log-errors preset needs the log metric filter of the function.');
      return {
        ...base,
        Dimensions: [],
        Namespace: p.filter.metricNamespace,
        MetricName: p.filter.metricName,
        Statistic: 'Sum',
        Threshold: p.threshold ?? 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        Period: 300,
        EvaluationPeriods: 1,
        DatapointsToAlarm: 1,
        TreatMissingData: 'notBreaching',
      };
  }
}

/** The fields of an existing alarm that decide whether it already matches the spec. */
export interface ExistingAlarm {
  AlarmDescription?: string;
  Namespace?: string;
  MetricName?: string;
  Dimensions?: { Name?: string; Value?: string }[];
  Statistic?: string;
  ExtendedStatistic?: string;
  Threshold?: number;
  ComparisonOperator?: string;
  Period?: number;
  EvaluationPeriods?: number;
  DatapointsToAlarm?: number;
  TreatMissingData?: string;
  AlarmActions?: string[];
  OKActions?: string[];
  ActionsEnabled?: boolean;
}

/** Fields where the existing alarm differs from the spec (empty: nothing to do). */
export function alarmDifferences(existing: ExistingAlarm, spec: AlarmSpec): string[] {
  const diffs: string[] = [];
  const same = (a: unknown, b: unknown) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
  const dims = (d: { Name?: string; Value?: string }[] | undefined) => (d ?? []).map((x) => `${x.Name}=${x.Value}`).sort();
  const checks: [string, unknown, unknown][] = [
    ['Namespace', existing.Namespace, spec.Namespace],
    ['MetricName', existing.MetricName, spec.MetricName],
    ['Dimensions', dims(existing.Dimensions), dims(spec.Dimensions)],
    ['Statistic', existing.Statistic, spec.Statistic],
    ['ExtendedStatistic', existing.ExtendedStatistic, spec.ExtendedStatistic],
    ['Threshold', existing.Threshold, spec.Threshold],
    ['ComparisonOperator', existing.ComparisonOperator, spec.ComparisonOperator],
    ['Period', existing.Period, spec.Period],
    ['EvaluationPeriods', existing.EvaluationPeriods, spec.EvaluationPeriods],
    ['DatapointsToAlarm', existing.DatapointsToAlarm ?? existing.EvaluationPeriods, spec.DatapointsToAlarm],
    ['TreatMissingData', existing.TreatMissingData ?? 'missing', spec.TreatMissingData],
    ['AlarmActions', [...(existing.AlarmActions ?? [])].sort(), spec.AlarmActions],
    ['OKActions', [...(existing.OKActions ?? [])].sort(), spec.OKActions],
    ['ActionsEnabled', existing.ActionsEnabled ?? true, spec.ActionsEnabled],
    ['AlarmDescription', existing.AlarmDescription, spec.AlarmDescription],
  ];
  for (const [field, a, b] of checks) if (!same(a, b)) diffs.push(field);
  return diffs;
}

// ---- Dashboard ----------------------------------------------------------------------------------

export interface DashboardInput {
  title: string;
  region: string;
  /** Each function with the ARNs of its alarms and its log-error metric (when the filter exists). */
  functions: { name: string; alarmArns: string[]; logMetric?: { namespace: string; metricName: string } }[];
  /** Every alarm of the deployment, for the status widget at the top. */
  alarmArns: string[];
}

export function dashboardName(project: string, environment: string, component: string): string {
  return `${project}-${environment}-${component}`.replace(/[^A-Za-z0-9_-]/g, '-').slice(0, 255);
}

export function dashboardBody(d: DashboardInput): { widgets: Record<string, unknown>[] } {
  const widgets: Record<string, unknown>[] = [];
  let y = 0;
  widgets.push({
    type: 'text',
    x: 0,
    y,
    width: 24,
    height: 2,
    properties: { markdown: `# ${d.title}\nFunctions: ${d.functions.map((f) => `\`${f.name}\``).join(', ')} · region ${d.region} · maintained by deploy-mcp` },
  });
  y += 2;
  if (d.alarmArns.length > 0) {
    widgets.push({ type: 'alarm', x: 0, y, width: 24, height: 3, properties: { title: 'Alarm status', alarms: d.alarmArns, sortBy: 'stateUpdatedTimestamp' } });
    y += 3;
  }
  for (const fn of d.functions) {
    const dim = ['FunctionName', fn.name];
    widgets.push({
      type: 'metric',
      x: 0,
      y,
      width: 8,
      height: 6,
      properties: {
        title: `${fn.name} — invocations, errors, throttles`,
        region: d.region,
        view: 'timeSeries',
        stacked: false,
        stat: 'Sum',
        period: 60,
        metrics: [
          ['AWS/Lambda', 'Invocations', ...dim],
          ['AWS/Lambda', 'Errors', ...dim],
          ['AWS/Lambda', 'Throttles', ...dim],
        ],
      },
    });
    widgets.push({
      type: 'metric',
      x: 8,
      y,
      width: 8,
      height: 6,
      properties: {
        title: `${fn.name} — duration p50 / p95 / p99 (ms)`,
        region: d.region,
        view: 'timeSeries',
        period: 60,
        metrics: [
          ['AWS/Lambda', 'Duration', ...dim, { stat: 'p50' }],
          ['AWS/Lambda', 'Duration', ...dim, { stat: 'p95' }],
          ['AWS/Lambda', 'Duration', ...dim, { stat: 'p99' }],
        ],
      },
    });
    widgets.push({
      type: 'metric',
      x: 16,
      y,
      width: 8,
      height: 6,
      properties: {
        title: `${fn.name} — concurrency${fn.logMetric ? ' and error lines in its logs' : ''}`,
        region: d.region,
        view: 'timeSeries',
        period: 60,
        metrics: [
          ['AWS/Lambda', 'ConcurrentExecutions', ...dim, { stat: 'Maximum' }],
          ...(fn.logMetric ? [[fn.logMetric.namespace, fn.logMetric.metricName, { stat: 'Sum', yAxis: 'right' }]] : []),
        ],
      },
    });
    y += 6;
    if (fn.alarmArns.length > 0) {
      widgets.push({ type: 'alarm', x: 0, y, width: 24, height: 2, properties: { title: `${fn.name} — alarms`, alarms: fn.alarmArns } });
      y += 2;
    }
  }
  return { widgets };
}

export function dashboardUrl(region: string, name: string): string {
  return `https://${region}.console.aws.amazon.com/cloudwatch/home?region=${region}#dashboards/dashboard/${encodeURIComponent(name)}`;
}
