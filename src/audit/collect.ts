/**
 * The security audit's I/O: which resources belong to the deployment (deployed in phase 4,
 * configured in deploy-mcp.config.json, and what the functions point at: roles, log groups,
 * security groups), reading them, and running the rules over what was read. A resource that
 * cannot be read is a finding too (`audit-incomplete`): an audit that could not look is not clean.
 */
import type { AwsClients } from '../aws/clients.js';
import { mapWithConcurrency } from '../aws/concurrency.js';
import { errorName } from '../aws/verify/inspection.js';
import { inspectLogGroup } from '../aws/verify/log-group.js';
import type { IngressRule } from '../aws/verify/security-group.js';
import { substituteEnvironment, type DeployConfig } from '../config/index.js';
import { outcomesIn, type TaskState } from '../workflow/task-state.js';
import {
  auditBucket,
  auditFunctionEnvironment,
  auditFunctionUrl,
  auditLogGroup,
  auditRole,
  auditSecurityGroup,
  sortFindings,
  type BucketFacts,
  type Finding,
  type RoleFacts,
} from './rules.js';

const READ_CONCURRENCY = 6;

export type AuditedType = 'iam-role' | 's3-bucket' | 'lambda-function' | 'log-group' | 'security-group';

export interface AuditTargets {
  /** Function name → aliases whose function URL is checked too. */
  functions: Map<string, Set<string>>;
  roles: Set<string>;
  buckets: Set<string>;
  logGroups: Set<string>;
  securityGroups: Set<string>;
}

export interface AuditedResource {
  type: AuditedType;
  name: string;
  /** Why it was audited: `deployed`, `config`, or `used by <function>`. */
  origin: string;
}

export interface AuditReport {
  findings: Finding[];
  audited: AuditedResource[];
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v.length > 0 ? v : undefined);

/** What the task deployed and the config lists (functions' own dependencies are found while reading). */
export function auditTargets(state: TaskState, config: DeployConfig | null): { targets: AuditTargets; origins: Map<string, string> } {
  const targets: AuditTargets = { functions: new Map(), roles: new Set(), buckets: new Set(), logGroups: new Set(), securityGroups: new Set() };
  const origins = new Map<string, string>();
  const note = (type: AuditedType, name: string, origin: string) => {
    const key = `${type} ${name}`;
    if (!origins.has(key)) origins.set(key, origin);
  };
  const addFunction = (name: string, origin: string, alias?: string) => {
    const aliases = targets.functions.get(name) ?? new Set<string>();
    if (alias) aliases.add(alias);
    targets.functions.set(name, aliases);
    note('lambda-function', name, origin);
  };

  for (const o of outcomesIn(state, 4, 'deploy-lambda')) {
    if (!o.ok) continue;
    const fn = str(o.output?.function) ?? str(o.input.function);
    if (fn) addFunction(fn, 'deployed', str(o.output?.alias) ?? str(o.input.alias));
  }
  for (const o of outcomesIn(state, 4, 'upload-artifacts')) {
    const bucket = str(o.input.bucket);
    if (o.ok && bucket) {
      targets.buckets.add(bucket);
      note('s3-bucket', bucket, 'deployed');
    }
  }
  const env = state.environment;
  for (const component of config?.components ?? []) {
    const c = substituteEnvironment(component, env);
    if (c.kind === 'lambda' && c.function) addFunction(c.function, 'config', c.alias);
    if (c.kind === 's3-artifacts' && c.bucket) {
      targets.buckets.add(c.bucket);
      note('s3-bucket', c.bucket, 'config');
    }
  }
  for (const resource of config?.resources ?? []) {
    const r = substituteEnvironment(resource, env);
    if ((r.expect as { exists?: boolean } | undefined)?.exists === false) continue;
    switch (r.type) {
      case 'lambda-function':
        addFunction(r.name, 'config');
        break;
      case 'lambda-alias': {
        const [fn, alias] = r.name.split(':');
        if (fn) addFunction(fn, 'config', alias);
        break;
      }
      case 'iam-role':
        targets.roles.add(r.name);
        note('iam-role', r.name, 'config');
        break;
      case 's3-bucket':
        targets.buckets.add(r.name);
        note('s3-bucket', r.name, 'config');
        break;
      case 'log-group':
        targets.logGroups.add(r.name);
        note('log-group', r.name, 'config');
        break;
      case 'security-group':
        targets.securityGroups.add(r.name);
        note('security-group', r.name, 'config');
        break;
      default:
        break;
    }
  }
  return { targets, origins };
}

function roleNameFromArn(arn: string): string {
  return arn.slice(arn.lastIndexOf('/') + 1);
}

class Collector {
  readonly findings: Finding[] = [];
  readonly audited: AuditedResource[] = [];

  constructor(
    private readonly clients: AwsClients,
    private readonly origins: Map<string, string>,
  ) {}

  origin(type: AuditedType, name: string, fallback = 'config'): string {
    return this.origins.get(`${type} ${name}`) ?? fallback;
  }

  seen(type: AuditedType, name: string, fallback?: string): void {
    this.audited.push({ type, name, origin: this.origin(type, name, fallback) });
  }

  unreadable(type: AuditedType, name: string, err: unknown, action: string): void {
    const problem = this.clients.problem(err, { action, resource: name });
    this.findings.push({
      severity: 'high',
      resource: `${type} ${name}`,
      rule: 'audit-incomplete',
      message: `Could not audit ${type} ${name}: ${problem.message}`,
      remedy: problem.kind === 'access-denied' ? `Grant ${action} to the deploy identity, then run security-audit again.` : `${problem.nextStep}, then run security-audit again.`,
    });
  }

  missing(type: AuditedType, name: string): void {
    this.findings.push({
      severity: 'medium',
      resource: `${type} ${name}`,
      rule: 'resource-missing',
      message: `${type} ${name} (${this.origin(type, name)}) does not exist, so it could not be audited.`,
      remedy: 'Check the name and region in deploy-mcp.config.json, or create the resource; verify-resource confirms it.',
    });
  }

  isNotFound(err: unknown): boolean {
    return this.clients.problem(err, { action: 'unknown' }).kind === 'not-found';
  }
}

export interface AuditProgress {
  (done: number, total: number, message: string): Promise<void>;
}

export async function runAudit(clients: AwsClients, targets: AuditTargets, origins: Map<string, string>, progress: AuditProgress, signal?: AbortSignal): Promise<AuditReport> {
  const c = new Collector(clients, origins);
  const roles = new Map<string, string>([...targets.roles].map((r) => [r, c.origin('iam-role', r)]));
  const logGroups = new Map<string, { origin: string; functionName?: string }>([...targets.logGroups].map((g) => [g, { origin: c.origin('log-group', g) }]));
  const securityGroups = new Map<string, string>([...targets.securityGroups].map((g) => [g, c.origin('security-group', g)]));
  const check = () => {
    if (signal?.aborted) throw Object.assign(new Error('cancelled'), { name: 'AbortError' });
  };

  let done = 0;
  let total = targets.functions.size + targets.buckets.size;
  const step = async (message: string) => {
    done += 1;
    await progress(done, Math.max(total, done), message);
  };

  // 1. Functions first: they name the roles, log groups and security groups they use.
  const lambda = await import('@aws-sdk/client-lambda');
  const uses = await mapWithConcurrency([...targets.functions], READ_CONCURRENCY, async ([fn, aliases]) => {
    check();
    const client = await clients.lambda();
    let config;
    try {
      config = await client.send(new lambda.GetFunctionConfigurationCommand({ FunctionName: fn }));
    } catch (err) {
      if (c.isNotFound(err)) c.missing('lambda-function', fn);
      else c.unreadable('lambda-function', fn, err, 'lambda:GetFunctionConfiguration');
      await step(`lambda-function ${fn}: unreadable`);
      return null;
    }
    c.seen('lambda-function', fn);
    c.findings.push(...auditFunctionEnvironment(fn, config.Environment?.Variables ?? {}));

    const seenUrls = new Set<string>();
    for (const qualifier of [undefined, ...aliases]) {
      try {
        const url = await client.send(new lambda.GetFunctionUrlConfigCommand({ FunctionName: fn, ...(qualifier ? { Qualifier: qualifier } : {}) }));
        const key = url.FunctionUrl ?? `${fn}:${qualifier ?? ''}`;
        if (seenUrls.has(key)) continue;
        seenUrls.add(key);
        c.findings.push(...auditFunctionUrl(fn, { qualifier, authType: url.AuthType, functionUrl: url.FunctionUrl }));
      } catch (err) {
        if (!c.isNotFound(err)) c.unreadable('lambda-function', qualifier ? `${fn}:${qualifier}` : fn, err, 'lambda:GetFunctionUrlConfig');
      }
    }
    await step(`lambda-function ${fn}`);
    return { fn, role: config.Role, logGroup: config.LoggingConfig?.LogGroup ?? `/aws/lambda/${fn}`, securityGroups: config.VpcConfig?.SecurityGroupIds ?? [] };
  });
  // What the functions use, attributed in target order so the same deployment audits the same way.
  for (const use of uses) {
    if (!use) continue;
    if (use.role) {
      const role = roleNameFromArn(use.role);
      if (!roles.has(role)) roles.set(role, `used by ${use.fn}`);
    }
    if (!logGroups.has(use.logGroup)) logGroups.set(use.logGroup, { origin: `used by ${use.fn}`, functionName: use.fn });
    else logGroups.get(use.logGroup)!.functionName ??= use.fn;
    for (const sg of use.securityGroups) if (!securityGroups.has(sg)) securityGroups.set(sg, `used by ${use.fn}`);
  }

  total = done + targets.buckets.size + roles.size + logGroups.size + securityGroups.size;

  // 2. Everything else, in parallel.
  await Promise.all([
    mapWithConcurrency([...targets.buckets], READ_CONCURRENCY, async (bucket) => {
      check();
      const facts = await readBucket(clients, bucket, c);
      if (facts) {
        c.seen('s3-bucket', bucket);
        c.findings.push(...auditBucket(facts));
      }
      await step(`s3-bucket ${bucket}`);
    }),
    mapWithConcurrency([...roles], READ_CONCURRENCY, async ([role, origin]) => {
      check();
      const facts = await readRole(clients, role, c);
      if (facts) {
        c.seen('iam-role', role, origin);
        c.findings.push(...auditRole(facts));
      }
      await step(`iam-role ${role}`);
    }),
    mapWithConcurrency([...logGroups], READ_CONCURRENCY, async ([group, meta]) => {
      check();
      const inspection = await inspectLogGroup(clients, group);
      if (inspection.existence === 'unknown') {
        const p = inspection.problems[0];
        c.findings.push({
          severity: 'high',
          resource: `log-group ${group}`,
          rule: 'audit-incomplete',
          message: `Could not audit log-group ${group}: ${p?.message ?? 'unreadable'}`,
          remedy: `${p?.nextStep ?? 'Grant logs:DescribeLogGroups to the deploy identity'}, then run security-audit again.`,
        });
      } else if (inspection.existence === 'absent' && !meta.functionName) {
        c.missing('log-group', group);
      } else {
        c.seen('log-group', group, meta.origin);
        c.findings.push(
          ...auditLogGroup({
            name: group,
            exists: inspection.existence === 'present',
            retentionInDays: inspection.actual.retentionInDays as number | null | undefined,
            kmsKeyId: inspection.actual.kmsKeyId as string | null | undefined,
            functionName: meta.functionName,
          }),
        );
      }
      await step(`log-group ${group}`);
    }),
    mapWithConcurrency([...securityGroups], READ_CONCURRENCY, async ([group, origin]) => {
      check();
      const rules = await readSecurityGroup(clients, group, c);
      if (rules) {
        c.seen('security-group', group, origin);
        c.findings.push(...auditSecurityGroup(rules.label, rules.ingress));
      }
      await step(`security-group ${group}`);
    }),
  ]);

  return { findings: sortFindings(c.findings), audited: c.audited.sort((a, b) => a.type.localeCompare(b.type) || a.name.localeCompare(b.name)) };
}

async function readBucket(clients: AwsClients, bucket: string, c: Collector): Promise<BucketFacts | null> {
  const s3sdk = await import('@aws-sdk/client-s3');
  const s3 = await clients.s3();
  const facts: BucketFacts = { name: bucket, encryption: null, publicAccessBlock: null, policy: null };
  try {
    const out = await s3.send(new s3sdk.GetBucketEncryptionCommand({ Bucket: bucket }));
    facts.encryption = out.ServerSideEncryptionConfiguration?.Rules?.[0]?.ApplyServerSideEncryptionByDefault?.SSEAlgorithm ?? null;
  } catch (err) {
    const name = errorName(err);
    if (name === 'NoSuchBucket') {
      c.missing('s3-bucket', bucket);
      return null;
    }
    if (name !== 'ServerSideEncryptionConfigurationNotFoundError') {
      c.unreadable('s3-bucket', bucket, err, 's3:GetEncryptionConfiguration');
      return null;
    }
  }
  try {
    const out = await s3.send(new s3sdk.GetPublicAccessBlockCommand({ Bucket: bucket }));
    const p = out.PublicAccessBlockConfiguration ?? {};
    facts.publicAccessBlock = {
      blockPublicAcls: p.BlockPublicAcls === true,
      ignorePublicAcls: p.IgnorePublicAcls === true,
      blockPublicPolicy: p.BlockPublicPolicy === true,
      restrictPublicBuckets: p.RestrictPublicBuckets === true,
    };
  } catch (err) {
    if (errorName(err) !== 'NoSuchPublicAccessBlockConfiguration') {
      c.unreadable('s3-bucket', bucket, err, 's3:GetBucketPublicAccessBlock');
      return null;
    }
  }
  try {
    const out = await s3.send(new s3sdk.GetBucketPolicyCommand({ Bucket: bucket }));
    facts.policy = out.Policy ?? null;
  } catch (err) {
    if (errorName(err) !== 'NoSuchBucketPolicy') {
      c.unreadable('s3-bucket', bucket, err, 's3:GetBucketPolicy');
      return null;
    }
  }
  return facts;
}

async function readRole(clients: AwsClients, role: string, c: Collector): Promise<RoleFacts | null> {
  const iamsdk = await import('@aws-sdk/client-iam');
  const iam = await clients.iam();
  let action = 'iam:GetRole';
  try {
    const got = await iam.send(new iamsdk.GetRoleCommand({ RoleName: role }));
    const facts: RoleFacts = { name: role, trustPolicy: got.Role?.AssumeRolePolicyDocument, attached: [], documents: [] };
    action = 'iam:ListAttachedRolePolicies';
    for await (const page of iamsdk.paginateListAttachedRolePolicies({ client: iam }, { RoleName: role })) {
      for (const p of page.AttachedPolicies ?? []) facts.attached.push({ name: p.PolicyName ?? '', arn: p.PolicyArn ?? '' });
    }
    for (const p of facts.attached) {
      action = 'iam:GetPolicyVersion';
      const meta = await iam.send(new iamsdk.GetPolicyCommand({ PolicyArn: p.arn }));
      const version = await iam.send(new iamsdk.GetPolicyVersionCommand({ PolicyArn: p.arn, VersionId: meta.Policy?.DefaultVersionId ?? 'v1' }));
      if (version.PolicyVersion?.Document) {
        facts.documents.push({ name: p.name, arn: p.arn, kind: /^arn:[^:]+:iam::aws:policy\//.test(p.arn) ? 'aws-managed' : 'customer-managed', document: version.PolicyVersion.Document });
      }
    }
    action = 'iam:ListRolePolicies';
    const inline: string[] = [];
    for await (const page of iamsdk.paginateListRolePolicies({ client: iam }, { RoleName: role })) inline.push(...(page.PolicyNames ?? []));
    for (const name of inline) {
      action = 'iam:GetRolePolicy';
      const out = await iam.send(new iamsdk.GetRolePolicyCommand({ RoleName: role, PolicyName: name }));
      if (out.PolicyDocument) facts.documents.push({ name, kind: 'inline', document: out.PolicyDocument });
    }
    return facts;
  } catch (err) {
    if (action === 'iam:GetRole' && c.isNotFound(err)) c.missing('iam-role', role);
    else c.unreadable('iam-role', role, err, action);
    return null;
  }
}

async function readSecurityGroup(clients: AwsClients, group: string, c: Collector): Promise<{ label: string; ingress: IngressRule[] } | null> {
  const ec2sdk = await import('@aws-sdk/client-ec2');
  const ec2 = await clients.ec2();
  const byId = /^sg-[0-9a-f]+$/i.test(group);
  try {
    const found = [];
    const input = byId ? { GroupIds: [group] } : { Filters: [{ Name: 'group-name', Values: [group] }] };
    for await (const page of ec2sdk.paginateDescribeSecurityGroups({ client: ec2 }, input)) found.push(...(page.SecurityGroups ?? []));
    if (found.length === 0) {
      c.missing('security-group', group);
      return null;
    }
    // A name can exist once per VPC: audit every group of that name.
    const ingress = found.flatMap((g) => g.IpPermissions ?? []);
    const ids = found.map((g) => g.GroupId).filter(Boolean);
    return { label: byId ? group : `${group} (${ids.join(', ')})`, ingress };
  } catch (err) {
    if (c.isNotFound(err)) c.missing('security-group', group);
    else c.unreadable('security-group', group, err, 'ec2:DescribeSecurityGroups');
    return null;
  }
}
