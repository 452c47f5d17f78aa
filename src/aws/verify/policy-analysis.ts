/**
 * IAM policy documents analysed locally (emulators do not implement SimulatePrincipalPolicy, and
 * a document scan is what a reviewer does anyway).
 */
import type { Flag } from './types.js';

export interface PolicyStatement {
  Effect?: string;
  Action?: string | string[];
  NotAction?: string | string[];
  Resource?: string | string[];
  NotResource?: string | string[];
  Principal?: unknown;
}

export type PolicySourceKind = 'inline' | 'customer-managed' | 'aws-managed';

export interface PolicySource {
  name: string;
  kind: PolicySourceKind;
}

/** IAM returns documents URL-encoded (moto leaves managed policy versions plain): accept both. */
export function parsePolicyDocument(document: string | Record<string, unknown> | undefined): { Statement: PolicyStatement[] } {
  if (document === undefined) return { Statement: [] };
  let parsed: unknown = document;
  if (typeof document === 'string') {
    const text = document.trim().startsWith('{') ? document : decodeURIComponent(document);
    parsed = JSON.parse(text);
  }
  const statement = (parsed as { Statement?: unknown }).Statement;
  const list = Array.isArray(statement) ? statement : statement ? [statement] : [];
  return { Statement: list.filter((s): s is PolicyStatement => typeof s === 'object' && s !== null) };
}

function list(value: string | string[] | undefined): string[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

/**
 * Wildcard grants in one policy document, as flags on `noWildcards`.
 * - `Action: "*"` and `Allow` + `NotAction`: high.
 * - `Action: "service:*"`: high on `Resource: "*"`, medium on a narrower resource.
 * - `Resource: "*"` with specific actions: low (often needed, e.g. for VPC network interfaces).
 * AWS managed policies are scoped by AWS to `Resource: "*"` on purpose, so only their action
 * wildcards count (AdministratorAccess, AmazonS3FullAccess…).
 */
export function findWildcardGrants(document: string | Record<string, unknown>, source: PolicySource): Flag[] {
  const flags: Flag[] = [];
  const where = `${source.kind} policy ${source.name}`;
  for (const statement of parsePolicyDocument(document).Statement) {
    if (statement.Effect !== 'Allow') continue;
    const resources = list(statement.Resource);
    const anyResource = resources.includes('*') || statement.NotResource !== undefined;
    if (statement.NotAction !== undefined) {
      flags.push({ field: 'noWildcards', severity: 'high', message: `${where} allows every action except ${list(statement.NotAction).join(', ')} (Allow with NotAction)` });
      continue;
    }
    const actions = list(statement.Action);
    if (actions.includes('*')) {
      flags.push({ field: 'noWildcards', severity: 'high', message: `${where} allows every action ("Action": "*") on ${resources.join(', ') || 'its resources'}` });
      continue;
    }
    const serviceWildcards = actions.filter((a) => /^[a-z0-9-]+:\*$/i.test(a));
    for (const action of serviceWildcards) {
      flags.push({
        field: 'noWildcards',
        severity: anyResource ? 'high' : 'medium',
        message: `${where} allows every ${action.split(':')[0]} action ("${action}") on ${resources.join(', ') || 'NotResource'}`,
      });
    }
    if (source.kind === 'aws-managed' || serviceWildcards.length > 0) continue;
    if (resources.includes('*')) {
      flags.push({ field: 'noWildcards', severity: 'low', message: `${where} allows ${actions.join(', ')} on every resource ("Resource": "*")` });
    } else if (statement.NotResource !== undefined) {
      flags.push({ field: 'noWildcards', severity: 'medium', message: `${where} allows ${actions.join(', ')} on every resource except ${list(statement.NotResource).join(', ')}` });
    }
  }
  return flags;
}

export interface TrustAnalysis {
  services: string[];
  flags: Flag[];
}

/** Services allowed to assume the role, and principals that are too open. */
export function analyseTrustPolicy(document: string | Record<string, unknown> | undefined): TrustAnalysis {
  const services = new Set<string>();
  const flags: Flag[] = [];
  for (const statement of parsePolicyDocument(document).Statement) {
    if (statement.Effect !== 'Allow') continue;
    const principal = statement.Principal;
    if (principal === '*') {
      flags.push({ field: 'trustedService', severity: 'high', message: 'The trust policy lets any principal ("Principal": "*") assume the role' });
      continue;
    }
    if (typeof principal !== 'object' || principal === null) continue;
    const p = principal as Record<string, string | string[] | undefined>;
    for (const service of list(p.Service)) services.add(service);
    if (list(p.AWS).includes('*')) {
      flags.push({ field: 'trustedService', severity: 'high', message: 'The trust policy lets any AWS account ("AWS": "*") assume the role' });
    }
  }
  return { services: [...services].sort(), flags };
}
