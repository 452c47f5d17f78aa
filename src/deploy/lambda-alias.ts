/**
 * Lambda alias moves shared by deploy-lambda, test-rollback and rollback: read where an alias
 * points, point it somewhere (optionally weighted), and restore it to one version with routing
 * cleared, verified by reading it back.
 */
import type { AwsClients } from '../aws/clients.js';
import { awsCall, isNotFound } from './aws-call.js';

export interface AliasState {
  functionVersion: string;
  /** `{version: weight}` of additional versions (weights 0–1); `{}` = unweighted. */
  weights: Record<string, number>;
  revisionId?: string;
  arn?: string;
}

export const aliasResource = (functionName: string, alias: string) => `${functionName}:${alias}`;

/** Where the alias points, or null when it does not exist. */
export async function readAlias(clients: AwsClients, functionName: string, alias: string, signal?: AbortSignal): Promise<AliasState | null> {
  const { GetAliasCommand } = await import('@aws-sdk/client-lambda');
  const lambda = await clients.lambda();
  try {
    const out = await awsCall(clients, 'lambda:GetAlias', aliasResource(functionName, alias), () =>
      lambda.send(new GetAliasCommand({ FunctionName: functionName, Name: alias }), { abortSignal: signal }),
    );
    return {
      functionVersion: out.FunctionVersion ?? '',
      weights: { ...(out.RoutingConfig?.AdditionalVersionWeights ?? {}) },
      ...(out.RevisionId ? { revisionId: out.RevisionId } : {}),
      ...(out.AliasArn ? { arn: out.AliasArn } : {}),
    };
  } catch (err) {
    if (isNotFound(err)) return null;
    throw err;
  }
}

/** Points the alias at `version`, with `weights` for additional versions (`{}` clears routing). */
export async function pointAlias(
  clients: AwsClients,
  functionName: string,
  alias: string,
  version: string,
  weights: Record<string, number> = {},
  signal?: AbortSignal,
): Promise<AliasState> {
  const { UpdateAliasCommand } = await import('@aws-sdk/client-lambda');
  const lambda = await clients.lambda();
  const out = await awsCall(clients, 'lambda:UpdateAlias', aliasResource(functionName, alias), () =>
    lambda.send(
      new UpdateAliasCommand({ FunctionName: functionName, Name: alias, FunctionVersion: version, RoutingConfig: { AdditionalVersionWeights: weights } }),
      { abortSignal: signal },
    ),
  );
  return { functionVersion: out.FunctionVersion ?? version, weights: { ...(out.RoutingConfig?.AdditionalVersionWeights ?? {}) }, ...(out.RevisionId ? { revisionId: out.RevisionId } : {}) };
}

export async function createAlias(clients: AwsClients, functionName: string, alias: string, version: string, signal?: AbortSignal): Promise<AliasState> {
  const { CreateAliasCommand } = await import('@aws-sdk/client-lambda');
  const lambda = await clients.lambda();
  const out = await awsCall(clients, 'lambda:CreateAlias', aliasResource(functionName, alias), () =>
    lambda.send(new CreateAliasCommand({ FunctionName: functionName, Name: alias, FunctionVersion: version }), { abortSignal: signal }),
  );
  return { functionVersion: out.FunctionVersion ?? version, weights: {}, ...(out.AliasArn ? { arn: out.AliasArn } : {}) };
}

export function isUnweightedOn(state: AliasState | null, version: string): boolean {
  return !!state && state.functionVersion === version && Object.keys(state.weights).length === 0;
}

export function describeAlias(state: AliasState | null): string {
  if (!state) return 'absent';
  const weights = Object.entries(state.weights);
  return weights.length
    ? `version ${state.functionVersion} with ${weights.map(([v, w]) => `${Math.round(w * 1000) / 10}% on version ${v}`).join(', ')}`
    : `version ${state.functionVersion}, unweighted`;
}

export interface AliasRestore {
  function: string;
  alias: string;
  version: string;
  /** Where it pointed before the restore. */
  before: AliasState | null;
  /** Read back after the restore. */
  after: AliasState | null;
  verified: boolean;
  /** False when it already pointed there, unweighted. */
  changed: boolean;
}

/**
 * Puts the alias on `version` with routing cleared and reads it back. Skips the update when the
 * alias already points there unweighted (so a restore after a failed update makes no extra change).
 */
export async function restoreAlias(clients: AwsClients, functionName: string, alias: string, version: string, signal?: AbortSignal): Promise<AliasRestore> {
  const before = await readAlias(clients, functionName, alias, signal);
  let changed = false;
  if (!isUnweightedOn(before, version)) {
    await pointAlias(clients, functionName, alias, version, {}, signal);
    changed = true;
  }
  const after = changed ? await readAlias(clients, functionName, alias, signal) : before;
  return { function: functionName, alias, version, before, after, verified: isUnweightedOn(after, version), changed };
}
