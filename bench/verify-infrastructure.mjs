// verify-infrastructure (issue 3): one MCP call vs the workflow's manual method (the `aws` CLI,
// one process per property check, sequentially) vs the floor (a bare SDK script issuing the same
// describe calls with the same concurrency), for N = 10, 50, 200 resources of mixed types, all
// against one moto server that this script starts on a loopback port and kills at the end.
//
//   node bench/verify-infrastructure.mjs            (SIZES=10,50,200 RUNS=5 CLI_SAMPLE=60)
//
// Figures only: nothing here asserts on time.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { crc32 } from 'node:zlib';
import * as cw from '@aws-sdk/client-cloudwatch';
import * as cwlogs from '@aws-sdk/client-cloudwatch-logs';
import * as ec2sdk from '@aws-sdk/client-ec2';
import * as iamsdk from '@aws-sdk/client-iam';
import * as lambdasdk from '@aws-sdk/client-lambda';
import * as s3sdk from '@aws-sdk/client-s3';
import { CLI, BENCH_CONFIG, connect, mean, median, onExit, removeTempDir, requireBuild, startMoto, tempDir, tempProject, watchdog } from './lib.mjs';

requireBuild();
watchdog(Number(process.env.WATCHDOG_MIN ?? 45), 'verify-infrastructure');
const { LocalTaskStore } = await import('../dist/src/state/local-store.js');
const { VERIFY_CONCURRENCY } = await import('../dist/tools/verify-infrastructure.js');

const SIZES = (process.env.SIZES ?? '10,50,200').split(',').map(Number);
const RUNS = Number(process.env.RUNS ?? 5);
const CLI_SAMPLE = Number(process.env.CLI_SAMPLE ?? 60);
/** Sizes up to this many checks run the CLI over every check; above, over a sample. */
const CLI_FULL_MAX = Number(process.env.CLI_FULL_MAX ?? 60);
/** SKIP_CLI=1 leaves the (slow) CLI method out, e.g. while profiling. */
const SKIP_CLI = process.env.SKIP_CLI === '1';
/** Extra node arguments for the deploy-mcp server, e.g. SERVER_NODE_ARGS='--cpu-prof --cpu-prof-dir=/tmp/prof'. */
const SERVER_NODE_ARGS = (process.env.SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean);
const ENVIRONMENT = 'staging';
const ACCOUNT = '123456789012';
const REGION = 'us-east-1';
const ALERT_TOPIC = `arn:aws:sns:${REGION}:${ACCOUNT}:bench-alerts`;
const log = (msg) => process.stderr.write(`[verify-infrastructure] ${msg}\n`);


// ---- fixtures -----------------------------------------------------------------------------------

/** A store-only zip archive (the logic of makeZip in test/helpers/aws-fixtures.ts). */
function makeZip(files) {
  const locals = [];
  const centrals = [];
  let offset = 0;
  const dosTime = 0;
  const dosDate = (0 << 9) | (1 << 5) | 1;
  for (const [file, content] of Object.entries(files)) {
    const data = Buffer.from(content, 'utf8');
    const name = Buffer.from(file, 'utf8');
    const crc = crc32(data) >>> 0;
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(0x0800, 6);
    local.writeUInt16LE(0, 8);
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
    central.writeUInt16LE(0x0314, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(0x0800, 8);
    central.writeUInt16LE(0, 10);
    central.writeUInt16LE(dosTime, 12);
    central.writeUInt16LE(dosDate, 14);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(data.length, 20);
    central.writeUInt32LE(data.length, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt16LE(0, 30);
    central.writeUInt16LE(0, 32);
    central.writeUInt16LE(0, 34);
    central.writeUInt16LE(0, 36);
    central.writeUInt32LE((0o100644 << 16) >>> 0, 38);
    central.writeUInt32LE(offset, 42);
    centrals.push(central, name);
    offset += local.length + name.length + data.length;
  }
  const centralSize = centrals.reduce((n, b) => n + b.length, 0);
  const count = Object.keys(files).length;
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(count, 8);
  end.writeUInt16LE(count, 10);
  end.writeUInt32LE(centralSize, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, ...centrals, end]);
}

// The SDK warns once that its future releases will need Node 22 (TESTING.md pins the versions).
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

function sdkClients(endpoint) {
  // The same client settings as src/aws/clients.ts: standard retries, 3 attempts, path-style S3.
  const config = {
    endpoint,
    region: REGION,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    maxAttempts: 3,
    retryMode: 'standard',
    requestHandler: { connectionTimeout: 5000 },
  };
  return {
    s3: new s3sdk.S3Client({ ...config, forcePathStyle: true, followRegionRedirects: true }),
    iam: new iamsdk.IAMClient(config),
    lambda: new lambdasdk.LambdaClient(config),
    logs: new cwlogs.CloudWatchLogsClient(config),
    cloudwatch: new cw.CloudWatchClient(config),
    ec2: new ec2sdk.EC2Client(config),
    destroy() {
      for (const c of [this.s3, this.iam, this.lambda, this.logs, this.cloudwatch, this.ec2]) c.destroy();
    },
  };
}

async function mapLimit(items, limit, fn) {
  const out = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i], i);
      }
    }),
  );
  return out;
}

const TYPES = ['s3-bucket', 'lambda-function', 'iam-role', 'log-group', 'cloudwatch-alarm', 'security-group'];
const pad = (i) => String(i).padStart(3, '0');
const sub = (s) => s.split('${environment}').join(ENVIRONMENT);

/** The fleet: resource i has type TYPES[i % 6], so every prefix of it is a balanced mix. */
function fleetSpec(n) {
  return Array.from({ length: n }, (_, i) => {
    const type = TYPES[i % TYPES.length];
    const id = pad(i);
    const tags = { app: 'bench', env: '${environment}', idx: id };
    switch (type) {
      case 's3-bucket':
        return { type, name: `bench-\${environment}-bucket-${id}`, expect: { region: REGION, versioning: 'Enabled', encryption: 'AES256', publicAccessBlock: true, tags } };
      case 'lambda-function':
        return {
          type,
          name: `bench-\${environment}-fn-${id}`,
          expect: {
            state: 'Active',
            runtime: 'python3.12',
            handler: 'index.handler',
            memorySize: 256,
            timeout: 30,
            role: 'bench-${environment}-lambda-exec',
            environmentVariables: ['STAGE', 'TABLE_NAME'],
            tags,
          },
        };
      case 'iam-role':
        return {
          type,
          name: `bench-\${environment}-role-${id}`,
          expect: { trustedService: 'lambda.amazonaws.com', attachedPolicies: ['bench-${environment}-logs-write'], noWildcards: true },
        };
      case 'log-group':
        return { type, name: `/bench/\${environment}/service-${id}`, expect: { retentionInDays: 14 } };
      case 'cloudwatch-alarm':
        return {
          type,
          name: `bench-\${environment}-errors-${id}`,
          expect: {
            namespace: 'AWS/Lambda',
            metricName: 'Errors',
            statistic: 'Sum',
            threshold: 1,
            comparisonOperator: 'GreaterThanOrEqualToThreshold',
            alarmActions: [ALERT_TOPIC],
            state: 'OK',
          },
        };
      case 'security-group':
        return { type, name: `bench-\${environment}-sg-${id}`, expect: { worldOpenPorts: [443] } };
    }
  });
}

async function createFleet(c, spec) {
  const tagList = (t) => Object.entries(t).map(([Key, Value]) => ({ Key, Value: sub(Value) }));
  const trust = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' }] });
  const execRole = await c.iam.send(new iamsdk.CreateRoleCommand({ RoleName: sub('bench-${environment}-lambda-exec'), AssumeRolePolicyDocument: trust }));
  const policy = await c.iam.send(
    new iamsdk.CreatePolicyCommand({
      PolicyName: sub('bench-${environment}-logs-write'),
      PolicyDocument: JSON.stringify({
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Action: ['logs:CreateLogStream', 'logs:PutLogEvents'], Resource: `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:/bench/${ENVIRONMENT}/*` }],
      }),
    }),
  );
  const zip = makeZip({ 'index.py': 'def handler(event, context):\n    return event\n' });
  const vpcs = await c.ec2.send(new ec2sdk.DescribeVpcsCommand({ Filters: [{ Name: 'is-default', Values: ['true'] }] }));
  const defaultVpc = vpcs.Vpcs?.[0]?.VpcId;

  await mapLimit(spec, 8, async (r) => {
    const name = sub(r.name);
    const tags = r.expect.tags ? Object.fromEntries(Object.entries(r.expect.tags).map(([k, v]) => [k, sub(v)])) : {};
    switch (r.type) {
      case 's3-bucket':
        await c.s3.send(new s3sdk.CreateBucketCommand({ Bucket: name }));
        await c.s3.send(new s3sdk.PutBucketVersioningCommand({ Bucket: name, VersioningConfiguration: { Status: 'Enabled' } }));
        await c.s3.send(
          new s3sdk.PutBucketEncryptionCommand({ Bucket: name, ServerSideEncryptionConfiguration: { Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] } }),
        );
        await c.s3.send(
          new s3sdk.PutPublicAccessBlockCommand({
            Bucket: name,
            PublicAccessBlockConfiguration: { BlockPublicAcls: true, IgnorePublicAcls: true, BlockPublicPolicy: true, RestrictPublicBuckets: true },
          }),
        );
        await c.s3.send(new s3sdk.PutBucketTaggingCommand({ Bucket: name, Tagging: { TagSet: tagList(r.expect.tags) } }));
        return;
      case 'lambda-function':
        await c.lambda.send(
          new lambdasdk.CreateFunctionCommand({
            FunctionName: name,
            Role: execRole.Role.Arn,
            Runtime: 'python3.12',
            Handler: 'index.handler',
            Code: { ZipFile: zip },
            MemorySize: 256,
            Timeout: 30,
            Environment: { Variables: { STAGE: ENVIRONMENT, TABLE_NAME: `orders-${ENVIRONMENT}` } },
            Tags: tags,
          }),
        );
        return;
      case 'iam-role':
        await c.iam.send(new iamsdk.CreateRoleCommand({ RoleName: name, AssumeRolePolicyDocument: trust }));
        await c.iam.send(new iamsdk.AttachRolePolicyCommand({ RoleName: name, PolicyArn: policy.Policy.Arn }));
        await c.iam.send(
          new iamsdk.PutRolePolicyCommand({
            RoleName: name,
            PolicyName: 'read-config',
            PolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: `arn:aws:s3:::bench-${ENVIRONMENT}-bucket-000/config/*` }] }),
          }),
        );
        return;
      case 'log-group':
        await c.logs.send(new cwlogs.CreateLogGroupCommand({ logGroupName: name }));
        await c.logs.send(new cwlogs.PutRetentionPolicyCommand({ logGroupName: name, retentionInDays: 14 }));
        return;
      case 'cloudwatch-alarm':
        await c.cloudwatch.send(
          new cw.PutMetricAlarmCommand({
            AlarmName: name,
            Namespace: 'AWS/Lambda',
            MetricName: 'Errors',
            Statistic: 'Sum',
            Threshold: 1,
            ComparisonOperator: 'GreaterThanOrEqualToThreshold',
            Period: 60,
            EvaluationPeriods: 1,
            AlarmActions: [ALERT_TOPIC],
            Dimensions: [{ Name: 'FunctionName', Value: `bench-${ENVIRONMENT}-fn-001` }],
          }),
        );
        return;
      case 'security-group': {
        const out = await c.ec2.send(new ec2sdk.CreateSecurityGroupCommand({ GroupName: name, Description: `bench ${name}`, ...(defaultVpc ? { VpcId: defaultVpc } : {}) }));
        await c.ec2.send(
          new ec2sdk.AuthorizeSecurityGroupIngressCommand({
            GroupId: out.GroupId,
            IpPermissions: [
              { IpProtocol: 'tcp', FromPort: 443, ToPort: 443, IpRanges: [{ CidrIp: '0.0.0.0/0' }] },
              { IpProtocol: 'tcp', FromPort: 5432, ToPort: 5432, IpRanges: [{ CidrIp: '10.0.0.0/16' }] },
            ],
          }),
        );
        return;
      }
    }
  });
}

// ---- a. deploy-mcp: one verify-infrastructure call over stdio -----------------------------------

async function startOurs(endpoint, spec) {
  const dir = tempProject({ ...BENCH_CONFIG, resources: spec });
  const awsEnv = {
    AWS_ENDPOINT_URL: endpoint,
    AWS_REGION: REGION,
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_CONFIG_FILE: path.join(dir, 'no-aws-config'),
    AWS_SHARED_CREDENTIALS_FILE: path.join(dir, 'no-aws-credentials'),
  };
  const client = await connect(process.execPath, [...SERVER_NODE_ARGS, CLI, '--project', dir], awsEnv);
  const call = async (name, args, options) => {
    const r = await client.callTool({ name, arguments: args }, undefined, { timeout: 600_000, ...options });
    if (r.isError) throw new Error(`${name} failed: ${JSON.stringify(r.structuredContent ?? r.content)}`);
    return r.structuredContent;
  };
  const { taskId } = await call('start-deployment', { title: `verify bench N=${spec.length}`, environment: ENVIRONMENT, component: 'bench' });
  // Phase 1 as the workflow does it: prove and pin the account (every later AWS call re-checks it).
  await call('verify-credentials', { taskId });
  // Force phase 3 with approved transitions written straight into the log (the event shapes of
  // forcePhase in test/helpers/mcp.ts), through the built store and its lock.
  const store = new LocalTaskStore(path.join(dir, '.deploy-mcp'));
  for (let from = 1; from < 3; from++) {
    const requestId = `tr-${String(from).padStart(12, '0')}`;
    await store.transact(taskId, () => ({
      append: [
        {
          type: 'transition.requested',
          data: { requestId, from, to: from + 1, summary: 'fixture', evidenceHash: 'x', criteria: [], unmet: [], expiresAt: '2999-01-01T00:00:00.000Z', requestedBy: 'fixture' },
        },
        { type: 'transition.approved', data: { requestId, channel: 'fixture', approver: 'fixture' } },
        { type: 'phase.advanced', data: { from, to: from + 1, requestId, channel: 'fixture', approver: 'fixture' } },
      ],
      result: null,
    }));
  }
  const status = await call('deployment-status', { taskId });
  if (status.phase?.number !== 3) throw new Error(`the task is in phase ${status.phase?.number}, not 3, after forcing`);
  return {
    /** One verify-infrastructure call; returns its wall time seen by the client. */
    /** One call, with a progress token (as an agent that shows progress) unless `progress` is false. */
    async verify({ progress: wantProgress = true } = {}) {
      let progress = 0;
      const t0 = performance.now();
      const out = await call('verify-infrastructure', { taskId }, wantProgress ? { onprogress: () => progress++ } : {});
      const elapsed = performance.now() - t0;
      if (out.results.length !== spec.length || !out.verified || out.discrepancyCount !== 0 || out.problemCount !== 0) {
        const bad = out.results.filter((r) => !r.verified).slice(0, 3);
        throw new Error(`verify-infrastructure did not verify all ${spec.length} resources: ${JSON.stringify(bad, null, 1).slice(0, 3000)}`);
      }
      return { elapsed, serverMs: out.durationMs, progress };
    },
    async close() {
      await client.close();
      removeTempDir(dir);
    },
  };
}

// ---- c. the floor: the same describe calls through the bare SDK, same concurrency ---------------

const ignore = (...codes) => (err) => {
  if (!codes.includes(err?.name ?? err?.Code)) throw err;
};

async function floorResource(c, r) {
  const name = sub(r.name);
  switch (r.type) {
    case 's3-bucket': {
      await c.s3.send(new s3sdk.GetBucketLocationCommand({ Bucket: name }));
      await Promise.all([
        c.s3.send(new s3sdk.GetBucketVersioningCommand({ Bucket: name })),
        c.s3.send(new s3sdk.GetBucketEncryptionCommand({ Bucket: name })).catch(ignore('ServerSideEncryptionConfigurationNotFoundError')),
        c.s3.send(new s3sdk.GetPublicAccessBlockCommand({ Bucket: name })).catch(ignore('NoSuchPublicAccessBlockConfiguration')),
        c.s3.send(new s3sdk.GetBucketLifecycleConfigurationCommand({ Bucket: name })).catch(ignore('NoSuchLifecycleConfiguration')),
        c.s3.send(new s3sdk.GetBucketReplicationCommand({ Bucket: name })).catch(ignore('ReplicationConfigurationNotFoundError')),
        c.s3.send(new s3sdk.GetBucketTaggingCommand({ Bucket: name })).catch(ignore('NoSuchTagSet')),
      ]);
      return;
    }
    case 'lambda-function':
      await c.lambda.send(new lambdasdk.GetFunctionCommand({ FunctionName: name }));
      return;
    case 'iam-role': {
      await c.iam.send(new iamsdk.GetRoleCommand({ RoleName: name }));
      await Promise.all([
        (async () => {
          const attached = [];
          for await (const page of iamsdk.paginateListAttachedRolePolicies({ client: c.iam }, { RoleName: name })) attached.push(...(page.AttachedPolicies ?? []));
          await mapLimit(attached, 4, async (p) => {
            const meta = await c.iam.send(new iamsdk.GetPolicyCommand({ PolicyArn: p.PolicyArn }));
            await c.iam.send(new iamsdk.GetPolicyVersionCommand({ PolicyArn: p.PolicyArn, VersionId: meta.Policy?.DefaultVersionId ?? 'v1' }));
          });
        })(),
        (async () => {
          const inline = [];
          for await (const page of iamsdk.paginateListRolePolicies({ client: c.iam }, { RoleName: name })) inline.push(...(page.PolicyNames ?? []));
          await mapLimit(inline, 4, (PolicyName) => c.iam.send(new iamsdk.GetRolePolicyCommand({ RoleName: name, PolicyName })));
        })(),
      ]);
      return;
    }
    case 'log-group':
      for await (const page of cwlogs.paginateDescribeLogGroups({ client: c.logs }, { logGroupNamePrefix: name })) {
        if (page.logGroups?.some((g) => g.logGroupName === name)) break;
      }
      return;
    case 'cloudwatch-alarm':
      await c.cloudwatch.send(new cw.DescribeAlarmsCommand({ AlarmNames: [name], AlarmTypes: ['MetricAlarm', 'CompositeAlarm'] }));
      return;
    case 'security-group':
      for await (const page of ec2sdk.paginateDescribeSecurityGroups({ client: c.ec2 }, { Filters: [{ Name: 'group-name', Values: [name] }] })) void page;
      return;
  }
}

/** Per resource type: latencies of one resource's reads in the floor runs (for the diagnosis). */
const floorByType = new Map();

async function floorRun(c, spec) {
  const t0 = performance.now();
  await mapLimit(spec, VERIFY_CONCURRENCY, async (r) => {
    const t = performance.now();
    await floorResource(c, r);
    const list = floorByType.get(r.type) ?? [];
    list.push(performance.now() - t);
    floorByType.set(r.type, list);
  });
  return performance.now() - t0;
}

// ---- b. the manual method: one `aws` CLI process per property check, sequentially ---------------

/** The CLI invocations a person or agent runs to check each expected property of a resource. */
function cliChecks(r) {
  const n = sub(r.name);
  const q = (...args) => args;
  switch (r.type) {
    case 's3-bucket':
      return [
        q('s3api', 'get-bucket-location', '--bucket', n),
        q('s3api', 'get-bucket-versioning', '--bucket', n),
        q('s3api', 'get-bucket-encryption', '--bucket', n),
        q('s3api', 'get-public-access-block', '--bucket', n),
        q('s3api', 'get-bucket-tagging', '--bucket', n),
      ];
    case 'lambda-function':
      return [
        ...['State', 'Runtime', 'Handler', 'MemorySize', 'Timeout', 'Role', 'keys(Environment.Variables)'].map((p) => q('lambda', 'get-function-configuration', '--function-name', n, '--query', p)),
        q('lambda', 'list-tags', '--resource', `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${n}`),
      ];
    case 'iam-role': {
      const policyArn = `arn:aws:iam::${ACCOUNT}:policy/${sub('bench-${environment}-logs-write')}`;
      return [
        q('iam', 'get-role', '--role-name', n, '--query', 'Role.AssumeRolePolicyDocument'),
        q('iam', 'list-attached-role-policies', '--role-name', n),
        q('iam', 'get-policy', '--policy-arn', policyArn, '--query', 'Policy.DefaultVersionId'),
        q('iam', 'get-policy-version', '--policy-arn', policyArn, '--version-id', 'v1'),
        q('iam', 'list-role-policies', '--role-name', n),
        q('iam', 'get-role-policy', '--role-name', n, '--policy-name', 'read-config'),
      ];
    }
    case 'log-group':
      return [q('logs', 'describe-log-groups', '--log-group-name-prefix', n, '--query', 'logGroups[0].retentionInDays')];
    case 'cloudwatch-alarm':
      return ['Namespace', 'MetricName', 'Statistic', 'Threshold', 'ComparisonOperator', 'AlarmActions', 'StateValue'].map((p) =>
        q('cloudwatch', 'describe-alarms', '--alarm-names', n, '--query', `MetricAlarms[0].${p}`),
      );
    case 'security-group':
      return ['VpcId', 'IpPermissions'].map((p) =>
        q('ec2', 'describe-security-groups', '--filters', `Name=group-name,Values=${n}`, '--query', `SecurityGroups[0].${p}`),
      );
  }
}

function cliEnv(endpoint, dir) {
  const config = path.join(dir, 'aws-config');
  fs.writeFileSync(config, `[default]\nregion = ${REGION}\noutput = json\ns3 =\n    addressing_style = path\n`);
  const env = {
    ...process.env,
    AWS_ENDPOINT_URL: endpoint,
    AWS_DEFAULT_REGION: REGION,
    AWS_REGION: REGION,
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_CONFIG_FILE: config,
    AWS_SHARED_CREDENTIALS_FILE: path.join(dir, 'no-credentials'),
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_PAGER: '',
  };
  delete env.AWS_PROFILE;
  delete env.AWS_SESSION_TOKEN;
  return env;
}

/** Runs `checks` one `aws` process at a time; returns per-check wall times and failures. */
function runCli(checks, env) {
  const times = [];
  const failures = [];
  for (const args of checks) {
    const t0 = performance.now();
    const r = spawnSync('aws', args, { env, encoding: 'utf8', timeout: 60_000 });
    times.push(performance.now() - t0);
    if (r.status !== 0) failures.push(`aws ${args.join(' ')} → ${r.status ?? r.signal}: ${(r.stderr || r.error?.message || '').trim().split('\n').at(-1)}`);
  }
  return { times, failures };
}

/** An evenly spread sample (every k-th check), so each resource type is represented in proportion. */
function spreadSample(items, size) {
  if (items.length <= size) return items;
  const step = items.length / size;
  return Array.from({ length: size }, (_, i) => items[Math.floor(i * step)]);
}

// ---- run ----------------------------------------------------------------------------------------

const awsVersion = spawnSync('aws', ['--version'], { encoding: 'utf8' });
if (awsVersion.status !== 0) throw new Error('the `aws` CLI is not on PATH');
const maxN = Math.max(...SIZES);
log(`starting moto…`);
const moto = await startMoto();
log(`moto at ${moto.url}; creating ${maxN} resources (6 types)…`);
const fleet = fleetSpec(maxN);
const sdk = sdkClients(moto.url);
let t0 = performance.now();
await createFleet(sdk, fleet);
log(`created in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
const cliDir = tempDir('deploy-mcp-bench-cli-');
const env = cliEnv(moto.url, cliDir);

const rows = [];
try {
  for (const n of SIZES) {
    const spec = fleet.slice(0, n);
    const checks = spec.flatMap(cliChecks);
    log(`N=${n}: ${checks.length} CLI checks; deploy-mcp (with and without progress token) and floor, ${RUNS} runs each (interleaved, after one warm-up each)…`);
    const ours = await startOurs(moto.url, spec);
    const first = await ours.verify(); // first call in this server: loads the AWS SDK clients
    const floorFirst = await floorRun(sdk, spec); // first describe pass over these resources
    const oursRuns = [];
    const quietRuns = [];
    const floorRuns = [];
    for (let i = 0; i < RUNS; i++) {
      oursRuns.push(await ours.verify());
      floorRuns.push(await floorRun(sdk, spec));
      quietRuns.push(await ours.verify({ progress: false }));
    }
    await ours.close();

    const sample = SKIP_CLI ? [] : checks.length <= CLI_FULL_MAX ? checks : spreadSample(checks, CLI_SAMPLE);
    if (!SKIP_CLI) log(`N=${n}: aws CLI over ${sample.length === checks.length ? 'all' : `a sample of ${sample.length} of`} ${checks.length} checks…`);
    t0 = performance.now();
    const cli = runCli(sample, env);
    const cliWall = performance.now() - t0;
    if (cli.failures.length) log(`N=${n}: ${cli.failures.length} CLI checks failed, e.g. ${cli.failures[0]}`);
    const perCheck = sample.length ? cliWall / sample.length : NaN;
    rows.push({
      n,
      checks: checks.length,
      ours: median(oursRuns.map((r) => r.elapsed)),
      oursServer: median(oursRuns.map((r) => r.serverMs)),
      oursFirst: first.elapsed,
      floorFirst,
      progress: first.progress,
      floor: median(floorRuns),
      pairedRatio: median(oursRuns.map((r, i) => r.elapsed / floorRuns[i])),
      cliMs: sample.length === checks.length ? cliWall : perCheck * checks.length,
      cliMeasured: sample.length === checks.length,
      cliSample: sample.length,
      cliPerCheck: perCheck,
      cliFailures: cli.failures.length,
      oursAll: oursRuns.map((r) => r.elapsed),
      quiet: median(quietRuns.map((r) => r.elapsed)),
      floorAll: floorRuns,
    });
  }
} finally {
  sdk.destroy();
  await moto.stop();
}

// ---- report -------------------------------------------------------------------------------------

const f0 = (x) => (x >= 100 ? x.toFixed(0) : x.toFixed(1));
console.log(`verify-infrastructure vs the manual aws CLI method vs the bare-SDK floor (moto on loopback, ${awsVersion.stdout.trim() || awsVersion.stderr.trim()})`);
console.log(`deploy-mcp and floor: median of ${RUNS} runs, interleaved, after one warm-up each; concurrency ${VERIFY_CONCURRENCY} resources at once in both.`);
console.log('');
const header = ['N', 'checks', 'deploy-mcp ms', 'CLI ms', 'floor ms', 'CLI/ours', 'ours/floor'];
const table = rows.map((r) => [
  String(r.n),
  String(r.checks),
  f0(r.ours),
  SKIP_CLI ? 'skipped' : `${f0(r.cliMs)}${r.cliMeasured ? ' (measured)' : ` (extrapolated: ${r.cliSample}-check sample, ${f0(r.cliPerCheck)} ms/check × ${r.checks})`}`,
  f0(r.floor),
  SKIP_CLI ? '-' : `${(r.cliMs / r.ours).toFixed(0)}×${r.n === 50 ? ' (target ≥ 50×)' : ''}`,
  `${(r.ours / r.floor).toFixed(2)}× (paired ${r.pairedRatio.toFixed(2)}×; target ≤ 1.3)`,
]);
const widths = header.map((h, i) => Math.max(h.length, ...table.map((row) => row[i].length)));
console.log(header.map((h, i) => h.padEnd(widths[i])).join(' | '));
console.log(widths.map((w) => '-'.repeat(w)).join('-|-'));
for (const row of table) console.log(row.map((c, i) => c.padEnd(widths[i])).join(' | '));
console.log('');
for (const r of rows) {
  console.log(
    `N=${r.n}: deploy-mcp runs ${r.oursAll.map(f0).join(', ')} ms (server-side durationMs median ${f0(r.oursServer)}; first call in a fresh server ${f0(r.oursFirst)} ms vs the floor's first pass ${f0(r.floorFirst)} ms, ${r.progress} progress notifications; without a progress token: median ${f0(r.quiet)} ms, ${(r.quiet / r.floor).toFixed(2)}× the floor); floor runs ${r.floorAll.map(f0).join(', ')} ms${SKIP_CLI ? '' : `; CLI ${f0(r.cliPerCheck)} ms/check`}${r.cliFailures ? `, ${r.cliFailures} failed checks` : ''}`,
  );
}
const r50 = rows.find((r) => r.n === 50);
const r200 = rows.find((r) => r.n === 200);
if (r50 && r200) {
  console.log(
    `growth N=50 → 200: deploy-mcp ${(r200.ours / r50.ours).toFixed(2)}× (linear = 4×), floor ${(r200.floor / r50.floor).toFixed(2)}×, checks ${(r200.checks / r50.checks).toFixed(2)}×`,
  );
}
console.log(
  `floor, one resource's reads by type (median over all runs, under concurrency ${VERIFY_CONCURRENCY}): ${[...floorByType]
    .map(([type, t]) => `${type} ${f0(median(t))} ms`)
    .join(', ')}`,
);
if (!SKIP_CLI) console.log(`mean CLI time per check over all sizes: ${f0(mean(rows.map((r) => r.cliPerCheck)))} ms (one python process per check)`);
