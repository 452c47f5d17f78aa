import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import { CreateBucketCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { AwsClients, clientsFor } from '../../src/aws/clients.js';
import { AwsError } from '../../src/aws/errors.js';
import { callerIdentity } from '../../src/aws/identity.js';
import { awsTestEnv, TEST_ACCOUNT, uniqueName } from '../helpers/aws-fixtures.js';
import { startFaultProxy, type FaultProxy } from '../helpers/fault-proxy.js';

const endpoint = inject('motoEndpoint');
const env = awsTestEnv(endpoint);

// Never let a credential chain reach for the EC2 metadata service from a test.
process.env.AWS_EC2_METADATA_DISABLED = 'true';

let proxy: FaultProxy;
beforeAll(async () => {
  proxy = await startFaultProxy(endpoint);
});
afterAll(async () => {
  await proxy.close();
});
afterEach(() => {
  proxy.requests.length = 0;
});

describe('AwsClients', () => {
  it('creates no client until one is asked for, then imports and caches it', async () => {
    const clients = new AwsClients({ region: 'us-east-1' }, { env });
    expect(clients.loadedServices()).toEqual([]);
    const [a, b] = await Promise.all([clients.s3(), clients.s3()]);
    expect(a).toBe(b);
    expect(await clients.s3()).toBe(a);
    expect(clients.loadedServices()).toEqual(['s3']);
    await clients.lambda();
    expect(clients.loadedServices().sort()).toEqual(['lambda', 's3']);
    clients.destroy();
    expect(clients.loadedServices()).toEqual([]);
    await expect(clients.sts()).rejects.toThrow(/destroyed/);
  });

  it('every service getter returns its SDK client, configured for the target region', async () => {
    const clients = new AwsClients({ region: 'eu-central-1' }, { env });
    const all = await Promise.all([clients.sts(), clients.s3(), clients.lambda(), clients.logs(), clients.cloudwatch(), clients.iam(), clients.ec2()]);
    expect(all.map((c) => c.constructor.name)).toEqual(['STSClient', 'S3Client', 'LambdaClient', 'CloudWatchLogsClient', 'CloudWatchClient', 'IAMClient', 'EC2Client']);
    for (const client of all) expect(await client.config.region()).toBe('eu-central-1');
    expect(clients.loadedServices()).toHaveLength(7);
    clients.destroy();
  });

  it('uses standard retries with 3 attempts by default, or the given maxAttempts', async () => {
    const defaults = new AwsClients({ region: 'us-east-1' }, { env });
    const lambda = await defaults.lambda();
    expect(await lambda.config.maxAttempts()).toBe(3);
    expect(typeof lambda.config.retryMode === 'function' ? await lambda.config.retryMode() : lambda.config.retryMode).toBe('standard');
    const one = new AwsClients({ region: 'us-east-1' }, { env, maxAttempts: 1 });
    expect(await (await one.lambda()).config.maxAttempts()).toBe(1);
    defaults.destroy();
    one.destroy();
  });

  it('honours the endpoint option: calls land on moto', async () => {
    const clients = new AwsClients({ region: 'us-east-1' }, { endpoint: proxy.url, env });
    expect(clients.endpoint).toBe(proxy.url);
    const id = await callerIdentity(clients);
    expect(id).toMatchObject({ account: TEST_ACCOUNT, region: 'us-east-1' });
    expect(id.arn).toMatch(/^arn:aws:sts::123456789012:/);
    expect(proxy.requests.map((r) => `${r.service} ${r.action}`)).toEqual(['sts GetCallerIdentity']);
    clients.destroy();
  });

  it('honours AWS_ENDPOINT_URL from the environment', async () => {
    const clients = new AwsClients({ region: 'us-east-1' }, { env: { ...env, AWS_ENDPOINT_URL: `${proxy.url}/` } });
    expect(clients.endpoint).toBe(proxy.url);
    await (await clients.sts()).send(new GetCallerIdentityCommand({}));
    expect(proxy.requests).toHaveLength(1);
    clients.destroy();
  });

  it('addresses S3 path-style when an endpoint is set, and virtual-hosted otherwise', async () => {
    const clients = new AwsClients({ region: 'us-east-1' }, { endpoint: proxy.url, env });
    const s3 = await clients.s3();
    expect(s3.config.forcePathStyle).toBe(true);
    const bucket = uniqueName('pathstyle');
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    await s3.send(new ListObjectsV2Command({ Bucket: bucket }));
    expect(proxy.requests).toHaveLength(2);
    for (const r of proxy.requests) {
      expect(r.path).toMatch(new RegExp(`^/${bucket}/?$`));
      expect(r.headers.host).toBe(new URL(proxy.url).host);
    }
    clients.destroy();

    const plain = new AwsClients({ region: 'us-east-1' }, { env: { AWS_ACCESS_KEY_ID: 'a', AWS_SECRET_ACCESS_KEY: 'b' } });
    expect(plain.endpoint).toBeUndefined();
    expect((await plain.s3()).config.forcePathStyle).toBe(false);
    plain.destroy();
  });

  it('takes static keys from an explicit env and never reports them', () => {
    const clients = new AwsClients({ region: 'us-east-1' }, { env });
    const described = clients.describeConfig();
    expect(described.staticCredentials).toBe(true);
    expect(JSON.stringify(described)).not.toContain('"test"');
    expect(new AwsClients({ region: 'us-east-1' }, { env: {} }).describeConfig().staticCredentials).toBe(false);
  });

  it('requires a region', () => {
    expect(() => new AwsClients({ region: '' })).toThrow(/region/);
  });
});

describe('profiles', () => {
  let dir: string;
  const saved = { ...process.env };
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'deploy-mcp-profile-'));
    writeFileSync(join(dir, 'credentials'), '[deploy-test]\naws_access_key_id = AKIAPROFILETEST00001\naws_secret_access_key = profile-secret\n');
    writeFileSync(join(dir, 'config'), '[profile deploy-test]\nregion = us-east-1\n');
    process.env.AWS_SHARED_CREDENTIALS_FILE = join(dir, 'credentials');
    process.env.AWS_CONFIG_FILE = join(dir, 'config');
    delete process.env.AWS_ACCESS_KEY_ID;
    delete process.env.AWS_SECRET_ACCESS_KEY;
    delete process.env.AWS_PROFILE;
  });
  afterAll(() => {
    for (const key of ['AWS_SHARED_CREDENTIALS_FILE', 'AWS_CONFIG_FILE']) {
      if (saved[key] === undefined) delete process.env[key];
      else process.env[key] = saved[key];
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('signs with the target profile from the shared credentials file', async () => {
    const clients = new AwsClients({ region: 'us-east-1', profile: 'deploy-test' }, { endpoint: proxy.url, env: { ...env } });
    expect(clients.describeConfig()).toMatchObject({ profile: 'deploy-test', staticCredentials: false });
    await callerIdentity(clients);
    expect(String(proxy.requests[0]!.headers.authorization)).toContain('Credential=AKIAPROFILETEST00001/');
    clients.destroy();
  });

  it('a profile that does not exist becomes a credentials problem naming the refresh command', async () => {
    const clients = new AwsClients({ region: 'us-east-1', profile: 'no-such-profile' }, { endpoint: proxy.url, maxAttempts: 1 });
    const err = await callerIdentity(clients).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(AwsError);
    const problem = (err as AwsError).problem;
    expect(problem).toMatchObject({ kind: 'credentials', code: 'CredentialsProviderError', action: 'sts:GetCallerIdentity', retryable: false });
    expect(problem.nextStep).toContain('aws sso login --profile no-such-profile');
    expect(proxy.requests).toHaveLength(0);
    clients.destroy();
  });
});

describe('clientsFor', () => {
  it('shares one AwsClients per region, profile and endpoint', () => {
    const a = clientsFor({ region: 'us-east-1' }, { endpoint, env });
    expect(clientsFor({ region: 'us-east-1' }, { endpoint, env })).toBe(a);
    expect(clientsFor({ region: 'us-east-1' }, { endpoint: `${endpoint}/`, env })).toBe(a);
    expect(clientsFor({ region: 'us-west-2' }, { endpoint, env })).not.toBe(a);
    expect(clientsFor({ region: 'us-east-1', profile: 'p' }, { endpoint, env })).not.toBe(a);
    expect(clientsFor({ region: 'us-east-1' }, { endpoint: proxy.url, env })).not.toBe(a);
    expect(clientsFor({ region: 'us-east-1' }, { env: { ...env, AWS_ENDPOINT_URL: endpoint } })).toBe(a);
    a.destroy();
    expect(clientsFor({ region: 'us-east-1' }, { endpoint, env })).not.toBe(a);
  });
});
