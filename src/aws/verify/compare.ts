/**
 * The expectation rules of SPEC §5a as pure functions: what each key means, how an expected value
 * matches what was read, and how an inspection becomes a VerifyResult. No AWS here.
 */
import type { Discrepancy, Inspection, PropertyProblem, ResourceType, VerifyResult } from './types.js';

type Matcher = (expected: unknown, actual: unknown) => boolean;

/** Ranges wider than this stay as `"from-to"` strings instead of being expanded port by port. */
export const MAX_EXPANDED_PORT_RANGE = 256;

const RULES: Record<ResourceType, Record<string, Matcher>> = {
  's3-bucket': {
    region: sameString,
    versioning: sameString,
    encryption: sameString,
    kmsKeyId: kmsKeyMatches,
    publicAccessBlock: sameBoolean,
    lifecycleRules: atLeast,
    replication: sameBoolean,
    tags: tagsSubset,
  },
  'lambda-function': {
    state: sameString,
    lastUpdateStatus: sameString,
    runtime: sameString,
    handler: sameString,
    memorySize: sameNumber,
    timeout: sameNumber,
    role: roleMatches,
    architectures: sameSet,
    environmentVariables: namesSubset,
    tags: tagsSubset,
    vpcSubnetIds: sameSet,
    vpcSecurityGroupIds: sameSet,
  },
  'lambda-alias': {
    functionVersion: sameString,
    routingWeights: sameWeights,
  },
  'log-group': {
    retentionInDays: sameNumberOrNull,
    kmsKeyId: kmsKeyMatches,
  },
  'iam-role': {
    trustedService: trustedServiceMatches,
    attachedPolicies: policiesSubset,
    noWildcards: sameBoolean,
    // Beyond SPEC §5a, read anyway: inline policy names (subset) and tags (subset).
    inlinePolicies: namesSubset,
    tags: tagsSubset,
  },
  'cloudwatch-alarm': {
    namespace: sameString,
    metricName: sameString,
    statistic: sameString,
    threshold: sameNumber,
    comparisonOperator: sameString,
    alarmActions: namesSubset,
    state: sameString,
  },
  'security-group': {
    vpcId: sameString,
    worldOpenPorts: samePorts,
  },
};

/** The expectation keys each type understands (besides `exists`). */
export const EXPECTATION_KEYS: Record<ResourceType, readonly string[]> = Object.fromEntries(
  Object.entries(RULES).map(([type, rules]) => [type, Object.keys(rules)]),
) as unknown as Record<ResourceType, readonly string[]>;

/** Keys in `expect` the type does not know: reported as problems, so a typo cannot pass silently. */
export function unknownExpectationKeys(type: ResourceType, expect: Record<string, unknown>): string[] {
  const known = RULES[type];
  return Object.keys(expect).filter((key) => key !== 'exists' && !(key in known));
}

/**
 * Compares every known expected key with what was read. `exists` and unknown keys are not
 * handled here (see `assembleResult`). A key whose actual value is missing is a discrepancy.
 */
export function compareExpectations(type: ResourceType, expect: Record<string, unknown>, actual: Record<string, unknown>): Discrepancy[] {
  const rules = RULES[type];
  const discrepancies: Discrepancy[] = [];
  for (const [field, expected] of Object.entries(expect)) {
    const matches = rules[field];
    if (!matches || field === 'exists' || expected === undefined) continue;
    const value = actual[field];
    if (!matches(expected, value)) discrepancies.push({ field, expected, actual: value === undefined ? null : value });
  }
  return discrepancies;
}

/** Turns an inspection into the result `verify-resource` returns. */
export function assembleResult(type: ResourceType, name: string, expect: Record<string, unknown>, inspection: Inspection): VerifyResult {
  const problems: PropertyProblem[] = [...inspection.problems];
  const wantExists = expect.exists === undefined ? true : expect.exists;
  if (typeof wantExists !== 'boolean') {
    problems.push({ field: 'exists', code: 'InvalidExpectation', message: `expect.exists must be true or false, got ${JSON.stringify(wantExists)}` });
  }
  const base = { type, name, actual: inspection.actual, flags: inspection.flags };

  if (inspection.existence === 'unknown') {
    return { ...base, exists: false, existence: 'unknown', discrepancies: [], problems, verified: false };
  }
  if (inspection.existence === 'absent') {
    const discrepancies: Discrepancy[] = wantExists === false ? [] : [{ field: 'exists', expected: true, actual: false }];
    return { ...base, exists: false, existence: 'absent', discrepancies, problems, verified: discrepancies.length === 0 && problems.length === 0 };
  }
  if (wantExists === false) {
    return { ...base, exists: true, existence: 'present', discrepancies: [{ field: 'exists', expected: false, actual: true }], problems, verified: false };
  }

  for (const key of unknownExpectationKeys(type, expect)) {
    problems.push({
      field: key,
      code: 'UnknownExpectationKey',
      message: `${type} has no expectation key "${key}"; known keys: exists, ${EXPECTATION_KEYS[type].join(', ')}`,
    });
  }
  // A property that could not be read is a problem, not a discrepancy: do not report it twice.
  const unreadable = new Set(problems.map((p) => p.field));
  const discrepancies = compareExpectations(type, expect, inspection.actual).filter((d) => !unreadable.has(d.field));
  return { ...base, exists: true, existence: 'present', discrepancies, problems, verified: discrepancies.length === 0 && problems.length === 0 };
}

// ---- matchers -------------------------------------------------------------------------------

function sameString(expected: unknown, actual: unknown): boolean {
  if (actual === undefined || actual === null) return expected === null;
  if (typeof expected !== 'string' && typeof expected !== 'number') return false;
  return String(expected) === String(actual);
}

function toNumber(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value))) return Number(value);
  return undefined;
}

function sameNumber(expected: unknown, actual: unknown): boolean {
  const e = toNumber(expected);
  const a = toNumber(actual);
  return e !== undefined && a !== undefined && Math.abs(e - a) < 1e-9;
}

/** `null` expected means "not set" (a log group that never expires). */
function sameNumberOrNull(expected: unknown, actual: unknown): boolean {
  if (expected === null) return actual === null || actual === undefined;
  return sameNumber(expected, actual);
}

function sameBoolean(expected: unknown, actual: unknown): boolean {
  return typeof expected === 'boolean' && expected === actual;
}

/** `lifecycleRules` is a minimum count. */
function atLeast(expected: unknown, actual: unknown): boolean {
  const e = toNumber(expected);
  const a = toNumber(actual);
  return e !== undefined && a !== undefined && a >= e;
}

function asStringList(value: unknown): string[] | undefined {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value) && value.every((v) => typeof v === 'string' || typeof v === 'number')) return value.map(String);
  return undefined;
}

/** Order-insensitive exact list match (`architectures`, VPC subnets and security groups). */
function sameSet(expected: unknown, actual: unknown): boolean {
  const e = asStringList(expected);
  const a = asStringList(actual ?? []);
  if (!e || !a) return false;
  const left = [...new Set(e)].sort();
  const right = [...new Set(a)].sort();
  return left.length === right.length && left.every((v, i) => v === right[i]);
}

/** Every expected name is present (`environmentVariables`, `alarmActions`, `inlinePolicies`). */
function namesSubset(expected: unknown, actual: unknown): boolean {
  // An object given for environment variables is read by its keys: values are never compared.
  const e = asStringList(expected) ?? (isPlainObject(expected) ? Object.keys(expected) : undefined);
  const a = asStringList(actual ?? []);
  if (!e || !a) return false;
  return e.every((name) => a.includes(name));
}

function tagsSubset(expected: unknown, actual: unknown): boolean {
  if (!isPlainObject(expected)) return false;
  const a = isPlainObject(actual) ? actual : {};
  return Object.entries(expected).every(([key, value]) => key in a && String(a[key]) === String(value));
}

/** Key id, key ARN and alias forms of the same key match each other. */
export function kmsKeyMatches(expected: unknown, actual: unknown): boolean {
  if (expected === null || expected === 'none') return actual === null || actual === undefined || actual === 'none';
  if (typeof expected !== 'string' || typeof actual !== 'string') return false;
  if (expected === actual) return true;
  const tail = (value: string): string => (value.startsWith('arn:') ? value.slice(value.lastIndexOf(':') + 1) : value);
  const e = tail(expected);
  const a = tail(actual);
  if (e === a) return true;
  const bare = (value: string): string => value.replace(/^key\//, '');
  return bare(e) === bare(a);
}

/** `role` may be the role ARN or its bare name (the ARN's last path segment). */
export function roleMatches(expected: unknown, actual: unknown): boolean {
  if (typeof expected !== 'string' || typeof actual !== 'string') return false;
  if (expected.startsWith('arn:')) return expected === actual;
  return actual.slice(actual.lastIndexOf('/') + 1) === expected;
}

function trustedServiceMatches(expected: unknown, actual: unknown): boolean {
  const e = asStringList(expected);
  const a = asStringList(actual ?? []);
  return !!e && !!a && e.length > 0 && e.every((service) => a.includes(service));
}

/** `attachedPolicies` entries are policy names or ARNs; actual entries are `{name, arn}`. */
function policiesSubset(expected: unknown, actual: unknown): boolean {
  const e = asStringList(expected);
  if (!e || !Array.isArray(actual)) return false;
  return e.every((wanted) =>
    actual.some((policy) => isPlainObject(policy) ? policy.name === wanted || policy.arn === wanted : policy === wanted),
  );
}

/** `routingWeights`: `{version: weight}`; `{}` means no additional version. */
function sameWeights(expected: unknown, actual: unknown): boolean {
  if (!isPlainObject(expected)) return false;
  const a = isPlainObject(actual) ? actual : {};
  const keys = Object.keys(expected);
  if (keys.length !== Object.keys(a).length) return false;
  return keys.every((version) => version in a && sameNumber(expected[version], a[version]));
}

function samePorts(expected: unknown, actual: unknown): boolean {
  if (!Array.isArray(expected) || !Array.isArray(actual)) return false;
  const e = normalisePorts(expected);
  const a = normalisePorts(actual);
  return e !== undefined && a !== undefined && e.length === a.length && e.every((v, i) => v === a[i]);
}

/**
 * Canonical sorted port list: numbers ascending, then wide ranges (`"0-65535"`), then `"all"`.
 * `"8000-8002"` expands to 8000, 8001, 8002; undefined when an entry is not a port.
 */
export function normalisePorts(ports: readonly unknown[]): Array<number | string> | undefined {
  const numbers = new Set<number>();
  const ranges = new Set<string>();
  let all = false;
  for (const entry of ports) {
    if (entry === 'all' || entry === -1 || entry === '-1') {
      all = true;
      continue;
    }
    const single = toNumber(entry);
    if (single !== undefined && Number.isInteger(single) && single >= 0 && single <= 65535) {
      numbers.add(single);
      continue;
    }
    const match = typeof entry === 'string' ? /^(\d+)\s*-\s*(\d+)$/.exec(entry.trim()) : null;
    if (!match) return undefined;
    const from = Number(match[1]);
    const to = Number(match[2]);
    if (from > to || to > 65535) return undefined;
    if (to - from + 1 > MAX_EXPANDED_PORT_RANGE) ranges.add(`${from}-${to}`);
    else for (let port = from; port <= to; port++) numbers.add(port);
  }
  const sortedRanges = [...ranges].sort((x, y) => Number(x.split('-')[0]) - Number(y.split('-')[0]) || x.localeCompare(y));
  return [...[...numbers].sort((x, y) => x - y), ...sortedRanges, ...(all ? ['all'] : [])];
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
