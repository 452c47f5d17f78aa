import type { AwsClients } from '../clients.js';
import { assembleResult } from './compare.js';
import { InspectionBuilder } from './inspection.js';
import type { Inspection, VerifyResult } from './types.js';

export async function inspectLogGroup(clients: AwsClients, name: string): Promise<Inspection> {
  const { paginateDescribeLogGroups } = await import('@aws-sdk/client-cloudwatch-logs');
  const logs = await clients.logs();
  const b = new InspectionBuilder(clients);
  const ctx = { action: 'logs:DescribeLogGroups', resource: name };

  // DescribeLogGroups only filters by prefix: page until the exact name shows up.
  let found;
  try {
    for await (const page of paginateDescribeLogGroups({ client: logs }, { logGroupNamePrefix: name })) {
      found = page.logGroups?.find((g) => g.logGroupName === name);
      if (found) break;
    }
  } catch (err) {
    return b.existenceFailed(err, ctx);
  }
  if (!found) return b.absent();
  b.actual.arn = found.logGroupArn ?? found.arn?.replace(/:\*$/, '') ?? null;
  b.actual.retentionInDays = found.retentionInDays ?? null;
  b.actual.kmsKeyId = found.kmsKeyId ?? null;
  if (found.retentionInDays === undefined) b.flag('retentionInDays', 'low', `Log group ${name} never expires its events (no retention set)`);
  return b.done();
}

export async function verifyLogGroup(clients: AwsClients, name: string, expect: Record<string, unknown> = {}): Promise<VerifyResult> {
  return assembleResult('log-group', name, expect, await inspectLogGroup(clients, name));
}
