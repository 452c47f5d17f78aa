/**
 * What the deployment looks like in AWS right now, for the report: alarm states, error lines in
 * each function's logs since it was deployed, and the role/log group each function uses. Every
 * read that fails is reported as unavailable with its reason, never filled in.
 */
import type { AwsClients } from '../aws/clients.js';
import { mapWithConcurrency } from '../aws/concurrency.js';
import { ERROR_LINE } from '../monitoring/alarms.js';

export interface AlarmStatus {
  name: string;
  state?: string;
  since?: string;
  reason?: string;
  actions?: string[];
  error?: string;
}

export interface LogErrorCount {
  function: string;
  logGroup: string;
  errorCount?: number;
  scannedEvents?: number;
  /** Stopped at the scan limit: the count is a lower bound. */
  capped?: boolean;
  samples?: string[];
  note?: string;
  error?: string;
}

export interface FunctionWiring {
  function: string;
  role?: string;
  logGroup: string;
  securityGroups: string[];
  error?: string;
}

export interface MonitoringSnapshot {
  at: string;
  since?: string;
  alarms: AlarmStatus[];
  logErrors: LogErrorCount[];
  functions: FunctionWiring[];
}

const MAX_LOG_EVENTS = 10_000;

export async function monitoringSnapshot(
  clients: AwsClients,
  input: { alarmNames: string[]; functions: string[]; since?: string; now: Date },
): Promise<MonitoringSnapshot> {
  const snapshot: MonitoringSnapshot = { at: input.now.toISOString(), since: input.since, alarms: [], logErrors: [], functions: [] };

  const lambdasdk = await import('@aws-sdk/client-lambda');
  snapshot.functions = await mapWithConcurrency(input.functions, 4, async (fn): Promise<FunctionWiring> => {
    try {
      const c = await (await clients.lambda()).send(new lambdasdk.GetFunctionConfigurationCommand({ FunctionName: fn }));
      return { function: fn, role: c.Role, logGroup: c.LoggingConfig?.LogGroup ?? `/aws/lambda/${fn}`, securityGroups: c.VpcConfig?.SecurityGroupIds ?? [] };
    } catch (err) {
      return { function: fn, logGroup: `/aws/lambda/${fn}`, securityGroups: [], error: clients.problem(err, { action: 'lambda:GetFunctionConfiguration', resource: fn }).message };
    }
  });

  await Promise.all([
    (async () => {
      if (input.alarmNames.length === 0) return;
      const cw = await import('@aws-sdk/client-cloudwatch');
      const found = new Map<string, AlarmStatus>();
      try {
        const cloudwatch = await clients.cloudwatch();
        for (let i = 0; i < input.alarmNames.length; i += 100) {
          const out = await cloudwatch.send(new cw.DescribeAlarmsCommand({ AlarmNames: input.alarmNames.slice(i, i + 100), MaxRecords: 100 }));
          for (const a of out.MetricAlarms ?? []) {
            if (!a.AlarmName) continue;
            found.set(a.AlarmName, {
              name: a.AlarmName,
              state: a.StateValue,
              since: a.StateUpdatedTimestamp?.toISOString(),
              reason: a.StateReason,
              actions: a.AlarmActions ?? [],
            });
          }
        }
        snapshot.alarms = input.alarmNames.map((name) => found.get(name) ?? { name, error: 'the alarm does not exist any more' });
      } catch (err) {
        const message = clients.problem(err, { action: 'cloudwatch:DescribeAlarms' }).message;
        snapshot.alarms = input.alarmNames.map((name) => ({ name, error: message }));
      }
    })(),
    (async () => {
      const logsdk = await import('@aws-sdk/client-cloudwatch-logs');
      const startTime = input.since ? Date.parse(input.since) : undefined;
      snapshot.logErrors = await mapWithConcurrency(snapshot.functions, 4, async (f): Promise<LogErrorCount> => {
        const result: LogErrorCount = { function: f.function, logGroup: f.logGroup };
        try {
          const logs = await clients.logs();
          let scanned = 0;
          let errors = 0;
          const samples: string[] = [];
          let token: string | undefined;
          do {
            const out = await logs.send(new logsdk.FilterLogEventsCommand({ logGroupName: f.logGroup, startTime, nextToken: token, limit: 1000 }));
            for (const e of out.events ?? []) {
              scanned += 1;
              if (ERROR_LINE.test(e.message ?? '')) {
                errors += 1;
                if (samples.length < 3) samples.push((e.message ?? '').trim().slice(0, 200));
              }
            }
            token = out.nextToken;
          } while (token && scanned < MAX_LOG_EVENTS);
          return { ...result, errorCount: errors, scannedEvents: scanned, capped: !!token, samples };
        } catch (err) {
          const problem = clients.problem(err, { action: 'logs:FilterLogEvents', resource: f.logGroup });
          if (problem.kind === 'not-found') return { ...result, errorCount: 0, scannedEvents: 0, note: 'the log group does not exist: the function has not been invoked' };
          return { ...result, error: problem.message };
        }
      });
    })(),
  ]);
  return snapshot;
}
