/**
 * Scheduled invocations of a function alias: an EventBridge rule (rate or cron), its target and
 * the Lambda permission that lets EventBridge invoke the alias. Idempotent: a second identical
 * call changes nothing. What existed before is returned so rollback can put it back.
 */
import type { AwsClients } from '../aws/clients.js';
import { ToolError } from '../tool.js';
import { awsCall, isNotFound } from './aws-call.js';
import { readAlias } from './lambda-alias.js';

export interface RuleTarget {
  id: string;
  arn: string;
  input?: string;
}

export interface RuleSnapshot {
  exists: boolean;
  arn?: string;
  scheduleExpression?: string;
  state?: string;
  description?: string;
  targets: RuleTarget[];
}

export interface ScheduleRequest {
  ruleName: string;
  functionName: string;
  alias: string;
  schedule: string;
  /** JSON text passed to the function as the event. */
  input?: string;
  description?: string;
  enabled: boolean;
}

export interface ScheduleResult {
  ruleName: string;
  ruleArn: string;
  created: boolean;
  changed: boolean;
  targetId: string;
  targetArn: string;
  statementId: string;
  permissionAdded: boolean;
  state: 'ENABLED' | 'DISABLED';
  previous: RuleSnapshot;
  changes: string[];
}

const RATE = /^rate\((1 (minute|hour|day)|([2-9]|[1-9]\d+) (minutes|hours|days))\)$/;
const CRON = /^cron\(\S+ \S+ \S+ \S+ \S+ \S+\)$/;

export function validateSchedule(expression: string): string | null {
  if (RATE.test(expression) || CRON.test(expression)) return null;
  return `"${expression}" is not an EventBridge schedule: use rate(5 minutes) / rate(1 hour) or cron(min hour day-of-month month day-of-week year), e.g. cron(0 3 * * ? *).`;
}

export const targetIdFor = (alias: string) => `deploy-mcp-${alias}`.replace(/[^.\-_A-Za-z0-9]/g, '-').slice(0, 64);
export const statementIdFor = (ruleName: string) => `deploy-mcp-${ruleName}`.replace(/[^A-Za-z0-9\-_]/g, '-').slice(0, 100);
export const defaultRuleName = (functionName: string, alias: string) => `${functionName}-${alias}-schedule`.replace(/[^.\-_A-Za-z0-9]/g, '-').slice(0, 64);

export async function readRule(clients: AwsClients, name: string, signal?: AbortSignal): Promise<RuleSnapshot> {
  const { DescribeRuleCommand, ListTargetsByRuleCommand } = await import('@aws-sdk/client-eventbridge');
  const events = await clients.eventbridge();
  let rule;
  try {
    rule = await awsCall(clients, 'events:DescribeRule', name, () => events.send(new DescribeRuleCommand({ Name: name }), { abortSignal: signal }));
  } catch (err) {
    if (isNotFound(err)) return { exists: false, targets: [] };
    throw err;
  }
  const targets: RuleTarget[] = [];
  let token: string | undefined;
  do {
    const page = await awsCall(clients, 'events:ListTargetsByRule', name, () =>
      events.send(new ListTargetsByRuleCommand({ Rule: name, ...(token ? { NextToken: token } : {}) }), { abortSignal: signal }),
    );
    for (const t of page.Targets ?? []) targets.push({ id: t.Id ?? '', arn: t.Arn ?? '', ...(t.Input !== undefined ? { input: t.Input } : {}) });
    token = page.NextToken && page.NextToken !== token ? page.NextToken : undefined;
  } while (token);
  return {
    exists: true,
    ...(rule.Arn ? { arn: rule.Arn } : {}),
    ...(rule.ScheduleExpression ? { scheduleExpression: rule.ScheduleExpression } : {}),
    ...(rule.State ? { state: rule.State } : {}),
    ...(rule.Description ? { description: rule.Description } : {}),
    targets,
  };
}

/** Whether the alias's resource policy already lets this rule invoke it. */
async function hasPermission(clients: AwsClients, functionName: string, alias: string, statementId: string, ruleArn: string, signal?: AbortSignal): Promise<boolean> {
  const { GetPolicyCommand } = await import('@aws-sdk/client-lambda');
  const lambda = await clients.lambda();
  let policy: string | undefined;
  try {
    policy = (await awsCall(clients, 'lambda:GetPolicy', `${functionName}:${alias}`, () =>
      lambda.send(new GetPolicyCommand({ FunctionName: functionName, Qualifier: alias }), { abortSignal: signal }),
    )).Policy;
  } catch (err) {
    if (isNotFound(err)) return false;
    throw err;
  }
  if (!policy) return false;
  const statements = (JSON.parse(policy) as { Statement?: Record<string, any>[] }).Statement ?? [];
  return statements.some((s) => s.Sid === statementId && JSON.stringify(s.Condition ?? {}).includes(ruleArn));
}

export async function configureSchedule(clients: AwsClients, req: ScheduleRequest, signal?: AbortSignal): Promise<ScheduleResult> {
  const problem = validateSchedule(req.schedule);
  if (problem) throw new ToolError('invalid-schedule', problem, 'Fix the schedule expression and call again.');
  const alias = await readAlias(clients, req.functionName, req.alias, signal);
  if (!alias?.arn) {
    throw new ToolError('alias-not-found', `Alias ${req.alias} of ${req.functionName} does not exist, so there is nothing to schedule.`, 'Deploy the function with deploy-lambda (which creates or moves the alias) first.');
  }
  const { PutRuleCommand, PutTargetsCommand } = await import('@aws-sdk/client-eventbridge');
  const { AddPermissionCommand } = await import('@aws-sdk/client-lambda');
  const events = await clients.eventbridge();
  const lambda = await clients.lambda();

  const previous = await readRule(clients, req.ruleName, signal);
  const state = req.enabled ? 'ENABLED' : 'DISABLED';
  const targetId = targetIdFor(req.alias);
  const statementId = statementIdFor(req.ruleName);
  const changes: string[] = [];

  const ruleSame =
    previous.exists && previous.scheduleExpression === req.schedule && previous.state === state && (req.description === undefined || previous.description === req.description);
  let ruleArn = previous.arn ?? '';
  if (!ruleSame) {
    const out = await awsCall(clients, 'events:PutRule', req.ruleName, () =>
      events.send(
        new PutRuleCommand({
          Name: req.ruleName,
          ScheduleExpression: req.schedule,
          State: state,
          Description: req.description ?? previous.description ?? `deploy-mcp: invokes ${req.functionName}:${req.alias}`,
        }),
        { abortSignal: signal },
      ),
    );
    ruleArn = out.RuleArn ?? ruleArn;
    changes.push(previous.exists ? `rule updated (${previous.scheduleExpression ?? '-'} ${previous.state ?? ''} → ${req.schedule} ${state})` : `rule created (${req.schedule}, ${state})`);
  }

  const permissionAdded = !(await hasPermission(clients, req.functionName, req.alias, statementId, ruleArn, signal));
  if (permissionAdded) {
    await awsCall(clients, 'lambda:AddPermission', `${req.functionName}:${req.alias}`, () =>
      lambda.send(
        new AddPermissionCommand({
          FunctionName: req.functionName,
          Qualifier: req.alias,
          StatementId: statementId,
          Action: 'lambda:InvokeFunction',
          Principal: 'events.amazonaws.com',
          SourceArn: ruleArn,
        }),
        { abortSignal: signal },
      ),
    );
    changes.push(`permission ${statementId} added on ${req.functionName}:${req.alias}`);
  }

  const existing = previous.targets.find((t) => t.id === targetId);
  if (!existing || existing.arn !== alias.arn || (existing.input ?? undefined) !== (req.input ?? undefined)) {
    const out = await awsCall(clients, 'events:PutTargets', req.ruleName, () =>
      events.send(new PutTargetsCommand({ Rule: req.ruleName, Targets: [{ Id: targetId, Arn: alias.arn!, ...(req.input !== undefined ? { Input: req.input } : {}) }] }), {
        abortSignal: signal,
      }),
    );
    if (out.FailedEntryCount) {
      const entry = out.FailedEntries?.[0];
      throw new ToolError('target-failed', `EventBridge did not accept the target for ${req.ruleName}: ${entry?.ErrorCode ?? ''} ${entry?.ErrorMessage ?? ''}.`, 'Check the alias ARN and the rule, then call again.');
    }
    changes.push(existing ? `target ${targetId} updated` : `target ${targetId} → ${alias.arn}`);
  }

  return {
    ruleName: req.ruleName,
    ruleArn,
    created: !previous.exists,
    changed: changes.length > 0,
    targetId,
    targetArn: alias.arn,
    statementId,
    permissionAdded,
    state,
    previous,
    changes,
  };
}
