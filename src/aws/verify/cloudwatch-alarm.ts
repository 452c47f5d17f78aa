import type { AwsClients } from '../clients.js';
import { assembleResult } from './compare.js';
import { InspectionBuilder } from './inspection.js';
import type { Inspection, VerifyResult } from './types.js';

export async function inspectAlarm(clients: AwsClients, name: string): Promise<Inspection> {
  const { DescribeAlarmsCommand } = await import('@aws-sdk/client-cloudwatch');
  const cloudwatch = await clients.cloudwatch();
  const b = new InspectionBuilder(clients);
  let out;
  try {
    out = await cloudwatch.send(new DescribeAlarmsCommand({ AlarmNames: [name], AlarmTypes: ['MetricAlarm', 'CompositeAlarm'] }));
  } catch (err) {
    return b.existenceFailed(err, { action: 'cloudwatch:DescribeAlarms', resource: name });
  }
  const metric = out.MetricAlarms?.find((a) => a.AlarmName === name);
  const composite = out.CompositeAlarms?.find((a) => a.AlarmName === name);
  if (metric) {
    Object.assign(b.actual, {
      arn: metric.AlarmArn ?? null,
      namespace: metric.Namespace ?? null,
      metricName: metric.MetricName ?? null,
      statistic: metric.Statistic ?? metric.ExtendedStatistic ?? null,
      threshold: metric.Threshold ?? null,
      comparisonOperator: metric.ComparisonOperator ?? null,
      alarmActions: [...(metric.AlarmActions ?? [])],
      state: metric.StateValue ?? null,
      dimensions: Object.fromEntries((metric.Dimensions ?? []).map((d) => [d.Name ?? '', d.Value ?? ''])),
      actionsEnabled: metric.ActionsEnabled ?? null,
    });
  } else if (composite) {
    Object.assign(b.actual, {
      arn: composite.AlarmArn ?? null,
      namespace: null,
      metricName: null,
      statistic: null,
      threshold: null,
      comparisonOperator: null,
      alarmActions: [...(composite.AlarmActions ?? [])],
      state: composite.StateValue ?? null,
      alarmRule: composite.AlarmRule ?? null,
      actionsEnabled: composite.ActionsEnabled ?? null,
    });
  } else {
    return b.absent();
  }
  const actions = b.actual.alarmActions as string[];
  if (actions.length === 0) b.flag('alarmActions', 'medium', `Alarm ${name} has no alarm actions: nobody is notified when it fires`);
  else if (b.actual.actionsEnabled === false) b.flag('alarmActions', 'medium', `Alarm ${name} has its actions disabled`);
  return b.done();
}

export async function verifyAlarm(clients: AwsClients, name: string, expect: Record<string, unknown> = {}): Promise<VerifyResult> {
  return assembleResult('cloudwatch-alarm', name, expect, await inspectAlarm(clients, name));
}
