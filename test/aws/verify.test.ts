import { DescribeVpcsCommand } from '@aws-sdk/client-ec2';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { AwsClients } from '../../src/aws/clients.js';
import { verifyResource, type ResourceType, type VerifyResult } from '../../src/aws/verify/index.js';
import {
  awsTestEnv,
  createAlarm,
  createAlias,
  createBucket,
  createFunction,
  createLogGroup,
  createManagedPolicy,
  createRole,
  createSecurityGroup,
  createVpc,
  fixtureClients,
  publishVersion,
  setAlarmState,
  uniqueName,
  updateFunctionCode,
  makeZip,
} from '../helpers/aws-fixtures.js';
import { startFaultProxy, type FaultProxy, type ProxyRequest } from '../helpers/fault-proxy.js';
import { forcePhase, startHarness, type Harness } from '../helpers/mcp.js';

const endpoint = inject('motoEndpoint');
const env = awsTestEnv(endpoint);
const clients = new AwsClients({ region: 'us-east-1' }, { endpoint, env, maxAttempts: 1 });
afterAll(() => clients.destroy());

const KMS_KEY = 'arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const SNS_OPS = 'arn:aws:sns:us-east-1:123456789012:ops';
const SNS_DEV = 'arn:aws:sns:us-east-1:123456789012:dev';
const SECRET_VALUE = 'hunter2-do-not-leak-9f8e7d';

const verify = (type: ResourceType, name: string, expect: Record<string, unknown> = {}, via: AwsClients = clients): Promise<VerifyResult> =>
  verifyResource(via, { type, name, expect });

// The expectation suites go through a real MCP client and the verify-resource tool (phase 3).
let mcp: Harness;
beforeAll(async () => {
  mcp = await startHarness();
  const started = await mcp.call('start-deployment', { title: 'Verify suite', environment: 'staging', component: 'verify' });
  await forcePhase(mcp.srv, started.structuredContent.taskId, 3);
});
afterAll(async () => mcp?.close());

async function verifyViaMcp(type: ResourceType, name: string, expect: Record<string, unknown>): Promise<VerifyResult> {
  const r = await mcp.call('verify-resource', { type, name, expect });
  if (r.isError) throw new Error(`verify-resource failed: ${JSON.stringify(r.structuredContent)}`);
  return r.structuredContent as VerifyResult;
}

/**
 * For one resource: the full matching expectation verifies, and each key on its own with a wrong
 * value gives exactly one discrepancy on that key, carrying the actual value.
 */
function expectationSuite(type: ResourceType, name: () => string, matching: () => Record<string, unknown>, wrong: () => Record<string, unknown>): void {
  it(`${type}: the full matching expectation verifies (through the MCP tool)`, async () => {
    const r = await verifyViaMcp(type, name(), matching());
    expect(r.problems).toEqual([]);
    expect(r.discrepancies).toEqual([]);
    expect(r).toMatchObject({ type, name: name(), exists: true, existence: 'present', verified: true });
  });

  it(`${type}: each key mismatching on its own is one discrepancy on that key (through the MCP tool)`, async () => {
    const wrongValues = wrong();
    const ok = matching();
    expect(Object.keys(wrongValues).sort()).toEqual(Object.keys(ok).sort());
    for (const [field, value] of Object.entries(wrongValues)) {
      const r = await verifyViaMcp(type, name(), { ...ok, [field]: value });
      expect(r.discrepancies, field).toEqual([{ field, expected: value, actual: r.actual[field] }]);
      expect(r.verified, field).toBe(false);
      expect(r.problems, field).toEqual([]);
    }
  });
}

// ---- S3 ---------------------------------------------------------------------------------------------

describe('s3-bucket', () => {
  const full = uniqueName('vb-full');
  const bare = uniqueName('vb-bare');
  const partial = uniqueName('vb-part');
  beforeAll(async () => {
    await createBucket({
      name: full,
      versioning: 'Enabled',
      encryption: 'aws:kms',
      kmsKeyId: KMS_KEY,
      publicAccessBlock: true,
      lifecycleRules: 2,
      replicateTo: `${full}-dst`,
      tags: { team: 'payments', env: 'test' },
    });
    await createBucket({ name: bare, region: 'eu-west-1' });
    await createBucket({ name: partial, versioning: 'Suspended', encryption: 'AES256', publicAccessBlock: { blockPublicAcls: true, blockPublicPolicy: true } });
  });

  expectationSuite(
    's3-bucket',
    () => full,
    () => ({ region: 'us-east-1', versioning: 'Enabled', encryption: 'aws:kms', kmsKeyId: KMS_KEY, publicAccessBlock: true, lifecycleRules: 2, replication: true, tags: { team: 'payments' } }),
    () => ({ region: 'eu-west-1', versioning: 'Suspended', encryption: 'AES256', kmsKeyId: 'arn:aws:kms:us-east-1:123456789012:key/other', publicAccessBlock: false, lifecycleRules: 3, replication: false, tags: { team: 'search' } }),
  );

  it('reads every property even when nothing is expected', async () => {
    const r = await verify('s3-bucket', full);
    expect(r.actual).toMatchObject({ region: 'us-east-1', versioning: 'Enabled', encryption: 'aws:kms', kmsKeyId: KMS_KEY, publicAccessBlock: true, lifecycleRules: 2, replication: true, tags: { team: 'payments', env: 'test' } });
    expect(r.verified).toBe(true);
    expect(r.flags).toEqual([]);
  });

  it('a bucket with nothing configured: Disabled, none, false, 0, {} (moto 404s handled)', async () => {
    const r = await verify('s3-bucket', bare, { region: 'eu-west-1', versioning: 'Disabled', encryption: 'none', kmsKeyId: null, publicAccessBlock: false, lifecycleRules: 0, replication: false, tags: {} });
    expect(r.actual).toMatchObject({ region: 'eu-west-1', versioning: 'Disabled', encryption: 'none', kmsKeyId: null, publicAccessBlock: false, lifecycleRules: 0, replication: false, tags: {} });
    expect(r.discrepancies).toEqual([]);
    expect(r.verified).toBe(true);
    expect(r.flags).toEqual([expect.objectContaining({ field: 'publicAccessBlock', severity: 'medium' })]);
  });

  it('Suspended versioning, AES256, and a partial public access block (false)', async () => {
    const r = await verify('s3-bucket', partial, { versioning: 'Suspended', encryption: 'AES256', publicAccessBlock: true, lifecycleRules: 1 });
    expect(r.actual).toMatchObject({ versioning: 'Suspended', encryption: 'AES256', kmsKeyId: null, publicAccessBlock: false });
    expect(r.discrepancies).toEqual([
      { field: 'publicAccessBlock', expected: true, actual: false },
      { field: 'lifecycleRules', expected: 1, actual: 0 },
    ]);
  });
});

// ---- Lambda -------------------------------------------------------------------------------------------

describe('lambda-function and lambda-alias', () => {
  const fn = uniqueName('vf');
  const plainFn = uniqueName('vf-plain');
  const roleName = uniqueName('vf-role');
  let roleArn = '';
  beforeAll(async () => {
    roleArn = await createRole(roleName);
    await createFunction({
      name: fn,
      roleArn,
      runtime: 'nodejs20.x',
      handler: 'index.handler',
      memorySize: 256,
      timeout: 30,
      environment: { DB_PASSWORD: SECRET_VALUE, STAGE: 'test' },
      tags: { app: 'orders', env: 'test' },
      architectures: ['arm64'],
      vpc: { subnetIds: ['subnet-0aaa', 'subnet-0bbb'], securityGroupIds: ['sg-0ccc'] },
    });
    await createFunction({ name: plainFn, roleArn });
    await publishVersion(fn); // 1
    await updateFunctionCode(fn, makeZip({ 'index.js': 'exports.handler = async () => 2;\n' }));
    await publishVersion(fn); // 2
    await createAlias({ functionName: fn, name: 'live', functionVersion: '1', routingWeights: { '2': 0.25 } });
    await createAlias({ functionName: fn, name: 'stable', functionVersion: '2' });
  });

  expectationSuite(
    'lambda-function',
    () => fn,
    () => ({
      state: 'Active',
      lastUpdateStatus: 'Successful',
      runtime: 'nodejs20.x',
      handler: 'index.handler',
      memorySize: 256,
      timeout: 30,
      role: roleArn,
      architectures: ['arm64'],
      environmentVariables: ['STAGE', 'DB_PASSWORD'],
      tags: { app: 'orders' },
      vpcSubnetIds: ['subnet-0bbb', 'subnet-0aaa'],
      vpcSecurityGroupIds: ['sg-0ccc'],
    }),
    () => ({
      state: 'Pending',
      lastUpdateStatus: 'Failed',
      runtime: 'python3.12',
      handler: 'main.handler',
      memorySize: 128,
      timeout: 3,
      role: 'some-other-role',
      architectures: ['x86_64'],
      environmentVariables: ['STAGE', 'API_KEY'],
      tags: { app: 'billing' },
      vpcSubnetIds: ['subnet-0aaa'],
      vpcSecurityGroupIds: [],
    }),
  );

  it('role matches by bare name as well as ARN', async () => {
    expect((await verify('lambda-function', fn, { role: roleName })).verified).toBe(true);
  });

  it('reports env var names, never their values', async () => {
    const r = await verify('lambda-function', fn, { environmentVariables: ['DB_PASSWORD', 'MISSING_VAR'] });
    expect(r.actual.environmentVariables).toEqual(['DB_PASSWORD', 'STAGE']);
    expect(r.discrepancies).toEqual([{ field: 'environmentVariables', expected: ['DB_PASSWORD', 'MISSING_VAR'], actual: ['DB_PASSWORD', 'STAGE'] }]);
    expect(JSON.stringify(r)).not.toContain(SECRET_VALUE);
    expect(JSON.stringify(await verify('lambda-function', fn))).not.toContain(SECRET_VALUE);
  });

  it('a function without VPC or env: empty lists and default architecture', async () => {
    const r = await verify('lambda-function', plainFn, { vpcSubnetIds: [], vpcSecurityGroupIds: [], environmentVariables: [], architectures: ['x86_64'], tags: {} });
    expect(r.actual).toMatchObject({ vpcSubnetIds: [], vpcSecurityGroupIds: [], environmentVariables: [], architectures: ['x86_64'], tags: {}, runtime: 'python3.12' });
    expect(r.verified).toBe(true);
  });

  expectationSuite(
    'lambda-alias',
    () => `${fn}:live`,
    () => ({ functionVersion: '1', routingWeights: { '2': 0.25 } }),
    () => ({ functionVersion: '2', routingWeights: {} }),
  );

  it('an alias without routing has routingWeights {}', async () => {
    const r = await verify('lambda-alias', `${fn}:stable`, { functionVersion: 2, routingWeights: {} });
    expect(r.actual).toMatchObject({ functionVersion: '2', routingWeights: {} });
    expect(r.verified).toBe(true);
    const wrong = await verify('lambda-alias', `${fn}:stable`, { routingWeights: { '1': 0.1 } });
    expect(wrong.discrepancies).toEqual([{ field: 'routingWeights', expected: { '1': 0.1 }, actual: {} }]);
  });

  it('missing alias, missing function behind an alias, and a malformed alias name', async () => {
    for (const name of [`${fn}:nope`, `${uniqueName('nofn')}:live`]) {
      const r = await verify('lambda-alias', name, { functionVersion: '1' });
      expect(r).toMatchObject({ exists: false, existence: 'absent', verified: false, discrepancies: [{ field: 'exists', expected: true, actual: false }] });
    }
    const bad = await verify('lambda-alias', fn);
    expect(bad).toMatchObject({ exists: false, existence: 'unknown', verified: false });
    expect(bad.problems[0]).toMatchObject({ field: 'exists', code: 'InvalidName' });
  });
});

// ---- CloudWatch Logs -----------------------------------------------------------------------------------

describe('log-group', () => {
  const base = `/test/${uniqueName('vl')}`;
  const longer = `${base}-longer`;
  beforeAll(async () => {
    // The longer name sorts after and shares the prefix: the exact match must be picked.
    await createLogGroup({ name: longer, retentionInDays: 30 });
    await createLogGroup({ name: base, retentionInDays: 14, kmsKeyId: KMS_KEY });
  });

  expectationSuite(
    'log-group',
    () => base,
    () => ({ retentionInDays: 14, kmsKeyId: KMS_KEY }),
    () => ({ retentionInDays: 30, kmsKeyId: null }),
  );

  it('no retention and no key read as null, and flagged as never expiring', async () => {
    const plain = `/test/${uniqueName('vl-plain')}`;
    await createLogGroup({ name: plain });
    const r = await verify('log-group', plain, { retentionInDays: null, kmsKeyId: null });
    expect(r.actual).toMatchObject({ retentionInDays: null, kmsKeyId: null });
    expect(r.verified).toBe(true);
    expect(r.flags.map((f) => f.field)).toEqual(['retentionInDays']);
  });

  it('a name that is only a prefix of an existing group is missing', async () => {
    const r = await verify('log-group', base.slice(0, -2));
    expect(r).toMatchObject({ exists: false, discrepancies: [{ field: 'exists', expected: true, actual: false }] });
  });
});

// ---- IAM -------------------------------------------------------------------------------------------------

describe('iam-role', () => {
  const clean = uniqueName('vr-clean');
  const admin = uniqueName('vr-admin');
  const starResource = uniqueName('vr-star');
  const BASIC = 'arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole';
  let narrowPolicyArn = '';
  beforeAll(async () => {
    narrowPolicyArn = await createManagedPolicy(uniqueName('narrow'), {
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Action: ['s3:GetObject', 's3:PutObject'], Resource: 'arn:aws:s3:::artifacts/*' }],
    });
    await createRole(clean, 'lambda.amazonaws.com', {
      managedPolicyArns: [BASIC, narrowPolicyArn],
      inlinePolicies: { 'read-table': { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'dynamodb:GetItem', Resource: 'arn:aws:dynamodb:us-east-1:123456789012:table/t' }] } },
    });
    await createRole(admin, 'ecs-tasks.amazonaws.com', {
      managedPolicyArns: ['arn:aws:iam::aws:policy/AdministratorAccess'],
      inlinePolicies: { 'all-s3': { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:*', Resource: '*' }] } },
    });
    const starPolicy = await createManagedPolicy(uniqueName('star'), { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'ec2:CreateNetworkInterface', Resource: '*' }] });
    await createRole(starResource, 'lambda.amazonaws.com', { managedPolicyArns: [starPolicy] });
  });

  expectationSuite(
    'iam-role',
    () => clean,
    () => ({ trustedService: 'lambda.amazonaws.com', attachedPolicies: ['AWSLambdaBasicExecutionRole', narrowPolicyArn], noWildcards: true }),
    () => ({ trustedService: 'ecs-tasks.amazonaws.com', attachedPolicies: ['AdministratorAccess'], noWildcards: false }),
  );

  it('reads trust, attached (names and ARNs) and inline policies', async () => {
    const r = await verify('iam-role', clean);
    expect(r.actual.trustedService).toEqual(['lambda.amazonaws.com']);
    expect(r.actual.attachedPolicies).toEqual(
      expect.arrayContaining([
        { name: 'AWSLambdaBasicExecutionRole', arn: BASIC },
        { name: expect.stringMatching(/^narrow-/), arn: narrowPolicyArn },
      ]),
    );
    expect(r.actual.inlinePolicies).toEqual(['read-table']);
    expect(r.actual.noWildcards).toBe(true);
    expect(r.flags).toEqual([]);
  });

  it('AdministratorAccess and an inline s3:* are flagged high and fail noWildcards', async () => {
    const r = await verify('iam-role', admin, { noWildcards: true, trustedService: 'ecs-tasks.amazonaws.com', attachedPolicies: ['arn:aws:iam::aws:policy/AdministratorAccess'] });
    expect(r.discrepancies).toEqual([{ field: 'noWildcards', expected: true, actual: false }]);
    const wildcardFlags = r.flags.filter((f) => f.field === 'noWildcards');
    expect(wildcardFlags.map((f) => f.severity)).toEqual(['high', 'high']);
    expect(wildcardFlags.map((f) => f.message).join('\n')).toMatch(/AdministratorAccess[\s\S]*all-s3|all-s3[\s\S]*AdministratorAccess/);
  });

  it('Resource "*" in a customer-managed policy is flagged low and fails noWildcards', async () => {
    const r = await verify('iam-role', starResource, { noWildcards: true });
    expect(r.discrepancies).toEqual([{ field: 'noWildcards', expected: true, actual: false }]);
    expect(r.flags).toEqual([expect.objectContaining({ field: 'noWildcards', severity: 'low' })]);
  });
});

// ---- CloudWatch alarms ----------------------------------------------------------------------------------

describe('cloudwatch-alarm', () => {
  const alarm = uniqueName('va');
  const firing = uniqueName('va-firing');
  beforeAll(async () => {
    await createAlarm({ name: alarm, namespace: 'AWS/Lambda', metricName: 'Errors', statistic: 'Sum', threshold: 5, comparisonOperator: 'GreaterThanOrEqualToThreshold', alarmActions: [SNS_OPS, SNS_DEV] });
    await createAlarm({ name: firing, namespace: 'AWS/Lambda', metricName: 'Throttles', statistic: 'Maximum', threshold: 0, comparisonOperator: 'GreaterThanThreshold' });
    await setAlarmState(firing, 'ALARM');
  });

  expectationSuite(
    'cloudwatch-alarm',
    () => alarm,
    () => ({ namespace: 'AWS/Lambda', metricName: 'Errors', statistic: 'Sum', threshold: 5, comparisonOperator: 'GreaterThanOrEqualToThreshold', alarmActions: [SNS_DEV], state: 'OK' }),
    () => ({ namespace: 'AWS/EC2', metricName: 'Throttles', statistic: 'Average', threshold: 10, comparisonOperator: 'LessThanThreshold', alarmActions: ['arn:aws:sns:us-east-1:123456789012:nobody'], state: 'ALARM' }),
  );

  it('state follows SetAlarmState; an alarm without actions is flagged', async () => {
    const r = await verify('cloudwatch-alarm', firing, { state: 'ALARM', statistic: 'Maximum', threshold: 0 });
    expect(r.verified).toBe(true);
    expect(r.actual.alarmActions).toEqual([]);
    expect(r.flags).toEqual([expect.objectContaining({ field: 'alarmActions', severity: 'medium' })]);
  });
});

// ---- Security groups -------------------------------------------------------------------------------------

describe('security-group', () => {
  const web = uniqueName('vsg-web');
  const open = uniqueName('vsg-open');
  let webId = '';
  let defaultVpc = '';
  let customVpc = '';
  beforeAll(async () => {
    const vpcs = await fixtureClients(endpoint).ec2.send(new DescribeVpcsCommand({ Filters: [{ Name: 'is-default', Values: ['true'] }] }));
    defaultVpc = vpcs.Vpcs![0]!.VpcId!;
    customVpc = await createVpc('10.77.0.0/16');
    webId = await createSecurityGroup({
      name: web,
      ingress: [
        { protocol: 'tcp', fromPort: 443 },
        { protocol: 'tcp', fromPort: 8000, toPort: 8002, ipv6: ['::/0'] },
        { protocol: 'tcp', fromPort: 22, cidrs: ['10.0.0.0/8'] },
      ],
    });
    await createSecurityGroup({ name: open, vpcId: customVpc, ingress: [{ protocol: '-1' }] });
  });

  expectationSuite(
    'security-group',
    () => web,
    () => ({ vpcId: defaultVpc, worldOpenPorts: [443, 8000, 8001, 8002] }),
    () => ({ vpcId: customVpc, worldOpenPorts: [443] }),
  );

  it('by sg- id as well as by name; ranges expanded; one flag per world-open rule', async () => {
    const r = await verify('security-group', webId, { worldOpenPorts: [443, '8000-8002'] });
    expect(r.verified).toBe(true);
    expect(r.actual).toMatchObject({ groupId: webId, groupName: web, vpcId: defaultVpc, worldOpenPorts: [443, 8000, 8001, 8002] });
    expect(r.flags.map((f) => f.severity).sort()).toEqual(['high', 'low']);
  });

  it('protocol -1 open to the world is "all", high', async () => {
    const r = await verify('security-group', open, { worldOpenPorts: [], vpcId: customVpc });
    expect(r.actual.worldOpenPorts).toEqual(['all']);
    expect(r.discrepancies).toEqual([{ field: 'worldOpenPorts', expected: [], actual: ['all'] }]);
    expect(r.flags).toEqual([expect.objectContaining({ severity: 'high' })]);
  });

  it('the same name in two VPCs is ambiguous unless vpcId picks one', async () => {
    const twin = uniqueName('vsg-twin');
    await createSecurityGroup({ name: twin });
    await createSecurityGroup({ name: twin, vpcId: customVpc, ingress: [{ protocol: 'tcp', fromPort: 80 }] });
    const ambiguous = await verify('security-group', twin);
    expect(ambiguous).toMatchObject({ existence: 'unknown', verified: false });
    expect(ambiguous.problems[0]!.code).toBe('AmbiguousName');
    const picked = await verify('security-group', twin, { vpcId: customVpc, worldOpenPorts: [80] });
    expect(picked.verified).toBe(true);
  });
});

// ---- existence, across every type -------------------------------------------------------------------------

describe('missing resources and exists:false', () => {
  const missing: Record<ResourceType, () => string> = {
    's3-bucket': () => uniqueName('missing-bucket'),
    'lambda-function': () => uniqueName('missing-fn'),
    'lambda-alias': () => `${uniqueName('missing-fn')}:live`,
    'log-group': () => `/missing/${uniqueName('lg')}`,
    'iam-role': () => uniqueName('missing-role'),
    'cloudwatch-alarm': () => uniqueName('missing-alarm'),
    'security-group': () => uniqueName('missing-sg'),
  };
  const present: Partial<Record<ResourceType, string>> = {};
  beforeAll(async () => {
    present['s3-bucket'] = await createBucket({ name: uniqueName('present') });
    present['log-group'] = `/present/${uniqueName('lg')}`;
    await createLogGroup({ name: present['log-group'] });
    present['iam-role'] = uniqueName('present-role');
    await createRole(present['iam-role']);
    present['cloudwatch-alarm'] = uniqueName('present-alarm');
    await createAlarm({ name: present['cloudwatch-alarm'] });
    present['security-group'] = uniqueName('present-sg');
    await createSecurityGroup({ name: present['security-group'] });
    present['lambda-function'] = uniqueName('present-fn');
    await createFunction({ name: present['lambda-function'], roleArn: `arn:aws:iam::123456789012:role/${present['iam-role']}` });
    await createAlias({ functionName: present['lambda-function'], name: 'live', functionVersion: '$LATEST' });
    present['lambda-alias'] = `${present['lambda-function']}:live`;
  });

  for (const type of Object.keys(missing) as ResourceType[]) {
    it(`${type}: missing is one exists discrepancy (not a throw), even with other keys expected`, async () => {
      const r = await verify(type, missing[type](), { tags: { a: 'b' } });
      expect(r.exists).toBe(false);
      expect(r.existence).toBe('absent');
      expect(r.discrepancies).toEqual([{ field: 'exists', expected: true, actual: false }]);
      expect(r.verified).toBe(false);
    });

    it(`${type}: exists:false verifies when absent and fails when present`, async () => {
      expect(await verify(type, missing[type](), { exists: false })).toMatchObject({ exists: false, verified: true, discrepancies: [] });
      const r = await verify(type, present[type]!, { exists: false });
      expect(r).toMatchObject({ exists: true, verified: false, discrepancies: [{ field: 'exists', expected: false, actual: true }] });
    });
  }

  it('an unknown expectation key is a problem, so a typo cannot pass', async () => {
    const r = await verify('s3-bucket', present['s3-bucket']!, { versoning: 'Enabled' });
    expect(r.verified).toBe(false);
    expect(r.problems).toEqual([expect.objectContaining({ field: 'versoning', code: 'UnknownExpectationKey' })]);
  });

  it('an unknown type throws a clear error', async () => {
    await expect(verifyResource(clients, { type: 'dynamodb-table' as ResourceType, name: 'x', expect: {} })).rejects.toThrow(/Unknown resource type "dynamodb-table"/);
  });
});

// ---- property-level AccessDenied through the fault proxy ----------------------------------------------------

describe('one property denied, the rest still verified', () => {
  let proxy: FaultProxy;
  let viaProxy: AwsClients;
  const bucket = uniqueName('vdeny');
  const role = uniqueName('vdeny-role');
  beforeAll(async () => {
    await createBucket({ name: bucket, versioning: 'Enabled', encryption: 'AES256', publicAccessBlock: true, lifecycleRules: 1, tags: { team: 'x' } });
    await createRole(role, 'lambda.amazonaws.com', { managedPolicyArns: ['arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole'], inlinePolicies: { p: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:*', Resource: '*' }] } } });
    proxy = await startFaultProxy(endpoint);
    viaProxy = new AwsClients({ region: 'us-east-1' }, { endpoint: proxy.url, env, maxAttempts: 1 });
  });
  afterAll(async () => {
    viaProxy.destroy();
    await proxy.close();
  });
  const deny = (match: (r: ProxyRequest) => boolean): void => {
    proxy.clearRules();
    proxy.addRule({ match, fault: { kind: 'access-denied' } });
  };

  it('S3 GetBucketVersioning denied: versioning is a problem, every other key verifies', async () => {
    deny((r) => r.service === 's3' && r.method === 'GET' && r.query.has('versioning'));
    const r = await verify('s3-bucket', bucket, { versioning: 'Enabled', region: 'us-east-1', encryption: 'AES256', publicAccessBlock: true, lifecycleRules: 1, replication: false, tags: { team: 'x' } }, viaProxy);
    expect(r.exists).toBe(true);
    expect(r.problems).toEqual([
      {
        field: 'versioning',
        code: 'AccessDenied',
        message: expect.stringContaining(`Missing permission s3:GetBucketVersioning on arn:aws:s3:::${bucket}`),
        nextStep: `add s3:GetBucketVersioning on arn:aws:s3:::${bucket} to the deploy role's policy`,
      },
    ]);
    expect(r.discrepancies).toEqual([]);
    expect(r.actual).not.toHaveProperty('versioning');
    expect(r.actual).toMatchObject({ region: 'us-east-1', encryption: 'AES256', publicAccessBlock: true, lifecycleRules: 1, replication: false, tags: { team: 'x' } });
    expect(r.verified).toBe(false);
  });

  it('S3: a real discrepancy elsewhere is still reported next to the denied property', async () => {
    deny((r) => r.service === 's3' && r.query.has('tagging'));
    const r = await verify('s3-bucket', bucket, { versioning: 'Suspended', tags: { team: 'x' } }, viaProxy);
    expect(r.problems.map((p) => p.field)).toEqual(['tags']);
    expect(r.discrepancies).toEqual([{ field: 'versioning', expected: 'Suspended', actual: 'Enabled' }]);
  });

  it('S3 GetBucketLocation denied: HeadBucket still proves existence and region', async () => {
    deny((r) => r.service === 's3' && r.query.has('location'));
    const r = await verify('s3-bucket', bucket, { region: 'us-east-1', versioning: 'Enabled' }, viaProxy);
    expect(r.exists).toBe(true);
    expect(r.verified).toBe(true);
  });

  it('IAM GetPolicyVersion denied: the inline s3:* still settles noWildcards=false; trust and attachments verify', async () => {
    deny((r) => r.action === 'GetPolicyVersion');
    const r = await verify('iam-role', role, { trustedService: 'lambda.amazonaws.com', attachedPolicies: ['AWSLambdaBasicExecutionRole'], noWildcards: false }, viaProxy);
    expect(r.problems).toEqual([]);
    expect(r.verified).toBe(true);
  });

  it('IAM GetRolePolicy denied: noWildcards cannot be known, the rest verifies', async () => {
    deny((r) => r.action === 'GetRolePolicy');
    const r = await verify('iam-role', role, { trustedService: 'lambda.amazonaws.com', attachedPolicies: ['AWSLambdaBasicExecutionRole'], noWildcards: true }, viaProxy);
    expect(r.problems).toEqual([expect.objectContaining({ field: 'noWildcards', code: 'AccessDenied', nextStep: expect.stringContaining('iam:GetRolePolicy') })]);
    expect(r.discrepancies).toEqual([]);
    expect(r.actual).toMatchObject({ trustedService: ['lambda.amazonaws.com'], inlinePolicies: ['p'] });
    expect(r.actual).not.toHaveProperty('noWildcards');
    expect(r.verified).toBe(false);
  });

  it('IAM ListAttachedRolePolicies denied: attachedPolicies and noWildcards are problems, trust verifies', async () => {
    deny((r) => r.action === 'ListAttachedRolePolicies');
    const r = await verify('iam-role', role, { trustedService: 'lambda.amazonaws.com', attachedPolicies: ['AWSLambdaBasicExecutionRole'] }, viaProxy);
    expect(r.problems.map((p) => p.field).sort()).toEqual(['attachedPolicies']);
    // The inline s3:* was still read, so noWildcards is known to be false.
    expect(r.actual.noWildcards).toBe(false);
    expect(r.discrepancies).toEqual([]);
  });

  it('denied on the existence read itself: existence unknown, never "verified absent"', async () => {
    deny((r) => r.action === 'GetRole');
    const r = await verify('iam-role', role, { exists: false }, viaProxy);
    expect(r).toMatchObject({ exists: false, existence: 'unknown', verified: false, discrepancies: [] });
    expect(r.problems).toEqual([expect.objectContaining({ field: 'exists', code: 'AccessDenied' })]);
  });
});
