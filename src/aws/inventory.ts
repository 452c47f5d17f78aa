/**
 * `list-resources`: what exists in the account, per resource type, fully paginated. A type that
 * fails (AccessDenied on its List call) is reported in `errors` while the other types still list.
 */
import type { AwsClients } from './clients.js';
import { mapWithConcurrency } from './concurrency.js';
import type { AwsProblem } from './errors.js';
import { errorName } from './verify/inspection.js';
import { bucketRegionFromLocation } from './verify/s3-bucket.js';
import { analyseIngress } from './verify/security-group.js';
import { RESOURCE_TYPES, type ResourceType } from './verify/types.js';

/** Per-resource follow-up calls (regions, tags, aliases) in flight at once. */
export const INVENTORY_CONCURRENCY = 8;

export interface InventoryResource {
  type: ResourceType;
  name: string;
  arn: string;
  summary: string;
  tags?: Record<string, string>;
  /** Security groups: the sg- id (the name is the group name). */
  id?: string;
  /** S3 buckets: the bucket's region. */
  region?: string;
}

export type InventoryError = AwsProblem & { type: ResourceType };

export interface InventoryOptions {
  types?: ResourceType[];
  /** Keeps resources whose name starts with this. */
  prefix?: string;
  /** Keeps resources carrying every one of these tags (value must match). */
  tags?: Record<string, string>;
}

export interface Inventory {
  resources: InventoryResource[];
  counts: Record<string, number>;
  errors: InventoryError[];
}

type Lister = (clients: AwsClients, opts: InventoryOptions, report: (problem: AwsProblem) => void) => Promise<InventoryResource[]>;

export async function listResources(clients: AwsClients, opts: InventoryOptions = {}): Promise<Inventory> {
  const types = [...new Set(opts.types && opts.types.length > 0 ? opts.types : RESOURCE_TYPES)];
  for (const type of types) {
    if (!RESOURCE_TYPES.includes(type)) throw new Error(`Unknown resource type "${type}"; supported: ${RESOURCE_TYPES.join(', ')}`);
  }
  const wanted = new Set(types);
  const errors: InventoryError[] = [];
  const reporter = (type: ResourceType) => (problem: AwsProblem) => {
    // One entry per (type, code, action): a denied ListTags on 200 functions is one problem.
    if (!errors.some((e) => e.type === type && e.code === problem.code && e.action === problem.action)) errors.push({ ...problem, type });
  };

  const jobs: Promise<InventoryResource[]>[] = [];
  const run = (type: ResourceType, lister: Lister): void => {
    jobs.push(lister(clients, opts, reporter(type)));
  };
  if (wanted.has('s3-bucket')) run('s3-bucket', listBuckets);
  if (wanted.has('lambda-function') || wanted.has('lambda-alias')) {
    jobs.push(
      listFunctionsAndAliases(clients, opts, wanted.has('lambda-function'), wanted.has('lambda-alias'), reporter('lambda-function'), reporter('lambda-alias')),
    );
  }
  if (wanted.has('log-group')) run('log-group', listLogGroups);
  if (wanted.has('iam-role')) run('iam-role', listRoles);
  if (wanted.has('cloudwatch-alarm')) run('cloudwatch-alarm', listAlarms);
  if (wanted.has('security-group')) run('security-group', listSecurityGroups);

  const resources = (await Promise.all(jobs)).flat().filter((r) => wanted.has(r.type));
  resources.sort((a, b) => types.indexOf(a.type) - types.indexOf(b.type) || a.name.localeCompare(b.name));
  const counts: Record<string, number> = Object.fromEntries(types.map((t) => [t, 0]));
  for (const r of resources) counts[r.type] = (counts[r.type] ?? 0) + 1;
  return { resources, counts, errors };
}

// ---- filters --------------------------------------------------------------------------------

function matchesPrefix(name: string, prefix: string | undefined): boolean {
  return !prefix || name.startsWith(prefix);
}

function hasTags(actual: Record<string, string> | undefined, wanted: Record<string, string> | undefined): boolean {
  if (!wanted) return true;
  return Object.entries(wanted).every(([key, value]) => actual?.[key] === value);
}

function wantsTags(opts: InventoryOptions): boolean {
  return !!opts.tags && Object.keys(opts.tags).length > 0;
}

function tagMap(list: readonly { Key?: string; Value?: string }[] | undefined): Record<string, string> {
  return Object.fromEntries((list ?? []).map((t) => [t.Key ?? '', t.Value ?? '']));
}

/**
 * Fetches tags for `items` with bounded concurrency and keeps those matching the tag filter.
 * A failed tag read drops the item (it cannot be shown to match) and is reported once.
 */
async function filterByTags<T extends InventoryResource>(
  items: T[],
  opts: InventoryOptions,
  readTags: (item: T) => Promise<Record<string, string>>,
  onError: (err: unknown, item: T) => void,
): Promise<T[]> {
  if (!wantsTags(opts)) return items;
  const kept = await mapWithConcurrency(items, INVENTORY_CONCURRENCY, async (item) => {
    try {
      item.tags = item.tags ?? (await readTags(item));
      return hasTags(item.tags, opts.tags) ? item : undefined;
    } catch (err) {
      onError(err, item);
      return undefined;
    }
  });
  return kept.filter((item): item is T => item !== undefined);
}

function partitionOf(region: string): string {
  if (region.startsWith('cn-')) return 'aws-cn';
  if (region.startsWith('us-gov-')) return 'aws-us-gov';
  return 'aws';
}

// ---- S3 ---------------------------------------------------------------------------------------

const listBuckets: Lister = async (clients, opts, report) => {
  const s3sdk = await import('@aws-sdk/client-s3');
  const s3 = await clients.s3();
  const partition = partitionOf(clients.target.region);
  const buckets: { name: string; created?: Date; region?: string }[] = [];
  try {
    // No MaxBuckets: S3 returns every bucket without it, and moto truncates without a token with it.
    let token: string | undefined;
    do {
      const page = await s3.send(new s3sdk.ListBucketsCommand({ ...(token ? { ContinuationToken: token } : {}), ...(opts.prefix ? { Prefix: opts.prefix } : {}) }));
      for (const b of page.Buckets ?? []) {
        if (b.Name && matchesPrefix(b.Name, opts.prefix)) buckets.push({ name: b.Name, ...(b.CreationDate ? { created: b.CreationDate } : {}), ...(b.BucketRegion ? { region: b.BucketRegion } : {}) });
      }
      token = page.ContinuationToken;
    } while (token);
  } catch (err) {
    report(clients.problem(err, { action: 's3:ListAllMyBuckets', resource: '*' }));
    return [];
  }

  const resources = await mapWithConcurrency(buckets, INVENTORY_CONCURRENCY, async (bucket): Promise<InventoryResource> => {
    let region = bucket.region;
    if (!region) {
      try {
        const location = await s3.send(new s3sdk.GetBucketLocationCommand({ Bucket: bucket.name }));
        region = bucketRegionFromLocation(location.LocationConstraint);
      } catch (err) {
        report(clients.problem(err, { action: 's3:GetBucketLocation', resource: `arn:${partition}:s3:::${bucket.name}` }));
      }
    }
    return {
      type: 's3-bucket',
      name: bucket.name,
      arn: `arn:${partition}:s3:::${bucket.name}`,
      summary: [`region ${region ?? 'unknown'}`, bucket.created ? `created ${bucket.created.toISOString().slice(0, 10)}` : undefined].filter(Boolean).join(', '),
      ...(region ? { region } : {}),
    };
  });

  return filterByTags(
    resources,
    opts,
    async (bucket) => {
      try {
        return tagMap((await s3.send(new s3sdk.GetBucketTaggingCommand({ Bucket: bucket.name }))).TagSet);
      } catch (err) {
        if (errorName(err) === 'NoSuchTagSet') return {};
        throw err;
      }
    },
    (err, bucket) => report(clients.problem(err, { action: 's3:GetBucketTagging', resource: bucket.arn })),
  );
};

// ---- Lambda -----------------------------------------------------------------------------------

async function listFunctionsAndAliases(
  clients: AwsClients,
  opts: InventoryOptions,
  includeFunctions: boolean,
  includeAliases: boolean,
  reportFunction: (problem: AwsProblem) => void,
  reportAlias: (problem: AwsProblem) => void,
): Promise<InventoryResource[]> {
  const lambdasdk = await import('@aws-sdk/client-lambda');
  const lambda = await clients.lambda();
  const functions: InventoryResource[] = [];
  try {
    for await (const page of lambdasdk.paginateListFunctions({ client: lambda, pageSize: 50 }, {})) {
      for (const f of page.Functions ?? []) {
        if (!f.FunctionName) continue;
        const memory = f.MemorySize ? `${f.MemorySize} MB` : undefined;
        const timeout = f.Timeout ? `${f.Timeout}s timeout` : undefined;
        functions.push({
          type: 'lambda-function',
          name: f.FunctionName,
          arn: f.FunctionArn ?? '',
          summary: [f.Runtime ?? f.PackageType, memory, timeout, f.LastModified ? `modified ${f.LastModified.slice(0, 10)}` : undefined].filter(Boolean).join(', '),
        });
      }
    }
  } catch (err) {
    const problem = clients.problem(err, { action: 'lambda:ListFunctions', resource: '*' });
    if (includeFunctions) reportFunction(problem);
    if (includeAliases) reportAlias(problem);
    return [];
  }

  const prefix = opts.prefix;
  // Functions whose own name or whose aliases ("fn:alias") can match the prefix.
  const relevant = functions.filter((f) => matchesPrefix(f.name, prefix) || (includeAliases && !!prefix && prefix.startsWith(`${f.name}:`)));
  const tagged = await filterByTags(
    relevant,
    opts,
    async (f) => ({ ...((await lambda.send(new lambdasdk.ListTagsCommand({ Resource: f.arn }))).Tags ?? {}) }),
    (err, f) => {
      const problem = clients.problem(err, { action: 'lambda:ListTags', resource: f.arn });
      if (includeFunctions) reportFunction(problem);
      if (includeAliases) reportAlias(problem);
    },
  );

  const out: InventoryResource[] = includeFunctions ? tagged.filter((f) => matchesPrefix(f.name, prefix)) : [];
  if (includeAliases) {
    const aliasLists = await mapWithConcurrency(tagged, INVENTORY_CONCURRENCY, async (f) => {
      const aliases: InventoryResource[] = [];
      try {
        for await (const page of lambdasdk.paginateListAliases({ client: lambda, pageSize: 50 }, { FunctionName: f.name })) {
          for (const a of page.Aliases ?? []) {
            const name = `${f.name}:${a.Name ?? ''}`;
            if (!matchesPrefix(name, prefix)) continue;
            const weights = Object.entries(a.RoutingConfig?.AdditionalVersionWeights ?? {});
            const routing = weights.length > 0 ? `, routing ${weights.map(([v, w]) => `${Math.round(w * 100)}% to v${v}`).join(', ')}` : '';
            aliases.push({
              type: 'lambda-alias',
              name,
              arn: a.AliasArn ?? `${f.arn}:${a.Name ?? ''}`,
              summary: `-> version ${a.FunctionVersion ?? '?'}${routing}`,
              // Aliases carry no tags of their own: they are listed under their function's.
              ...(f.tags ? { tags: f.tags } : {}),
            });
          }
        }
      } catch (err) {
        reportAlias(clients.problem(err, { action: 'lambda:ListAliases', resource: f.arn }));
      }
      return aliases;
    });
    out.push(...aliasLists.flat());
  }
  return out;
}

// ---- CloudWatch Logs --------------------------------------------------------------------------

const listLogGroups: Lister = async (clients, opts, report) => {
  const logsdk = await import('@aws-sdk/client-cloudwatch-logs');
  const logs = await clients.logs();
  const groups: InventoryResource[] = [];
  try {
    const input = opts.prefix ? { logGroupNamePrefix: opts.prefix } : {};
    for await (const page of logsdk.paginateDescribeLogGroups({ client: logs, pageSize: 50 }, input)) {
      for (const g of page.logGroups ?? []) {
        if (!g.logGroupName || !matchesPrefix(g.logGroupName, opts.prefix)) continue;
        const retention = g.retentionInDays ? `retention ${g.retentionInDays} days` : 'never expires';
        groups.push({
          type: 'log-group',
          name: g.logGroupName,
          arn: g.logGroupArn ?? g.arn?.replace(/:\*$/, '') ?? '',
          summary: [retention, g.kmsKeyId ? 'KMS-encrypted' : undefined, `${g.storedBytes ?? 0} bytes stored`].filter(Boolean).join(', '),
        });
      }
    }
  } catch (err) {
    report(clients.problem(err, { action: 'logs:DescribeLogGroups', resource: '*' }));
    return [];
  }
  return filterByTags(
    groups,
    opts,
    async (g) => ({ ...((await logs.send(new logsdk.ListTagsForResourceCommand({ resourceArn: g.arn }))).tags ?? {}) }),
    (err, g) => report(clients.problem(err, { action: 'logs:ListTagsForResource', resource: g.arn })),
  );
};

// ---- IAM --------------------------------------------------------------------------------------

const listRoles: Lister = async (clients, opts, report) => {
  const iamsdk = await import('@aws-sdk/client-iam');
  const iam = await clients.iam();
  const roles: InventoryResource[] = [];
  try {
    for await (const page of iamsdk.paginateListRoles({ client: iam, pageSize: 100 }, {})) {
      for (const r of page.Roles ?? []) {
        if (!r.RoleName || !matchesPrefix(r.RoleName, opts.prefix)) continue;
        roles.push({
          type: 'iam-role',
          name: r.RoleName,
          arn: r.Arn ?? '',
          summary: [`path ${r.Path ?? '/'}`, r.CreateDate ? `created ${r.CreateDate.toISOString().slice(0, 10)}` : undefined, r.Description || undefined].filter(Boolean).join(', '),
        });
      }
    }
  } catch (err) {
    report(clients.problem(err, { action: 'iam:ListRoles', resource: '*' }));
    return [];
  }
  return filterByTags(
    roles,
    opts,
    async (r) => {
      const tags: Record<string, string> = {};
      for await (const page of iamsdk.paginateListRoleTags({ client: iam }, { RoleName: r.name })) Object.assign(tags, tagMap(page.Tags));
      return tags;
    },
    (err, r) => report(clients.problem(err, { action: 'iam:ListRoleTags', resource: r.arn })),
  );
};

// ---- CloudWatch alarms ------------------------------------------------------------------------

const listAlarms: Lister = async (clients, opts, report) => {
  const cwsdk = await import('@aws-sdk/client-cloudwatch');
  const cloudwatch = await clients.cloudwatch();
  const alarms: InventoryResource[] = [];
  try {
    const input = { AlarmTypes: ['MetricAlarm', 'CompositeAlarm'] as ('MetricAlarm' | 'CompositeAlarm')[], ...(opts.prefix ? { AlarmNamePrefix: opts.prefix } : {}) };
    for await (const page of cwsdk.paginateDescribeAlarms({ client: cloudwatch, pageSize: 100 }, input)) {
      for (const a of page.MetricAlarms ?? []) {
        if (!a.AlarmName || !matchesPrefix(a.AlarmName, opts.prefix)) continue;
        const statistic = a.Statistic ?? a.ExtendedStatistic ?? '';
        alarms.push({
          type: 'cloudwatch-alarm',
          name: a.AlarmName,
          arn: a.AlarmArn ?? '',
          summary: `${a.StateValue ?? '?'}: ${a.Namespace ?? ''} ${a.MetricName ?? ''} ${statistic} ${a.ComparisonOperator ?? ''} ${a.Threshold ?? ''}`.replace(/\s+/g, ' ').trim(),
        });
      }
      for (const a of page.CompositeAlarms ?? []) {
        if (!a.AlarmName || !matchesPrefix(a.AlarmName, opts.prefix)) continue;
        alarms.push({ type: 'cloudwatch-alarm', name: a.AlarmName, arn: a.AlarmArn ?? '', summary: `${a.StateValue ?? '?'}: composite (${a.AlarmRule ?? ''})` });
      }
    }
  } catch (err) {
    report(clients.problem(err, { action: 'cloudwatch:DescribeAlarms', resource: '*' }));
    return [];
  }
  return filterByTags(
    alarms,
    opts,
    async (a) => tagMap((await cloudwatch.send(new cwsdk.ListTagsForResourceCommand({ ResourceARN: a.arn }))).Tags),
    (err, a) => report(clients.problem(err, { action: 'cloudwatch:ListTagsForResource', resource: a.arn })),
  );
};

// ---- EC2 security groups ----------------------------------------------------------------------

const listSecurityGroups: Lister = async (clients, opts, report) => {
  const ec2sdk = await import('@aws-sdk/client-ec2');
  const ec2 = await clients.ec2();
  const partition = partitionOf(clients.target.region);
  const groups: InventoryResource[] = [];
  try {
    for await (const page of ec2sdk.paginateDescribeSecurityGroups({ client: ec2, pageSize: 1000 }, {})) {
      for (const g of page.SecurityGroups ?? []) {
        if (!g.GroupName || !g.GroupId || !matchesPrefix(g.GroupName, opts.prefix)) continue;
        const tags = tagMap(g.Tags);
        if (!hasTags(tags, opts.tags)) continue;
        const open = analyseIngress(g.IpPermissions ?? []).worldOpenPorts;
        groups.push({
          type: 'security-group',
          name: g.GroupName,
          id: g.GroupId,
          arn: g.SecurityGroupArn ?? `arn:${partition}:ec2:${clients.target.region}:${g.OwnerId ?? ''}:security-group/${g.GroupId}`,
          summary: [`${g.GroupId} in ${g.VpcId ?? 'EC2-Classic'}`, `${(g.IpPermissions ?? []).length} ingress rules`, open.length > 0 ? `open to the world: ${open.join(', ')}` : undefined]
            .filter(Boolean)
            .join(', '),
          tags,
        });
      }
    }
  } catch (err) {
    report(clients.problem(err, { action: 'ec2:DescribeSecurityGroups', resource: '*' }));
    return [];
  }
  return groups;
};
