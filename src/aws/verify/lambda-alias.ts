import type { AwsClients } from '../clients.js';
import { assembleResult } from './compare.js';
import { InspectionBuilder } from './inspection.js';
import type { Inspection, VerifyResult } from './types.js';

/** Splits `function:alias` (the function part may itself be an ARN). */
export function parseAliasName(name: string): { functionName: string; alias: string } | undefined {
  const at = name.lastIndexOf(':');
  if (at <= 0 || at === name.length - 1) return undefined;
  return { functionName: name.slice(0, at), alias: name.slice(at + 1) };
}

export async function inspectAlias(clients: AwsClients, name: string): Promise<Inspection> {
  const b = new InspectionBuilder(clients);
  const parsed = parseAliasName(name);
  if (!parsed) {
    b.existence = 'unknown';
    b.problems.push({ field: 'exists', code: 'InvalidName', message: `A lambda-alias name is "function:alias", got "${name}"`, nextStep: 'write the name as function:alias, e.g. my-fn:live' });
    return b.done();
  }
  const { GetAliasCommand } = await import('@aws-sdk/client-lambda');
  const lambda = await clients.lambda();
  const ctx = { action: 'lambda:GetAlias', resource: name };
  let out;
  try {
    out = await lambda.send(new GetAliasCommand({ FunctionName: parsed.functionName, Name: parsed.alias }));
  } catch (err) {
    return b.existenceFailed(err, ctx);
  }
  b.actual.arn = out.AliasArn ?? null;
  b.actual.functionVersion = out.FunctionVersion ?? null;
  b.actual.routingWeights = { ...(out.RoutingConfig?.AdditionalVersionWeights ?? {}) };
  return b.done();
}

export async function verifyAlias(clients: AwsClients, name: string, expect: Record<string, unknown> = {}): Promise<VerifyResult> {
  return assembleResult('lambda-alias', name, expect, await inspectAlias(clients, name));
}
