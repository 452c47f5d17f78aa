/**
 * backup-state: JSON snapshots of what a rollback needs, taken before anything is deployed.
 *
 * Files, under the task's state directory (`tasks/<id>/`):
 *
 *   backups/<type>-<safe-name>.json   one snapshot per resource (safe-name: the name with every
 *                                     character outside [A-Za-z0-9._-] replaced by `_`, plus an
 *                                     8-hex hash of the real name when that changed anything)
 *   backups/manifest.json             { format, taskId, takenAt, environment, account, region,
 *                                       files: [{ path, sha256, bytes, type, name, takenAt }],
 *                                       skipped: [{ type, name, reason }],
 *                                       failed: [{ type, name, action, code, message }] }
 *
 * Every snapshot has `format: "deploy-mcp.backup/1"`, `type`, `name`, `takenAt`, `region`,
 * `account`, and `unreadable: [{ field, action, code, message }]` for optional settings that
 * could not be read (the snapshot is still valid for what rollback restores). What the rollback
 * tool (issue 5) restores, and where it reads it:
 *
 * - Lambda aliases → `lambda-function` snapshot, `restore.aliases[<alias>] = { functionVersion,
 *   routingWeights }` (the alias's target version and additional version weights, `{}` = none),
 *   with `versions[]` (every published version: `version`, `codeSha256`, `revisionId`, …) so the
 *   rollback can check the version still exists and carries the recorded code. The function's
 *   `$LATEST` configuration is in `function` (environment variable NAMES only, never values).
 *   A `lambda-alias` snapshot records one alias the same way: `restore = { functionName, alias,
 *   functionVersion, routingWeights }` plus `targetCodeSha256`.
 * - S3 objects → `s3-bucket` snapshot, `objects.items[] = { key, versionId, etag, size,
 *   lastModified, deleteMarker? }`: the version that was current for each key under the
 *   configured prefixes (`components[].prefix` of kind s3-artifacts for this bucket; the whole
 *   bucket when no prefix is configured and it holds fewer than 1,000 objects). Restoring =
 *   copying that version id back over the key (a `deleteMarker: true` item means the key was
 *   deleted: restoring means deleting it again). `objects.restorable` is false, with the reason,
 *   when versioning was never enabled (version id "null": the old bytes cannot be fetched back).
 *   Bucket settings (versioning, encryption, lifecycle, policy, tags) are in `configuration`.
 * - Log groups → `log-group` snapshot, `logGroup` (retention, KMS key, class) plus tags and
 *   metric / subscription filters: documentation of the state, restored by hand if at all.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { AwsClients } from '../src/aws/clients.js';
import { mapWithConcurrency } from '../src/aws/concurrency.js';
import { awsErrorCode, type AwsProblem } from '../src/aws/errors.js';
import { substituteEnvironment } from '../src/config/index.js';
import { redactText } from '../src/journal/redact.js';
import { ToolError, defineTool } from '../src/tool.js';
import type { ToolContext } from '../src/tool-context.js';
import { TaskIdInput } from '../src/tool-schemas.js';

export const BACKUP_FORMAT = 'deploy-mcp.backup/1';
/** Without a configured prefix, objects are recorded only when the bucket holds fewer than this. */
export const WHOLE_BUCKET_LIMIT = 1000;
/** Upper bound of object entries recorded per bucket. */
export const MAX_OBJECTS = 100_000;
const CONCURRENCY = 4;

type BackupType = 'lambda-function' | 'lambda-alias' | 's3-bucket' | 'log-group';
const BACKUP_TYPES: readonly string[] = ['lambda-function', 'lambda-alias', 's3-bucket', 'log-group'];

interface Target {
  type: string;
  name: string;
  /** Where it comes from, for messages. */
  source: string;
}

interface Unreadable {
  field: string;
  action: string;
  code: string;
  message: string;
}

interface FailedRead {
  type: string;
  name: string;
  action: string;
  code: string;
  message: string;
  nextStep: string;
}

/** The resource does not exist: skipped, not an error. */
class Absent extends Error {}

/** A read rollback depends on failed (access denied, throttled, …): the backup is incomplete. */
class ReadFailed extends Error {
  constructor(readonly problem: AwsProblem) {
    super(problem.message);
  }
}

/** `/aws/lambda/x` → `_aws_lambda_x-1a2b3c4d`; names that are already safe stay as they are. */
export function safeName(name: string): string {
  const cleaned = name.replace(/[^A-Za-z0-9._-]/g, '_').replace(/^[.]+/, '_').slice(0, 100);
  if (cleaned === name) return cleaned;
  return `${cleaned}-${createHash('sha256').update(name).digest('hex').slice(0, 8)}`;
}

export function backupFileName(type: string, name: string): string {
  return `backups/${type}-${safeName(name)}.json`;
}

function isAbort(err: unknown): boolean {
  return (err as Error)?.name === 'AbortError';
}

/** A read the snapshot cannot do without: not-found → Absent, anything else → ReadFailed. */
async function must<T>(clients: AwsClients, action: string, resource: string, fn: () => Promise<T>, absentReason?: string): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (isAbort(err)) throw err;
    const problem = clients.problem(err, { action, resource });
    if (problem.kind === 'not-found') throw new Absent(absentReason ?? `${resource} does not exist`);
    throw new ReadFailed(problem);
  }
}

/** A read of an optional setting: "not configured" codes give `fallback`; other failures are noted. */
async function optional<T>(
  clients: AwsClients,
  unreadable: Unreadable[],
  field: string,
  action: string,
  resource: string,
  fn: () => Promise<T>,
  notConfigured: string[],
  fallback: T,
): Promise<T | null> {
  try {
    return await fn();
  } catch (err) {
    if (isAbort(err)) throw err;
    const code = awsErrorCode(err) ?? '';
    if (notConfigured.includes(code)) return fallback;
    const problem = clients.problem(err, { action, resource });
    unreadable.push({ field, action, code: problem.code, message: `${problem.message} Next step: ${problem.nextStep}.` });
    return null;
  }
}

function iso(d: Date | string | undefined | null): string | null {
  if (!d) return null;
  return d instanceof Date ? d.toISOString() : String(d);
}

// ---- Lambda ------------------------------------------------------------------------------------

async function listVersions(clients: AwsClients, fn: string) {
  const { ListVersionsByFunctionCommand } = await import('@aws-sdk/client-lambda');
  const lambda = await clients.lambda();
  const versions: { version: string; codeSha256: string | null; description: string | null; lastModified: string | null; revisionId: string | null; functionArn: string | null }[] = [];
  let marker: string | undefined;
  do {
    const page = await must(clients, 'lambda:ListVersionsByFunction', fn, () => lambda.send(new ListVersionsByFunctionCommand({ FunctionName: fn, Marker: marker, MaxItems: 50 })));
    for (const v of page.Versions ?? []) {
      if (!v.Version || v.Version === '$LATEST') continue;
      versions.push({
        version: v.Version,
        codeSha256: v.CodeSha256 ?? null,
        description: v.Description ? redactText(v.Description) : null,
        lastModified: v.LastModified ?? null,
        revisionId: v.RevisionId ?? null,
        functionArn: v.FunctionArn ?? null,
      });
    }
    marker = page.NextMarker || undefined;
  } while (marker);
  versions.sort((a, b) => Number(a.version) - Number(b.version));
  return versions;
}

async function listAliases(clients: AwsClients, fn: string) {
  const { ListAliasesCommand } = await import('@aws-sdk/client-lambda');
  const lambda = await clients.lambda();
  const aliases: { name: string; aliasArn: string | null; functionVersion: string | null; routingWeights: Record<string, number>; revisionId: string | null; description: string | null }[] = [];
  let marker: string | undefined;
  do {
    const page = await must(clients, 'lambda:ListAliases', fn, () => lambda.send(new ListAliasesCommand({ FunctionName: fn, Marker: marker, MaxItems: 50 })));
    for (const a of page.Aliases ?? []) {
      if (!a.Name) continue;
      aliases.push({
        name: a.Name,
        aliasArn: a.AliasArn ?? null,
        functionVersion: a.FunctionVersion ?? null,
        routingWeights: { ...(a.RoutingConfig?.AdditionalVersionWeights ?? {}) },
        revisionId: a.RevisionId ?? null,
        description: a.Description ? redactText(a.Description) : null,
      });
    }
    marker = page.NextMarker || undefined;
  } while (marker);
  aliases.sort((a, b) => a.name.localeCompare(b.name));
  return aliases;
}

async function snapshotFunction(clients: AwsClients, name: string) {
  const { GetFunctionConfigurationCommand } = await import('@aws-sdk/client-lambda');
  const lambda = await clients.lambda();
  const c = await must(clients, 'lambda:GetFunctionConfiguration', name, () => lambda.send(new GetFunctionConfigurationCommand({ FunctionName: name })), `Lambda function ${name} does not exist`);
  const versions = await listVersions(clients, name);
  const aliases = await listAliases(clients, name);
  const snapshot = {
    function: {
      functionName: c.FunctionName ?? name,
      functionArn: c.FunctionArn ?? null,
      runtime: c.Runtime ?? null,
      handler: c.Handler ?? null,
      role: c.Role ?? null,
      memorySize: c.MemorySize ?? null,
      timeout: c.Timeout ?? null,
      architectures: c.Architectures ?? ['x86_64'],
      packageType: c.PackageType ?? null,
      codeSha256: c.CodeSha256 ?? null,
      codeSize: c.CodeSize ?? null,
      version: c.Version ?? '$LATEST',
      lastModified: c.LastModified ?? null,
      revisionId: c.RevisionId ?? null,
      state: c.State ?? null,
      lastUpdateStatus: c.LastUpdateStatus ?? null,
      description: c.Description ? redactText(c.Description) : null,
      layers: (c.Layers ?? []).map((l) => l.Arn).filter(Boolean),
      // Names only: values may be secrets and never leave this function.
      environmentVariableNames: Object.keys(c.Environment?.Variables ?? {}).sort(),
      vpc: c.VpcConfig?.SubnetIds?.length ? { subnetIds: [...c.VpcConfig.SubnetIds], securityGroupIds: [...(c.VpcConfig.SecurityGroupIds ?? [])], vpcId: c.VpcConfig.VpcId ?? null } : null,
      tracingMode: c.TracingConfig?.Mode ?? null,
      ephemeralStorageMb: c.EphemeralStorage?.Size ?? null,
      kmsKeyArn: c.KMSKeyArn ?? null,
      deadLetterTargetArn: c.DeadLetterConfig?.TargetArn ?? null,
    },
    versions,
    latestPublishedVersion: versions.at(-1)?.version ?? null,
    aliases,
    restore: {
      functionName: c.FunctionName ?? name,
      aliases: Object.fromEntries(aliases.map((a) => [a.name, { functionVersion: a.functionVersion, routingWeights: a.routingWeights }])),
    },
  };
  return { snapshot, versionId: snapshot.latestPublishedVersion ?? undefined };
}

async function snapshotAlias(clients: AwsClients, name: string) {
  const at = name.lastIndexOf(':');
  if (at <= 0 || at === name.length - 1) throw new Absent(`"${name}" is not written as function:alias`);
  const functionName = name.slice(0, at);
  const alias = name.slice(at + 1);
  const { GetAliasCommand, GetFunctionConfigurationCommand } = await import('@aws-sdk/client-lambda');
  const lambda = await clients.lambda();
  const a = await must(clients, 'lambda:GetAlias', name, () => lambda.send(new GetAliasCommand({ FunctionName: functionName, Name: alias })), `alias ${alias} of Lambda function ${functionName} does not exist`);
  const unreadable: Unreadable[] = [];
  let targetCodeSha256: string | null = null;
  if (a.FunctionVersion) {
    const target = await optional(
      clients,
      unreadable,
      'targetCodeSha256',
      'lambda:GetFunctionConfiguration',
      `${functionName}:${a.FunctionVersion}`,
      () => lambda.send(new GetFunctionConfigurationCommand({ FunctionName: functionName, Qualifier: a.FunctionVersion })),
      [],
      null,
    );
    targetCodeSha256 = target?.CodeSha256 ?? null;
  }
  const routingWeights = { ...(a.RoutingConfig?.AdditionalVersionWeights ?? {}) };
  const snapshot = {
    functionName,
    alias,
    aliasArn: a.AliasArn ?? null,
    functionVersion: a.FunctionVersion ?? null,
    routingWeights,
    revisionId: a.RevisionId ?? null,
    description: a.Description ? redactText(a.Description) : null,
    targetCodeSha256,
    restore: { functionName, alias, functionVersion: a.FunctionVersion ?? null, routingWeights },
    unreadable,
  };
  return { snapshot, versionId: a.FunctionVersion ?? undefined };
}

// ---- S3 ----------------------------------------------------------------------------------------

interface ObjectEntry {
  key: string;
  versionId: string;
  etag: string | null;
  size: number | null;
  lastModified: string | null;
  deleteMarker?: true;
}

async function listCurrentObjects(clients: AwsClients, bucket: string, prefixes: string[], versioned: boolean, signal: AbortSignal) {
  const s3sdk = await import('@aws-sdk/client-s3');
  const s3 = await clients.s3();
  const resource = `arn:aws:s3:::${bucket}`;
  const items = new Map<string, ObjectEntry>();
  let truncated = false;
  for (const prefix of prefixes) {
    if (truncated) break;
    if (versioned) {
      let keyMarker: string | undefined;
      let versionIdMarker: string | undefined;
      do {
        if (signal.aborted) throw Object.assign(new Error('cancelled'), { name: 'AbortError' });
        const page = await must(clients, 's3:ListBucketVersions', resource, () =>
          s3.send(new s3sdk.ListObjectVersionsCommand({ Bucket: bucket, Prefix: prefix || undefined, KeyMarker: keyMarker, VersionIdMarker: versionIdMarker })),
        );
        for (const v of page.Versions ?? []) {
          if (!v.IsLatest || !v.Key) continue;
          items.set(v.Key, { key: v.Key, versionId: v.VersionId ?? 'null', etag: v.ETag ?? null, size: v.Size ?? null, lastModified: iso(v.LastModified) });
        }
        for (const d of page.DeleteMarkers ?? []) {
          if (!d.IsLatest || !d.Key) continue;
          items.set(d.Key, { key: d.Key, versionId: d.VersionId ?? 'null', etag: null, size: null, lastModified: iso(d.LastModified), deleteMarker: true });
        }
        if (items.size >= MAX_OBJECTS) {
          truncated = true;
          break;
        }
        keyMarker = page.IsTruncated ? page.NextKeyMarker : undefined;
        versionIdMarker = page.IsTruncated ? page.NextVersionIdMarker : undefined;
      } while (keyMarker);
    } else {
      let token: string | undefined;
      do {
        if (signal.aborted) throw Object.assign(new Error('cancelled'), { name: 'AbortError' });
        const page = await must(clients, 's3:ListBucket', resource, () =>
          s3.send(new s3sdk.ListObjectsV2Command({ Bucket: bucket, Prefix: prefix || undefined, ContinuationToken: token })),
        );
        for (const o of page.Contents ?? []) {
          if (!o.Key) continue;
          items.set(o.Key, { key: o.Key, versionId: 'null', etag: o.ETag ?? null, size: o.Size ?? null, lastModified: iso(o.LastModified) });
        }
        if (items.size >= MAX_OBJECTS) {
          truncated = true;
          break;
        }
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
    }
  }
  return { items: [...items.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)), truncated };
}

async function snapshotBucket(clients: AwsClients, bucket: string, configuredPrefixes: string[], signal: AbortSignal) {
  const s3sdk = await import('@aws-sdk/client-s3');
  const s3 = await clients.s3();
  const resource = `arn:aws:s3:::${bucket}`;
  const versioningOut = await must(clients, 's3:GetBucketVersioning', resource, () => s3.send(new s3sdk.GetBucketVersioningCommand({ Bucket: bucket })), `S3 bucket ${bucket} does not exist`);
  const versioning = versioningOut.Status ?? 'Disabled';
  const unreadable: Unreadable[] = [];

  const [location, encryption, lifecycle, policy, tags] = await Promise.all([
    optional(clients, unreadable, 'region', 's3:GetBucketLocation', resource, async () => (await s3.send(new s3sdk.GetBucketLocationCommand({ Bucket: bucket }))).LocationConstraint || 'us-east-1', [], null),
    optional(
      clients,
      unreadable,
      'encryption',
      's3:GetEncryptionConfiguration',
      resource,
      async () =>
        (await s3.send(new s3sdk.GetBucketEncryptionCommand({ Bucket: bucket }))).ServerSideEncryptionConfiguration?.Rules?.map((r) => ({
          algorithm: r.ApplyServerSideEncryptionByDefault?.SSEAlgorithm ?? null,
          kmsKeyId: r.ApplyServerSideEncryptionByDefault?.KMSMasterKeyID ?? null,
          bucketKeyEnabled: r.BucketKeyEnabled ?? null,
        })) ?? [],
      ['ServerSideEncryptionConfigurationNotFoundError'],
      [],
    ),
    optional(
      clients,
      unreadable,
      'lifecycleRules',
      's3:GetLifecycleConfiguration',
      resource,
      async () => JSON.parse(JSON.stringify((await s3.send(new s3sdk.GetBucketLifecycleConfigurationCommand({ Bucket: bucket }))).Rules ?? [])) as unknown[],
      ['NoSuchLifecycleConfiguration'],
      [],
    ),
    optional(
      clients,
      unreadable,
      'policy',
      's3:GetBucketPolicy',
      resource,
      async () => {
        const text = (await s3.send(new s3sdk.GetBucketPolicyCommand({ Bucket: bucket }))).Policy;
        if (!text) return null;
        try {
          return JSON.parse(text) as unknown;
        } catch {
          return text;
        }
      },
      ['NoSuchBucketPolicy'],
      null,
    ),
    optional(
      clients,
      unreadable,
      'tags',
      's3:GetBucketTagging',
      resource,
      async () => Object.fromEntries(((await s3.send(new s3sdk.GetBucketTaggingCommand({ Bucket: bucket }))).TagSet ?? []).map((t) => [t.Key ?? '', t.Value ?? ''])),
      ['NoSuchTagSet', 'NoSuchTagSetError'],
      {},
    ),
  ]);

  // Versions exist once versioning was ever enabled (Suspended keeps them).
  const versioned = versioning !== 'Disabled';
  let objects: Record<string, unknown>;
  let prefixes: string[] | null = configuredPrefixes.length ? [...new Set(configuredPrefixes)] : null;
  if (!prefixes) {
    const probe = await must(clients, 's3:ListBucket', resource, () => s3.send(new s3sdk.ListObjectsV2Command({ Bucket: bucket, MaxKeys: WHOLE_BUCKET_LIMIT })));
    if (probe.IsTruncated || (probe.KeyCount ?? probe.Contents?.length ?? 0) >= WHOLE_BUCKET_LIMIT) {
      objects = {
        captured: false,
        reason: `the bucket holds ${WHOLE_BUCKET_LIMIT.toLocaleString('en-US')} or more objects and no components[].prefix (kind s3-artifacts) is configured for it: set the prefix the deployment writes to`,
      };
    } else {
      prefixes = [''];
    }
  }
  if (prefixes) {
    const { items, truncated } = await listCurrentObjects(clients, bucket, prefixes, versioned, signal);
    objects = {
      captured: true,
      prefixes,
      versioned,
      restorable: versioned,
      ...(versioned ? {} : { reason: 'versioning is not enabled on this bucket: the previous bytes of an overwritten object cannot be fetched back by version id' }),
      count: items.length,
      truncated,
      items,
    };
  }
  const snapshot = {
    bucket,
    configuration: {
      region: location,
      versioning,
      mfaDelete: versioningOut.MFADelete ?? null,
      encryption,
      lifecycleRules: lifecycle,
      policy,
      tags,
    },
    objects: objects!,
    unreadable,
  };
  return { snapshot, versionId: undefined };
}

// ---- CloudWatch Logs ---------------------------------------------------------------------------

async function snapshotLogGroup(clients: AwsClients, name: string) {
  const logsSdk = await import('@aws-sdk/client-cloudwatch-logs');
  const logs = await clients.logs();
  let group: import('@aws-sdk/client-cloudwatch-logs').LogGroup | undefined;
  let token: string | undefined;
  do {
    const page = await must(clients, 'logs:DescribeLogGroups', name, () => logs.send(new logsSdk.DescribeLogGroupsCommand({ logGroupNamePrefix: name, nextToken: token })));
    group = page.logGroups?.find((g) => g.logGroupName === name);
    token = group ? undefined : page.nextToken;
  } while (token);
  if (!group) throw new Absent(`log group ${name} does not exist`);
  const unreadable: Unreadable[] = [];
  const arn = group.arn?.replace(/:\*$/, '');
  const [tags, metricFilters, subscriptionFilters] = await Promise.all([
    arn
      ? optional(clients, unreadable, 'tags', 'logs:ListTagsForResource', arn, async () => ({ ...((await logs.send(new logsSdk.ListTagsForResourceCommand({ resourceArn: arn }))).tags ?? {}) }), [], {})
      : Promise.resolve(null),
    optional(
      clients,
      unreadable,
      'metricFilters',
      'logs:DescribeMetricFilters',
      name,
      async () =>
        ((await logs.send(new logsSdk.DescribeMetricFiltersCommand({ logGroupName: name }))).metricFilters ?? []).map((f) => ({
          filterName: f.filterName ?? null,
          filterPattern: f.filterPattern ?? null,
          metricTransformations: JSON.parse(JSON.stringify(f.metricTransformations ?? [])) as unknown[],
        })),
      [],
      [],
    ),
    optional(
      clients,
      unreadable,
      'subscriptionFilters',
      'logs:DescribeSubscriptionFilters',
      name,
      async () =>
        ((await logs.send(new logsSdk.DescribeSubscriptionFiltersCommand({ logGroupName: name }))).subscriptionFilters ?? []).map((f) => ({
          filterName: f.filterName ?? null,
          filterPattern: f.filterPattern ?? null,
          destinationArn: f.destinationArn ?? null,
          roleArn: f.roleArn ?? null,
        })),
      [],
      [],
    ),
  ]);
  const snapshot = {
    logGroup: {
      name,
      arn: group.arn ?? null,
      retentionInDays: group.retentionInDays ?? null,
      kmsKeyId: group.kmsKeyId ?? null,
      logGroupClass: group.logGroupClass ?? null,
      creationTime: group.creationTime ? new Date(group.creationTime).toISOString() : null,
      storedBytes: group.storedBytes ?? null,
      metricFilterCount: group.metricFilterCount ?? null,
      dataProtectionStatus: group.dataProtectionStatus ?? null,
    },
    tags,
    metricFilters,
    subscriptionFilters,
    unreadable,
  };
  return { snapshot, versionId: undefined };
}

// ---- The tool ----------------------------------------------------------------------------------

/** Configured resources plus the functions and buckets of components, deduplicated, substituted. */
export function backupTargets(ctx: Pick<ToolContext, 'config'>, environment: string): Target[] {
  const targets: Target[] = [];
  const seen = new Set<string>();
  const add = (t: Target) => {
    const key = `${t.type}\0${t.name}`;
    if (seen.has(key)) return;
    seen.add(key);
    targets.push(t);
  };
  for (const [i, r] of (ctx.config?.resources ?? []).entries()) add({ type: r.type, name: substituteEnvironment(r.name, environment), source: `resources[${i}]` });
  for (const [i, c] of (ctx.config?.components ?? []).entries()) {
    if (c.kind === 'lambda' && c.function) {
      const fn = substituteEnvironment(c.function, environment);
      add({ type: 'lambda-function', name: fn, source: `components[${i}].function` });
      if (c.alias) add({ type: 'lambda-alias', name: `${fn}:${substituteEnvironment(c.alias, environment)}`, source: `components[${i}].alias` });
    }
    if (c.kind === 's3-artifacts' && c.bucket) add({ type: 's3-bucket', name: substituteEnvironment(c.bucket, environment), source: `components[${i}].bucket` });
  }
  return targets;
}

function prefixesFor(ctx: Pick<ToolContext, 'config'>, environment: string, bucket: string): string[] {
  return (ctx.config?.components ?? [])
    .filter((c) => c.kind === 's3-artifacts' && c.bucket && substituteEnvironment(c.bucket, environment) === bucket && c.prefix !== undefined)
    .map((c) => substituteEnvironment(c.prefix!, environment));
}

const ManifestFile = z.object({ path: z.string(), sha256: z.string(), bytes: z.number(), type: z.string(), name: z.string(), takenAt: z.string().optional() });
type ManifestFile = z.infer<typeof ManifestFile>;

export default defineTool({
  name: 'backup-state',
  title: 'Back up the current state',
  description:
    "Snapshots, before anything is deployed, what a rollback needs for each configured resource that exists (config `resources` plus the functions and buckets of `components`, or the named subset): Lambda function configuration (environment variable names only), published versions, aliases with their target versions and routing weights, CodeSha256; S3 bucket settings (versioning, encryption, lifecycle, policy, tags) and the current version id, ETag and size of each object under the configured prefixes; log group settings. Writes one JSON file per resource under the task's backups/ plus backups/manifest.json with each file's sha256. A resource that does not exist is reported as skipped; a read that fails (e.g. AccessDenied) fails the backup and names the IAM action to grant.",
  phases: [2],
  aws: true,
  // Reads AWS only, but writes the snapshot files.
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  input: z
    .object({
      taskId: TaskIdInput,
      resources: z.array(z.string().min(1)).min(1).optional().describe('Only these resource names (after ${environment} substitution); default: every configured resource'),
    })
    .strict(),
  output: z.object({
    backups: z.array(z.object({ type: z.string(), name: z.string(), path: z.string(), versionId: z.string().optional(), sha256: z.string() })),
    skipped: z.array(z.object({ type: z.string(), name: z.string(), reason: z.string() })),
    warnings: z.array(z.string()).describe('Optional settings that could not be read'),
    manifestPath: z.string(),
    takenAt: z.string(),
  }),
  summarize: (o) =>
    `Backed up ${o.backups.length} resource(s)${o.backups.length ? `: ${o.backups.map((b) => `${b.type} ${b.name}${b.versionId ? ` (v${b.versionId})` : ''}`).join(', ')}` : ''}; skipped ${o.skipped.length}${o.skipped.length ? ` (${o.skipped.map((s) => `${s.name}: ${s.reason}`).join('; ')})` : ''}. Manifest: ${o.manifestPath}` +
    (o.warnings.length ? `\nWarnings: ${o.warnings.join(' | ')}` : ''),
  async run(input, ctx) {
    const state = ctx.task!;
    const environment = state.environment;
    const all = backupTargets(ctx, environment);
    if (all.length === 0) {
      throw new ToolError(
        'nothing-to-back-up',
        'The config lists no resources and no components, so there is nothing to back up.',
        'Add the resources this deployment touches to `resources` (and `components`) in deploy-mcp.config.json and restart the server. If nothing exists yet, the phase-1 plan should say so (record-plan with greenfield: true).',
      );
    }
    let targets = all;
    if (input.resources) {
      const wanted = new Set(input.resources.map((n) => substituteEnvironment(n, environment)));
      const unknown = [...wanted].filter((n) => !all.some((t) => t.name === n));
      if (unknown.length) {
        throw new ToolError('unknown-resource', `Not in the config: ${unknown.join(', ')}.`, `Configured: ${all.map((t) => t.name).join(', ')}.`);
      }
      targets = all.filter((t) => wanted.has(t.name));
    }

    const clients = ctx.aws();
    const env = ctx.config?.environments?.[environment];
    const account = state.pinned?.account ?? env?.accountId ?? state.target.accountId ?? null;
    const region = clients.target.region;
    const takenAt = ctx.now().toISOString();

    const backups: { type: string; name: string; path: string; versionId?: string; sha256: string }[] = [];
    const files: ManifestFile[] = [];
    const skipped: { type: string; name: string; reason: string }[] = [];
    const failed: FailedRead[] = [];
    const warnings: string[] = [];
    let done = 0;
    await ctx.progress(0, targets.length, `backing up ${targets.length} resource(s)`);

    await mapWithConcurrency(targets, CONCURRENCY, async (t) => {
      if (ctx.signal.aborted) throw Object.assign(new Error('cancelled'), { name: 'AbortError' });
      if (!BACKUP_TYPES.includes(t.type)) {
        skipped.push({ type: t.type, name: t.name, reason: `${t.type} is not snapshotted: deploy-mcp does not change it and rollback does not restore it` });
      } else {
        try {
          const { snapshot, versionId } =
            t.type === 'lambda-function'
              ? await snapshotFunction(clients, t.name)
              : t.type === 'lambda-alias'
                ? await snapshotAlias(clients, t.name)
                : t.type === 's3-bucket'
                  ? await snapshotBucket(clients, t.name, prefixesFor(ctx, environment, t.name), ctx.signal)
                  : await snapshotLogGroup(clients, t.name);
          const document = { format: BACKUP_FORMAT, type: t.type as BackupType, name: t.name, takenAt, region, account, source: t.source, ...snapshot };
          const unreadable = ((snapshot as { unreadable?: Unreadable[] }).unreadable ?? []);
          for (const u of unreadable) warnings.push(`${t.type} ${t.name}: ${u.field} not recorded (${u.code}): ${u.message}`);
          const content = `${JSON.stringify(document, null, 2)}\n`;
          const rel = backupFileName(t.type, t.name);
          const abs = await ctx.store.writeFile(state.taskId, rel, content);
          const sha256 = createHash('sha256').update(content).digest('hex');
          files.push({ path: rel, sha256, bytes: Buffer.byteLength(content), type: t.type, name: t.name, takenAt });
          backups.push({ type: t.type, name: t.name, path: abs, ...(versionId ? { versionId } : {}), sha256 });
        } catch (err) {
          if (err instanceof Absent) skipped.push({ type: t.type, name: t.name, reason: err.message });
          else if (err instanceof ReadFailed) {
            const p = err.problem;
            failed.push({ type: t.type, name: t.name, action: p.action ?? '?', code: p.code, message: p.message, nextStep: p.nextStep });
          } else throw err;
        }
      }
      done += 1;
      await ctx.progress(done, targets.length, `${t.type} ${t.name}`);
    });

    // A partial run (resources filter) keeps the earlier snapshots of the resources it did not take.
    const attempted = new Set(targets.map((t) => `${t.type}\0${t.name}`));
    const previous = await readManifest(ctx, state.taskId);
    const carried = (previous?.files ?? []).filter((f) => !attempted.has(`${f.type}\0${f.name}`));
    const order = (a: { type: string; name: string }, b: { type: string; name: string }) => a.type.localeCompare(b.type) || a.name.localeCompare(b.name);
    const manifest = {
      format: BACKUP_FORMAT,
      taskId: state.taskId,
      takenAt,
      environment,
      account,
      region,
      files: [...carried, ...files].sort(order),
      skipped: skipped.sort(order),
      failed: failed.sort(order).map(({ nextStep: _n, ...f }) => f),
    };
    const manifestPath = await ctx.store.writeFile(state.taskId, 'backups/manifest.json', `${JSON.stringify(manifest, null, 2)}\n`);

    if (failed.length > 0) {
      const first = failed[0]!;
      throw new ToolError(
        'backup-incomplete',
        `The backup is incomplete: ${failed.length} resource(s) could not be read — ${failed.map((f) => `${f.type} ${f.name}: ${f.message}`).join('; ')}. ${backups.length} other snapshot(s) were written.`,
        `${first.nextStep.charAt(0).toUpperCase()}${first.nextStep.slice(1)}${failed.some((f) => f.action) ? ` (needed: ${[...new Set(failed.map((f) => f.action))].join(', ')})` : ''}, then call backup-state again.`,
        { failed, backups, skipped, manifestPath },
      );
    }
    return { backups: backups.sort(order), skipped, warnings, manifestPath, takenAt };
  },
});

async function readManifest(ctx: ToolContext, taskId: number): Promise<{ files: ManifestFile[] } | null> {
  try {
    const text = await ctx.store.readFile(taskId, 'backups/manifest.json');
    if (!text) return null;
    const parsed = z.object({ files: z.array(ManifestFile) }).safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}
