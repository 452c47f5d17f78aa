/**
 * Fixtures created through the real AWS SDK against the test moto server. Every test names its
 * resources with `uniqueName` so parallel test files never collide (no resets between files).
 */
import { randomBytes } from 'node:crypto';
import { crc32 } from 'node:zlib';
import * as cw from '@aws-sdk/client-cloudwatch';
import * as cwlogs from '@aws-sdk/client-cloudwatch-logs';
import * as ec2sdk from '@aws-sdk/client-ec2';
import * as iamsdk from '@aws-sdk/client-iam';
import * as lambdasdk from '@aws-sdk/client-lambda';
import * as s3sdk from '@aws-sdk/client-s3';
import { inject } from 'vitest';

export const TEST_REGION = 'us-east-1';
export const TEST_ACCOUNT = '123456789012';

export function awsTestEnv(endpoint: string): Record<string, string> {
  return {
    AWS_ENDPOINT_URL: endpoint,
    AWS_REGION: TEST_REGION,
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_EC2_METADATA_DISABLED: 'true',
  };
}

/** Wipes every resource in moto. Only for a file that runs alone: parallel files share moto. */
export async function resetMoto(endpoint: string): Promise<void> {
  const res = await fetch(`${endpoint}/moto-api/reset`, { method: 'POST' });
  if (!res.ok) throw new Error(`moto reset failed: HTTP ${res.status}`);
  // A reset drops the no-docker Lambda config too.
  await configureMotoLambda(endpoint);
}

export async function configureMotoLambda(endpoint: string): Promise<void> {
  const res = await fetch(`${endpoint}/moto-api/config`, { method: 'POST', body: JSON.stringify({ lambda: { use_docker: false } }) });
  if (!res.ok) throw new Error(`moto config failed: HTTP ${res.status}`);
}

/**
 * The moto endpoint of this test run: `inject('motoEndpoint')` from the global setup, or
 * `DEPLOY_MCP_TEST_MOTO` when called outside a vitest worker.
 */
export function motoEndpoint(): string {
  let endpoint: string | undefined;
  try {
    endpoint = inject('motoEndpoint');
  } catch {
    endpoint = undefined;
  }
  endpoint ??= process.env.DEPLOY_MCP_TEST_MOTO;
  if (!endpoint) throw new Error('No moto endpoint: run the tests through vitest (test/setup/global-setup.ts starts moto)');
  return endpoint;
}

/** Every fixture creator accepts `endpoint` (default: the run's moto server) and `region` (default us-east-1). */
export interface OnEndpoint {
  endpoint?: string;
  region?: string;
}

/** Lowercase, S3-safe, unique per call: `prefix-<8 hex>`. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`.toLowerCase();
}

const sdkConfig = (endpoint: string, region: string) => ({
  endpoint,
  region,
  credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  maxAttempts: 2,
});

/** Raw SDK clients for arranging fixtures (not the code under test). */
export function fixtureClients(endpoint: string = motoEndpoint(), region: string = TEST_REGION) {
  const config = sdkConfig(endpoint, region);
  return {
    s3: new s3sdk.S3Client({ ...config, forcePathStyle: true }),
    iam: new iamsdk.IAMClient(config),
    lambda: new lambdasdk.LambdaClient(config),
    logs: new cwlogs.CloudWatchLogsClient(config),
    cloudwatch: new cw.CloudWatchClient(config),
    ec2: new ec2sdk.EC2Client(config),
  };
}

type FixtureClients = ReturnType<typeof fixtureClients>;
const clientCache = new Map<string, FixtureClients>();
function clients(endpoint: string = motoEndpoint(), region: string = TEST_REGION): FixtureClients {
  const key = `${endpoint} ${region}`;
  let c = clientCache.get(key);
  if (!c) {
    c = fixtureClients(endpoint, region);
    clientCache.set(key, c);
  }
  return c;
}

const toTagList = (tags: Record<string, string> | undefined) => Object.entries(tags ?? {}).map(([Key, Value]) => ({ Key, Value }));

// ---- S3 -----------------------------------------------------------------------------------------

export interface BucketFixture extends OnEndpoint {
  name: string;
  /** The bucket's region (its LocationConstraint). */
  region?: string;
  versioning?: 'Enabled' | 'Suspended';
  encryption?: 'AES256' | 'aws:kms';
  kmsKeyId?: string;
  publicAccessBlock?: boolean | { blockPublicAcls?: boolean; ignorePublicAcls?: boolean; blockPublicPolicy?: boolean; restrictPublicBuckets?: boolean };
  /** Number of lifecycle rules to create (or explicit prefixes). */
  lifecycleRules?: number | string[];
  /** Replicate to this destination bucket (created when missing, versioning on both). */
  replicateTo?: string;
  tags?: Record<string, string>;
}

export async function createBucket(opts: BucketFixture): Promise<string> {
  const { s3 } = clients(opts.endpoint);
  const region = opts.region ?? TEST_REGION;
  await s3.send(
    new s3sdk.CreateBucketCommand({
      Bucket: opts.name,
      ...(region !== 'us-east-1' ? { CreateBucketConfiguration: { LocationConstraint: region as s3sdk.BucketLocationConstraint } } : {}),
    }),
  );
  if (opts.versioning || opts.replicateTo) {
    await s3.send(new s3sdk.PutBucketVersioningCommand({ Bucket: opts.name, VersioningConfiguration: { Status: opts.versioning ?? 'Enabled' } }));
  }
  if (opts.encryption) {
    await s3.send(
      new s3sdk.PutBucketEncryptionCommand({
        Bucket: opts.name,
        ServerSideEncryptionConfiguration: {
          Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: opts.encryption, ...(opts.kmsKeyId ? { KMSMasterKeyID: opts.kmsKeyId } : {}) } }],
        },
      }),
    );
  }
  if (opts.publicAccessBlock !== undefined) {
    const all = opts.publicAccessBlock === true;
    const p = typeof opts.publicAccessBlock === 'object' ? opts.publicAccessBlock : {};
    await s3.send(
      new s3sdk.PutPublicAccessBlockCommand({
        Bucket: opts.name,
        PublicAccessBlockConfiguration: {
          BlockPublicAcls: all || !!p.blockPublicAcls,
          IgnorePublicAcls: all || !!p.ignorePublicAcls,
          BlockPublicPolicy: all || !!p.blockPublicPolicy,
          RestrictPublicBuckets: all || !!p.restrictPublicBuckets,
        },
      }),
    );
  }
  if (opts.lifecycleRules) {
    const prefixes = typeof opts.lifecycleRules === 'number' ? Array.from({ length: opts.lifecycleRules }, (_, i) => `p${i}/`) : opts.lifecycleRules;
    await s3.send(
      new s3sdk.PutBucketLifecycleConfigurationCommand({
        Bucket: opts.name,
        LifecycleConfiguration: {
          Rules: prefixes.map((prefix, i) => ({ ID: `rule-${i}`, Status: 'Enabled', Filter: { Prefix: prefix }, Expiration: { Days: 30 + i } })),
        },
      }),
    );
  }
  if (opts.replicateTo) {
    try {
      await s3.send(new s3sdk.CreateBucketCommand({ Bucket: opts.replicateTo }));
    } catch (err) {
      if ((err as Error).name !== 'BucketAlreadyOwnedByYou') throw err;
    }
    await s3.send(new s3sdk.PutBucketVersioningCommand({ Bucket: opts.replicateTo, VersioningConfiguration: { Status: 'Enabled' } }));
    await s3.send(
      new s3sdk.PutBucketReplicationCommand({
        Bucket: opts.name,
        ReplicationConfiguration: {
          Role: `arn:aws:iam::${TEST_ACCOUNT}:role/replication`,
          Rules: [{ ID: 'all', Status: 'Enabled', Priority: 1, Filter: { Prefix: '' }, DeleteMarkerReplication: { Status: 'Disabled' }, Destination: { Bucket: `arn:aws:s3:::${opts.replicateTo}` } }],
        },
      }),
    );
  }
  if (opts.tags && Object.keys(opts.tags).length > 0) {
    await s3.send(new s3sdk.PutBucketTaggingCommand({ Bucket: opts.name, Tagging: { TagSet: toTagList(opts.tags) } }));
  }
  return opts.name;
}

// ---- IAM ----------------------------------------------------------------------------------------

export interface RoleFixtureOptions extends OnEndpoint {
  managedPolicyArns?: string[];
  /** Inline policies: name -> policy document (object or JSON string). */
  inlinePolicies?: Record<string, unknown>;
  tags?: Record<string, string>;
  /** Whole trust policy, overriding `trustedService`. */
  trustPolicy?: unknown;
}

export function trustPolicyFor(service: string): Record<string, unknown> {
  return { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { Service: service }, Action: 'sts:AssumeRole' }] };
}

/** Creates a role; returns its ARN. */
export async function createRole(name: string, trustedService = 'lambda.amazonaws.com', opts: RoleFixtureOptions = {}): Promise<string> {
  const { iam } = clients(opts.endpoint, opts.region);
  const out = await iam.send(
    new iamsdk.CreateRoleCommand({
      RoleName: name,
      AssumeRolePolicyDocument: JSON.stringify(opts.trustPolicy ?? trustPolicyFor(trustedService)),
      ...(opts.tags ? { Tags: toTagList(opts.tags) } : {}),
    }),
  );
  for (const arn of opts.managedPolicyArns ?? []) await iam.send(new iamsdk.AttachRolePolicyCommand({ RoleName: name, PolicyArn: arn }));
  for (const [policyName, document] of Object.entries(opts.inlinePolicies ?? {})) {
    await iam.send(
      new iamsdk.PutRolePolicyCommand({ RoleName: name, PolicyName: policyName, PolicyDocument: typeof document === 'string' ? document : JSON.stringify(document) }),
    );
  }
  return out.Role!.Arn!;
}

/** Creates a customer-managed policy; returns its ARN. */
export async function createManagedPolicy(name: string, document: unknown, opts: OnEndpoint = {}): Promise<string> {
  const { iam } = clients(opts.endpoint, opts.region);
  const out = await iam.send(new iamsdk.CreatePolicyCommand({ PolicyName: name, PolicyDocument: typeof document === 'string' ? document : JSON.stringify(document) }));
  return out.Policy!.Arn!;
}

// ---- Lambda -------------------------------------------------------------------------------------

/** A store-only (uncompressed) zip archive, enough for Lambda's code upload. */
export function makeZip(files: Record<string, string | Buffer>): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  // Fixed DOS timestamp 1980-01-01 00:00 keeps the archive byte-for-byte reproducible.
  const dosTime = 0;
  const dosDate = (0 << 9) | (1 << 5) | 1;
  for (const [path, content] of Object.entries(files)) {
    const data = typeof content === 'string' ? Buffer.from(content, 'utf8') : content;
    const name = Buffer.from(path, 'utf8');
    const crc = crc32(data) >>> 0;
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4); // version needed
    local.writeUInt16LE(0x0800, 6); // UTF-8 names
    local.writeUInt16LE(0, 8); // stored
    local.writeUInt16LE(dosTime, 10);
    local.writeUInt16LE(dosDate, 12);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(name.length, 26);
    local.writeUInt16LE(0, 28);
    locals.push(local, name, data);

    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(0x0314, 4); // made by: unix, 2.0
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(0x0800, 8);
    central.writeUInt16LE(0, 10);
    central.writeUInt16LE(dosTime, 12);
    central.writeUInt16LE(dosDate, 14);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(data.length, 20);
    central.writeUInt32LE(data.length, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt16LE(0, 30); // extra
    central.writeUInt16LE(0, 32); // comment
    central.writeUInt16LE(0, 34); // disk
    central.writeUInt16LE(0, 36); // internal attrs
    central.writeUInt32LE((0o100644 << 16) >>> 0, 38); // external attrs: -rw-r--r--
    central.writeUInt32LE(offset, 42);
    centrals.push(central, name);
    offset += local.length + name.length + data.length;
  }
  const centralSize = centrals.reduce((n, b) => n + b.length, 0);
  const count = Object.keys(files).length;
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(0, 4);
  end.writeUInt16LE(0, 6);
  end.writeUInt16LE(count, 8);
  end.writeUInt16LE(count, 10);
  end.writeUInt32LE(centralSize, 12);
  end.writeUInt32LE(offset, 16);
  end.writeUInt16LE(0, 20);
  return Buffer.concat([...locals, ...centrals, end]);
}

export const HANDLER_ZIP = makeZip({ 'index.py': 'def handler(event, context):\n    return event\n' });

export interface FunctionFixture extends OnEndpoint {
  name: string;
  roleArn: string;
  runtime?: string;
  handler?: string;
  memorySize?: number;
  timeout?: number;
  environment?: Record<string, string>;
  tags?: Record<string, string>;
  architectures?: ('x86_64' | 'arm64')[];
  vpc?: { subnetIds: string[]; securityGroupIds: string[] };
  zip?: Buffer;
}

/** Creates a function; returns its ARN. */
export async function createFunction(opts: FunctionFixture): Promise<string> {
  const { lambda } = clients(opts.endpoint, opts.region);
  const out = await lambda.send(
    new lambdasdk.CreateFunctionCommand({
      FunctionName: opts.name,
      Role: opts.roleArn,
      Runtime: (opts.runtime ?? 'python3.12') as lambdasdk.Runtime,
      Handler: opts.handler ?? 'index.handler',
      Code: { ZipFile: opts.zip ?? HANDLER_ZIP },
      ...(opts.memorySize ? { MemorySize: opts.memorySize } : {}),
      ...(opts.timeout ? { Timeout: opts.timeout } : {}),
      ...(opts.environment ? { Environment: { Variables: opts.environment } } : {}),
      ...(opts.tags ? { Tags: opts.tags } : {}),
      ...(opts.architectures ? { Architectures: opts.architectures } : {}),
      ...(opts.vpc ? { VpcConfig: { SubnetIds: opts.vpc.subnetIds, SecurityGroupIds: opts.vpc.securityGroupIds } } : {}),
    }),
  );
  return out.FunctionArn!;
}

/** Publishes a version; pass `description` to force a new one when the code did not change. */
export async function publishVersion(functionName: string, opts: OnEndpoint & { description?: string } = {}): Promise<string> {
  const { lambda } = clients(opts.endpoint, opts.region);
  const out = await lambda.send(new lambdasdk.PublishVersionCommand({ FunctionName: functionName, ...(opts.description ? { Description: opts.description } : {}) }));
  return out.Version!;
}

export async function updateFunctionCode(functionName: string, zip: Buffer, opts: OnEndpoint = {}): Promise<void> {
  const { lambda } = clients(opts.endpoint, opts.region);
  await lambda.send(new lambdasdk.UpdateFunctionCodeCommand({ FunctionName: functionName, ZipFile: zip }));
}

export async function createAlias(
  opts: OnEndpoint & { functionName: string; name: string; functionVersion: string; routingWeights?: Record<string, number> },
): Promise<string> {
  const { lambda } = clients(opts.endpoint, opts.region);
  const out = await lambda.send(
    new lambdasdk.CreateAliasCommand({
      FunctionName: opts.functionName,
      Name: opts.name,
      FunctionVersion: opts.functionVersion,
      ...(opts.routingWeights ? { RoutingConfig: { AdditionalVersionWeights: opts.routingWeights } } : {}),
    }),
  );
  return out.AliasArn!;
}

/**
 * Queues results for the next no-docker Lambda invocations (moto's lambda-simple backend). The
 * queue is shared by every invocation in that account and region, whichever function: a test
 * file that queues results should keep its functions in a region of its own (`region` on the
 * fixtures) so parallel files cannot take its results.
 */
export async function queueLambdaResults(endpoint: string, results: unknown[], opts: { region?: string; accountId?: string } = {}): Promise<void> {
  const res = await fetch(`${endpoint}/moto-api/static/lambda-simple/response`, {
    method: 'POST',
    body: JSON.stringify({
      results: results.map((r) => (typeof r === 'string' ? r : JSON.stringify(r))),
      region: opts.region ?? TEST_REGION,
      ...(opts.accountId ? { account_id: opts.accountId } : {}),
    }),
  });
  if (!res.ok) throw new Error(`queueing Lambda results failed: HTTP ${res.status} ${await res.text()}`);
}

// ---- CloudWatch Logs ----------------------------------------------------------------------------

export async function createLogGroup(opts: OnEndpoint & { name: string; retentionInDays?: number; kmsKeyId?: string; tags?: Record<string, string> }): Promise<void> {
  const { logs } = clients(opts.endpoint, opts.region);
  await logs.send(
    new cwlogs.CreateLogGroupCommand({ logGroupName: opts.name, ...(opts.kmsKeyId ? { kmsKeyId: opts.kmsKeyId } : {}), ...(opts.tags ? { tags: opts.tags } : {}) }),
  );
  if (opts.retentionInDays) await logs.send(new cwlogs.PutRetentionPolicyCommand({ logGroupName: opts.name, retentionInDays: opts.retentionInDays }));
}

// ---- CloudWatch alarms --------------------------------------------------------------------------

export interface AlarmFixture extends OnEndpoint {
  name: string;
  namespace?: string;
  metricName?: string;
  statistic?: cw.Statistic;
  threshold?: number;
  comparisonOperator?: cw.ComparisonOperator;
  alarmActions?: string[];
  dimensions?: Record<string, string>;
  period?: number;
  evaluationPeriods?: number;
  tags?: Record<string, string>;
}

export async function createAlarm(opts: AlarmFixture): Promise<void> {
  const { cloudwatch } = clients(opts.endpoint, opts.region);
  await cloudwatch.send(
    new cw.PutMetricAlarmCommand({
      AlarmName: opts.name,
      Namespace: opts.namespace ?? 'AWS/Lambda',
      MetricName: opts.metricName ?? 'Errors',
      Statistic: opts.statistic ?? 'Sum',
      Threshold: opts.threshold ?? 1,
      ComparisonOperator: opts.comparisonOperator ?? 'GreaterThanOrEqualToThreshold',
      Period: opts.period ?? 60,
      EvaluationPeriods: opts.evaluationPeriods ?? 1,
      ...(opts.alarmActions ? { AlarmActions: opts.alarmActions } : {}),
      ...(opts.dimensions ? { Dimensions: Object.entries(opts.dimensions).map(([Name, Value]) => ({ Name, Value })) } : {}),
      ...(opts.tags ? { Tags: toTagList(opts.tags) } : {}),
    }),
  );
}

export async function setAlarmState(name: string, state: cw.StateValue, opts: OnEndpoint = {}): Promise<void> {
  const { cloudwatch } = clients(opts.endpoint, opts.region);
  await cloudwatch.send(new cw.SetAlarmStateCommand({ AlarmName: name, StateValue: state, StateReason: 'test' }));
}

// ---- EC2 ----------------------------------------------------------------------------------------

export interface IngressFixture {
  protocol?: string;
  fromPort?: number;
  toPort?: number;
  /** IPv4 CIDRs; default 0.0.0.0/0 unless `ipv6` is given. */
  cidrs?: string[];
  ipv6?: string[];
}

/** Creates a security group (default VPC unless `vpcId`); returns its id. */
export async function createSecurityGroup(opts: OnEndpoint & { name: string; vpcId?: string; ingress?: IngressFixture[]; tags?: Record<string, string> }): Promise<string> {
  const { ec2 } = clients(opts.endpoint, opts.region);
  const out = await ec2.send(
    new ec2sdk.CreateSecurityGroupCommand({
      GroupName: opts.name,
      Description: `test group ${opts.name}`,
      ...(opts.vpcId ? { VpcId: opts.vpcId } : {}),
      ...(opts.tags ? { TagSpecifications: [{ ResourceType: 'security-group', Tags: toTagList(opts.tags) }] } : {}),
    }),
  );
  const groupId = out.GroupId!;
  if (opts.ingress && opts.ingress.length > 0) {
    await ec2.send(
      new ec2sdk.AuthorizeSecurityGroupIngressCommand({
        GroupId: groupId,
        IpPermissions: opts.ingress.map((rule) => ({
          IpProtocol: rule.protocol ?? 'tcp',
          ...(rule.fromPort !== undefined ? { FromPort: rule.fromPort } : {}),
          ...(rule.toPort !== undefined || rule.fromPort !== undefined ? { ToPort: rule.toPort ?? rule.fromPort } : {}),
          IpRanges: (rule.cidrs ?? (rule.ipv6 ? [] : ['0.0.0.0/0'])).map((CidrIp) => ({ CidrIp })),
          Ipv6Ranges: (rule.ipv6 ?? []).map((CidrIpv6) => ({ CidrIpv6 })),
        })),
      }),
    );
  }
  return groupId;
}

export async function createVpc(cidr = '10.20.0.0/16', opts: OnEndpoint = {}): Promise<string> {
  const { ec2 } = clients(opts.endpoint, opts.region);
  const out = await ec2.send(new ec2sdk.CreateVpcCommand({ CidrBlock: cidr }));
  return out.Vpc!.VpcId!;
}
