export const RESOURCE_TYPES = [
  's3-bucket',
  'lambda-function',
  'lambda-alias',
  'log-group',
  'iam-role',
  'cloudwatch-alarm',
  'security-group',
] as const;

export type ResourceType = (typeof RESOURCE_TYPES)[number];

export function isResourceType(value: unknown): value is ResourceType {
  return typeof value === 'string' && (RESOURCE_TYPES as readonly string[]).includes(value);
}

export interface Discrepancy {
  field: string;
  expected: unknown;
  actual: unknown;
}

/** A property that could not be read (AccessDenied on one call, an unsupported operation…). */
export interface PropertyProblem {
  field: string;
  code: string;
  message: string;
  nextStep?: string;
}

export type FlagSeverity = 'high' | 'medium' | 'low';

/** Something risky that was read, whether or not an expectation asked about it. */
export interface Flag {
  field: string;
  severity: FlagSeverity;
  message: string;
}

export interface VerifySpec {
  type: ResourceType;
  name: string;
  expect?: Record<string, unknown>;
}

export interface VerifyResult {
  type: ResourceType;
  name: string;
  /** False when the resource is missing, and also when existence could not be determined (see `existence`). */
  exists: boolean;
  existence: 'present' | 'absent' | 'unknown';
  actual: Record<string, unknown>;
  discrepancies: Discrepancy[];
  problems: PropertyProblem[];
  flags: Flag[];
  /** Exists as expected (or is absent as expected), no discrepancy and no problem. */
  verified: boolean;
}

/** What an inspector read, before it is compared with the expectations. */
export interface Inspection {
  existence: 'present' | 'absent' | 'unknown';
  actual: Record<string, unknown>;
  problems: PropertyProblem[];
  flags: Flag[];
}
