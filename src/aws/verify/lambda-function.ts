import type { AwsClients } from '../clients.js';
import { assembleResult } from './compare.js';
import { InspectionBuilder } from './inspection.js';
import type { Inspection, VerifyResult } from './types.js';

export async function inspectFunction(clients: AwsClients, name: string): Promise<Inspection> {
  const { GetFunctionCommand } = await import('@aws-sdk/client-lambda');
  const lambda = await clients.lambda();
  const b = new InspectionBuilder(clients);
  const ctx = { action: 'lambda:GetFunction', resource: name };

  let out;
  try {
    out = await lambda.send(new GetFunctionCommand({ FunctionName: name }));
  } catch (err) {
    return b.existenceFailed(err, ctx);
  }
  const c = out.Configuration ?? {};
  Object.assign(b.actual, {
    arn: c.FunctionArn ?? null,
    state: c.State ?? null,
    lastUpdateStatus: c.LastUpdateStatus ?? null,
    runtime: c.Runtime ?? null,
    handler: c.Handler ?? null,
    memorySize: c.MemorySize ?? null,
    timeout: c.Timeout ?? null,
    role: c.Role ?? null,
    architectures: c.Architectures ?? ['x86_64'],
    // Names only: values may be secrets and must never leave this function.
    environmentVariables: Object.keys(c.Environment?.Variables ?? {}).sort(),
    tags: { ...(out.Tags ?? {}) },
    vpcSubnetIds: [...(c.VpcConfig?.SubnetIds ?? [])].sort(),
    vpcSecurityGroupIds: [...(c.VpcConfig?.SecurityGroupIds ?? [])].sort(),
    vpcId: c.VpcConfig?.VpcId || null,
    version: c.Version ?? null,
    codeSha256: c.CodeSha256 ?? null,
  });
  if (c.State && c.State !== 'Active') b.flag('state', c.State === 'Failed' ? 'high' : 'low', `Function ${name} is ${c.State}${c.StateReason ? `: ${c.StateReason}` : ''}`);
  if (c.LastUpdateStatus === 'Failed') b.flag('lastUpdateStatus', 'high', `The last update of ${name} failed${c.LastUpdateStatusReason ? `: ${c.LastUpdateStatusReason}` : ''}`);
  return b.done();
}

export async function verifyFunction(clients: AwsClients, name: string, expect: Record<string, unknown> = {}): Promise<VerifyResult> {
  return assembleResult('lambda-function', name, expect, await inspectFunction(clients, name));
}
