/**
 * The security audit's rules, as pure functions over what was read from AWS. Each returns
 * findings `{severity, resource, rule, message, remedy}`; the collector (collect.ts) does the I/O.
 * IAM policies are analysed as documents (emulators lack the policy simulator, and reading the
 * document is what a reviewer does anyway).
 */
import { findSecrets, isSecretKeyName } from '../journal/redact.js';
import { looksSecret } from '../config/messages.js';
import { analyseTrustPolicy, findWildcardGrants, parsePolicyDocument, type PolicySourceKind, type PolicyStatement } from '../aws/verify/policy-analysis.js';
import { analyseIngress, type IngressRule } from '../aws/verify/security-group.js';

export type Severity = 'high' | 'medium' | 'low';

export const AUDIT_RULES = {
  'iam-admin-policy': 'IAM role with an administrator-level AWS managed policy attached',
  'iam-wildcard-action': 'IAM policy allowing "*" or "service:*" actions',
  'iam-wildcard-resource': 'IAM policy allowing actions on "Resource": "*"',
  'iam-trust-open': 'IAM trust policy any principal can assume',
  's3-encryption': 'S3 bucket without default encryption',
  's3-public-access-block': 'S3 bucket without all four public access block settings',
  's3-public-policy': 'S3 bucket policy granting access to "*" principals',
  's3-tls-only': 'S3 bucket policy that does not deny non-TLS access (aws:SecureTransport)',
  'lambda-env-secret': 'Lambda environment variable whose name or value looks like a secret',
  'lambda-url-public': 'Lambda function URL with auth type NONE',
  'logs-retention': 'Log group without a retention period',
  'logs-kms': 'Log group not encrypted with a KMS key',
  'sg-world-open': 'Security group open to 0.0.0.0/0 or ::/0 on a port other than 80/443',
  'resource-missing': 'A configured resource does not exist',
  'audit-incomplete': 'A resource could not be read, so it could not be audited',
} as const;

export type AuditRule = keyof typeof AUDIT_RULES;
export const AUDIT_RULE_IDS = Object.keys(AUDIT_RULES) as AuditRule[];

export interface Finding {
  severity: Severity;
  /** `type name`, e.g. `iam-role deploy-role`. */
  resource: string;
  rule: AuditRule;
  message: string;
  remedy: string;
}

const SEVERITY_ORDER: Record<Severity, number> = { high: 0, medium: 1, low: 2 };

export function sortFindings(findings: Finding[]): Finding[] {
  return [...findings].sort(
    (a, b) => SEVERITY_ORDER[a.severity] - SEVERITY_ORDER[b.severity] || a.resource.localeCompare(b.resource) || a.rule.localeCompare(b.rule) || a.message.localeCompare(b.message),
  );
}

const list = (value: unknown): string[] => (value === undefined || value === null ? [] : Array.isArray(value) ? value.map(String) : [String(value)]);

// ---- IAM ----------------------------------------------------------------------------------------

/** AWS managed policies that amount to administrator access (or the power to grant it). */
export const ADMIN_POLICY_NAMES = new Set(['AdministratorAccess', 'PowerUserAccess', 'IAMFullAccess']);

export interface RolePolicyDocument {
  name: string;
  arn?: string;
  kind: PolicySourceKind;
  document: string | Record<string, unknown>;
}

export interface RoleFacts {
  name: string;
  trustPolicy?: string;
  /** Attached managed policies (name + ARN), whether or not their document could be read. */
  attached: { name: string; arn: string }[];
  documents: RolePolicyDocument[];
}

function isActionWildcard(statement: PolicyStatement): boolean {
  if (statement.NotAction !== undefined) return true;
  return list(statement.Action).some((a) => a === '*' || /^[a-z0-9-]+:\*$/i.test(a));
}

export function auditRole(role: RoleFacts): Finding[] {
  const resource = `iam-role ${role.name}`;
  const findings: Finding[] = [];
  const adminAttached = role.attached.filter((p) => /^arn:[^:]+:iam::aws:policy\//.test(p.arn) && ADMIN_POLICY_NAMES.has(p.name));
  for (const p of adminAttached) {
    findings.push({
      severity: 'high',
      resource,
      rule: 'iam-admin-policy',
      message: `Role ${role.name} has the AWS managed policy ${p.name} attached, which grants administrator-level access.`,
      remedy: `Detach ${p.name} from ${role.name} and attach a policy that lists only the actions and resources the function uses.`,
    });
  }
  const adminArns = new Set(adminAttached.map((p) => p.arn));
  for (const doc of role.documents) {
    if (doc.arn && adminArns.has(doc.arn)) continue; // already reported as an admin policy
    let statements: PolicyStatement[];
    try {
      statements = parsePolicyDocument(doc.document).Statement;
    } catch {
      findings.push({
        severity: 'high',
        resource,
        rule: 'audit-incomplete',
        message: `The ${doc.kind} policy ${doc.name} of ${role.name} is not valid JSON, so it could not be analysed.`,
        remedy: 'Inspect the policy document in the IAM console and fix or replace it.',
      });
      continue;
    }
    for (const statement of statements) {
      for (const flag of findWildcardGrants({ Statement: [statement] } as Record<string, unknown>, { name: doc.name, kind: doc.kind })) {
        const actionRule = isActionWildcard(statement);
        findings.push({
          // A specific action on every resource is often needed but still worth tightening.
          severity: flag.severity === 'low' ? 'medium' : flag.severity,
          resource,
          rule: actionRule ? 'iam-wildcard-action' : 'iam-wildcard-resource',
          message: `${flag.message} (role ${role.name}).`,
          remedy: actionRule
            ? `Replace the wildcard action in ${doc.name} with the specific actions the function calls.`
            : `Scope the Resource of ${doc.name} to the ARNs the function uses instead of "*".`,
        });
      }
    }
  }
  if (role.trustPolicy) {
    try {
      for (const flag of analyseTrustPolicy(role.trustPolicy).flags) {
        findings.push({
          severity: flag.severity,
          resource,
          rule: 'iam-trust-open',
          message: `${flag.message} (role ${role.name}).`,
          remedy: 'Restrict the trust policy Principal to the service (e.g. lambda.amazonaws.com) or account that needs to assume the role.',
        });
      }
    } catch {
      // An unparsable trust policy is reported by verify-resource; nothing to add here.
    }
  }
  return findings;
}

// ---- S3 -----------------------------------------------------------------------------------------

export interface BucketFacts {
  name: string;
  /** `AES256`, `aws:kms`, … or null when no default encryption is configured. */
  encryption: string | null;
  /** null: no public access block configuration at all. */
  publicAccessBlock: { blockPublicAcls: boolean; ignorePublicAcls: boolean; blockPublicPolicy: boolean; restrictPublicBuckets: boolean } | null;
  /** The bucket policy document, or null when the bucket has none. */
  policy: string | null;
}

interface ConditionalStatement extends PolicyStatement {
  Condition?: Record<string, Record<string, unknown>>;
}

function isEveryone(principal: unknown): boolean {
  if (principal === '*') return true;
  if (typeof principal !== 'object' || principal === null) return false;
  return list((principal as Record<string, unknown>).AWS).includes('*');
}

/** A Deny for every principal on s3:* (or *) when aws:SecureTransport is false. */
function deniesInsecureTransport(statement: ConditionalStatement): boolean {
  if (statement.Effect !== 'Deny' || !isEveryone(statement.Principal)) return false;
  const actions = list(statement.Action);
  if (!actions.some((a) => a === '*' || a.toLowerCase() === 's3:*')) return false;
  for (const [operator, block] of Object.entries(statement.Condition ?? {})) {
    if (!/^Bool(IfExists)?$/i.test(operator) || typeof block !== 'object' || block === null) continue;
    for (const [key, value] of Object.entries(block)) {
      if (key.toLowerCase() === 'aws:securetransport' && list(value).some((v) => v.toLowerCase() === 'false')) return true;
    }
  }
  return false;
}

export function auditBucket(bucket: BucketFacts): Finding[] {
  const resource = `s3-bucket ${bucket.name}`;
  const findings: Finding[] = [];
  if (!bucket.encryption || bucket.encryption === 'none') {
    findings.push({
      severity: 'high',
      resource,
      rule: 's3-encryption',
      message: `Bucket ${bucket.name} has no default server-side encryption configured.`,
      remedy: `Enable default encryption on ${bucket.name} (SSE-S3 "AES256", or SSE-KMS with a customer managed key).`,
    });
  }
  const pab = bucket.publicAccessBlock;
  const off = pab ? Object.entries(pab).filter(([, on]) => !on).map(([k]) => k) : ['blockPublicAcls', 'ignorePublicAcls', 'blockPublicPolicy', 'restrictPublicBuckets'];
  if (off.length > 0) {
    findings.push({
      severity: 'high',
      resource,
      rule: 's3-public-access-block',
      message: pab
        ? `Bucket ${bucket.name} blocks public access only partly (off: ${off.join(', ')}).`
        : `Bucket ${bucket.name} has no public access block configuration.`,
      remedy: `Turn on all four Block Public Access settings for ${bucket.name} (s3:PutBucketPublicAccessBlock).`,
    });
  }
  let statements: ConditionalStatement[] = [];
  if (bucket.policy) {
    try {
      statements = parsePolicyDocument(bucket.policy).Statement as ConditionalStatement[];
    } catch {
      findings.push({
        severity: 'high',
        resource,
        rule: 'audit-incomplete',
        message: `The bucket policy of ${bucket.name} is not valid JSON, so it could not be analysed.`,
        remedy: 'Inspect the bucket policy in the S3 console and fix or replace it.',
      });
    }
  }
  for (const [i, statement] of statements.entries()) {
    if (statement.Effect !== 'Allow' || !isEveryone(statement.Principal)) continue;
    const conditioned = statement.Condition !== undefined && Object.keys(statement.Condition).length > 0;
    const label = (statement as { Sid?: string }).Sid ? `statement "${(statement as { Sid?: string }).Sid}"` : `statement ${i + 1}`;
    findings.push({
      severity: conditioned ? 'medium' : 'high',
      resource,
      rule: 's3-public-policy',
      message: conditioned
        ? `The bucket policy of ${bucket.name} allows ${list(statement.Action).join(', ') || 'actions'} to every principal ("*") under a condition (${label}); check that the condition really restricts who gets in.`
        : `The bucket policy of ${bucket.name} allows ${list(statement.Action).join(', ') || 'actions'} to every principal ("*") without a condition (${label}): anyone on the internet.`,
      remedy: `Replace the "*" principal in ${label} with the account or role ARNs that need access, or add a restricting condition (aws:PrincipalOrgID, aws:SourceVpce).`,
    });
  }
  if (!statements.some(deniesInsecureTransport)) {
    findings.push({
      severity: 'medium',
      resource,
      rule: 's3-tls-only',
      message: bucket.policy
        ? `The bucket policy of ${bucket.name} does not deny requests over plain HTTP (no Deny on aws:SecureTransport = false).`
        : `Bucket ${bucket.name} has no bucket policy, so requests over plain HTTP are not denied.`,
      remedy: `Add a statement to the policy of ${bucket.name}: Effect Deny, Principal "*", Action "s3:*", Resource the bucket and its objects, Condition {"Bool": {"aws:SecureTransport": "false"}}.`,
    });
  }
  return findings;
}

// ---- Lambda -------------------------------------------------------------------------------------

/** Values that point at a secret rather than contain one. */
function isReference(value: string): boolean {
  return /^(arn:|\{\{resolve:|\$\{|ssm:|secretsmanager:)/i.test(value.trim());
}

export function auditFunctionEnvironment(functionName: string, variables: Record<string, string>): Finding[] {
  const resource = `lambda-function ${functionName}`;
  const findings: Finding[] = [];
  for (const [name, value] of Object.entries(variables)) {
    const text = value ?? '';
    if (text.trim() === '' || isReference(text)) continue;
    const byName = isSecretKeyName(name);
    const byValue = findSecrets(text).length > 0 || looksSecret(text);
    if (!byName && !byValue) continue;
    // The value is never quoted: naming the variable is enough to find it.
    findings.push({
      severity: 'high',
      resource,
      rule: 'lambda-env-secret',
      message: `Environment variable ${name} of ${functionName} ${byName ? 'has a secret-like name and a plain-text value' : 'holds a plain-text value that looks like a credential'} (the value is not shown).`,
      remedy: `Move the value of ${name} to Secrets Manager or an SSM SecureString parameter, give the function permission to read it, and keep only its ARN or name in the environment.`,
    });
  }
  return findings;
}

export function auditFunctionUrl(functionName: string, url: { qualifier?: string; authType?: string; functionUrl?: string }): Finding[] {
  if (url.authType !== 'NONE') return [];
  const which = url.qualifier ? `${functionName}:${url.qualifier}` : functionName;
  return [
    {
      severity: 'high',
      resource: `lambda-function ${functionName}`,
      rule: 'lambda-url-public',
      message: `The function URL of ${which}${url.functionUrl ? ` (${url.functionUrl})` : ''} has auth type NONE: anyone who knows the URL can invoke it.`,
      remedy: `Set the function URL's auth type to AWS_IAM (or remove the URL and put API Gateway with authorisation in front of ${functionName}).`,
    },
  ];
}

// ---- CloudWatch Logs ----------------------------------------------------------------------------

export interface LogGroupFacts {
  name: string;
  exists: boolean;
  retentionInDays?: number | null;
  kmsKeyId?: string | null;
  /** The function that writes to it, when it is a function's log group. */
  functionName?: string;
}

export function auditLogGroup(group: LogGroupFacts): Finding[] {
  const resource = `log-group ${group.name}`;
  if (!group.exists) {
    return [
      {
        severity: 'low',
        resource,
        rule: 'logs-retention',
        message: `Log group ${group.name} does not exist yet; Lambda will create it on the first invocation${group.functionName ? ` of ${group.functionName}` : ''} with no retention (logs kept forever).`,
        remedy: `Create ${group.name} now with a retention period (e.g. 30 days) so the defaults never apply.`,
      },
    ];
  }
  const findings: Finding[] = [];
  if (group.retentionInDays === undefined || group.retentionInDays === null) {
    findings.push({
      severity: 'medium',
      resource,
      rule: 'logs-retention',
      message: `Log group ${group.name} keeps its events forever (no retention period).`,
      remedy: `Set a retention period on ${group.name} (logs:PutRetentionPolicy), e.g. 30 or 90 days.`,
    });
  }
  if (!group.kmsKeyId) {
    findings.push({
      severity: 'low',
      resource,
      rule: 'logs-kms',
      message: `Log group ${group.name} is encrypted with the service default key, not a KMS key you control.`,
      remedy: `Associate a customer managed KMS key with ${group.name} (logs:AssociateKmsKey) if its logs may hold personal or sensitive data.`,
    });
  }
  return findings;
}

// ---- EC2 security groups ------------------------------------------------------------------------

export function auditSecurityGroup(label: string, rules: readonly IngressRule[]): Finding[] {
  const findings: Finding[] = [];
  for (const flag of analyseIngress(rules).flags) {
    if (flag.severity === 'low') continue; // 80/443 and ICMP open to the world are expected for web endpoints
    findings.push({
      severity: flag.severity,
      resource: `security-group ${label}`,
      rule: 'sg-world-open',
      message: `Security group ${label}: ${flag.message}.`,
      remedy: `Restrict the ingress rule of ${label} to the CIDR ranges or security groups that need it (only 80/443 may be open to the world).`,
    });
  }
  return findings;
}
