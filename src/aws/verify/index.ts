import type { AwsClients } from '../clients.js';
import { verifyAlarm } from './cloudwatch-alarm.js';
import { verifyRole } from './iam-role.js';
import { verifyAlias } from './lambda-alias.js';
import { verifyFunction } from './lambda-function.js';
import { verifyLogGroup } from './log-group.js';
import { verifyBucket } from './s3-bucket.js';
import { verifySecurityGroup } from './security-group.js';
import { isResourceType, RESOURCE_TYPES, type ResourceType, type VerifyResult } from './types.js';

export type { Discrepancy, Flag, FlagSeverity, Inspection, PropertyProblem, ResourceType, VerifyResult, VerifySpec } from './types.js';
export { RESOURCE_TYPES, isResourceType } from './types.js';
export { assembleResult, compareExpectations, EXPECTATION_KEYS, normalisePorts, unknownExpectationKeys } from './compare.js';
export { verifyAlarm, verifyAlias, verifyBucket, verifyFunction, verifyLogGroup, verifyRole, verifySecurityGroup };

const VERIFIERS: Record<ResourceType, (clients: AwsClients, name: string, expect: Record<string, unknown>) => Promise<VerifyResult>> = {
  's3-bucket': verifyBucket,
  'lambda-function': verifyFunction,
  'lambda-alias': verifyAlias,
  'log-group': verifyLogGroup,
  'iam-role': verifyRole,
  'cloudwatch-alarm': verifyAlarm,
  'security-group': verifySecurityGroup,
};

/**
 * Reads one resource and compares it with the expectations of SPEC §5a. A missing resource is a
 * discrepancy on `exists`, never a throw; unreadable properties are `problems`.
 */
export async function verifyResource(
  clients: AwsClients,
  spec: { type: ResourceType; name: string; expect?: Record<string, unknown> },
): Promise<VerifyResult> {
  if (!isResourceType(spec.type)) {
    throw new Error(`Unknown resource type "${String(spec.type)}"; supported: ${RESOURCE_TYPES.join(', ')}`);
  }
  if (typeof spec.name !== 'string' || spec.name.trim() === '') throw new Error(`A ${spec.type} needs a name`);
  return VERIFIERS[spec.type](clients, spec.name, spec.expect ?? {});
}
