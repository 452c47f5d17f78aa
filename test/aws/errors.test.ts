import { createServer } from 'node:net';
import { DescribeAlarmHistoryCommand, DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import { DescribeLogGroupsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { DescribeSecurityGroupsCommand } from '@aws-sdk/client-ec2';
import { GetRoleCommand } from '@aws-sdk/client-iam';
import { GetFunctionCommand } from '@aws-sdk/client-lambda';
import { GetBucketVersioningCommand } from '@aws-sdk/client-s3';
import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { AwsClients } from '../../src/aws/clients.js';
import { AwsError, describeAwsError, isNotFoundError, redactCredentials, type AwsProblem } from '../../src/aws/errors.js';
import { callerIdentity } from '../../src/aws/identity.js';
import { awsTestEnv, createBucket, uniqueName } from '../helpers/aws-fixtures.js';
import { startFaultProxy, type FaultProxy } from '../helpers/fault-proxy.js';

const endpoint = inject('motoEndpoint');
const env = awsTestEnv(endpoint);

let proxy: FaultProxy;
beforeAll(async () => {
  proxy = await startFaultProxy(endpoint);
});
afterAll(async () => {
  await proxy.close();
});
afterEach(() => {
  proxy.clearRules();
  proxy.requests.length = 0;
});

function clientsVia(url: string, opts: { maxAttempts?: number; profile?: string; requestTimeoutMs?: number } = {}): AwsClients {
  return new AwsClients(
    { region: 'us-east-1', ...(opts.profile ? { profile: opts.profile } : {}) },
    { endpoint: url, env, maxAttempts: opts.maxAttempts ?? 1, ...(opts.requestTimeoutMs ? { requestTimeoutMs: opts.requestTimeoutMs } : {}) },
  );
}

/** Runs `call`, expects it to fail, and translates the failure. */
async function problemOf(clients: AwsClients, ctx: { action: string; resource?: string }, call: () => Promise<unknown>): Promise<AwsProblem> {
  try {
    await call();
  } catch (err) {
    return clients.problem(err, ctx);
  }
  throw new Error('expected the call to fail');
}

describe('access denied, in every protocol the SDK speaks', () => {
  const cases: { service: string; action: string; resource: string; code: string; call: (c: AwsClients) => Promise<unknown> }[] = [
    {
      service: 's3 (REST-XML)',
      action: 's3:GetBucketVersioning',
      resource: 'arn:aws:s3:::denied-bucket',
      code: 'AccessDenied',
      call: async (c) => (await c.s3()).send(new GetBucketVersioningCommand({ Bucket: 'denied-bucket' })),
    },
    {
      service: 'lambda (REST-JSON)',
      action: 'lambda:GetFunction',
      resource: 'arn:aws:lambda:us-east-1:123456789012:function:f',
      code: 'AccessDeniedException',
      call: async (c) => (await c.lambda()).send(new GetFunctionCommand({ FunctionName: 'f' })),
    },
    {
      service: 'logs (JSON 1.1)',
      action: 'logs:DescribeLogGroups',
      resource: '*',
      code: 'AccessDeniedException',
      call: async (c) => (await c.logs()).send(new DescribeLogGroupsCommand({})),
    },
    {
      service: 'cloudwatch (JSON 1.0)',
      action: 'cloudwatch:DescribeAlarms',
      resource: '*',
      code: 'AccessDenied',
      call: async (c) => (await c.cloudwatch()).send(new DescribeAlarmsCommand({})),
    },
    {
      service: 'iam (query)',
      action: 'iam:GetRole',
      resource: 'arn:aws:iam::123456789012:role/r',
      code: 'AccessDenied',
      call: async (c) => (await c.iam()).send(new GetRoleCommand({ RoleName: 'r' })),
    },
    {
      service: 'ec2 (EC2 query)',
      action: 'ec2:DescribeSecurityGroups',
      resource: '*',
      code: 'UnauthorizedOperation',
      call: async (c) => (await c.ec2()).send(new DescribeSecurityGroupsCommand({})),
    },
  ];

  for (const c of cases) {
    it(`${c.service}: names the IAM action and resource and says what to add`, async () => {
      proxy.addRule({ match: () => true, fault: { kind: 'access-denied' } });
      const clients = clientsVia(proxy.url);
      const problem = await problemOf(clients, { action: c.action, resource: c.resource }, () => c.call(clients));
      expect(problem).toMatchObject({ kind: 'access-denied', httpStatus: 403, action: c.action, resource: c.resource, retryable: false });
      // CloudWatch's JSON protocol reports the awsQuery-compatible code.
      expect([c.code, 'AccessDenied', 'AccessDeniedException']).toContain(problem.code);
      expect(problem.message).toContain(`Missing permission ${c.action} on ${c.resource}`);
      expect(problem.nextStep).toBe(`add ${c.action} on ${c.resource} to the deploy role's policy`);
      clients.destroy();
    });
  }

  it('an explicit deny says so instead of asking to add a permission', async () => {
    proxy.addRule({ match: () => true, fault: { kind: 'access-denied', message: 'User x is not authorized to perform: s3:GetBucketVersioning with an explicit deny in a service control policy' } });
    const clients = clientsVia(proxy.url);
    const problem = await problemOf(clients, { action: 's3:GetBucketVersioning', resource: 'arn:aws:s3:::b' }, async () => (await clients.s3()).send(new GetBucketVersioningCommand({ Bucket: 'b' })));
    expect(problem.kind).toBe('access-denied');
    expect(problem.nextStep).toMatch(/explicit Deny/);
    clients.destroy();
  });
});

describe('credentials', () => {
  for (const [code, service] of [
    ['ExpiredToken', 'sts'],
    ['InvalidClientTokenId', 'sts'],
    ['UnrecognizedClientException', 'lambda'],
  ] as const) {
    it(`${code} tells how to refresh the credentials of the profile`, async () => {
      proxy.addRule({ match: () => true, fault: { kind: 'error', status: 403, code, message: 'The security token included in the request is expired' } });
      const clients = clientsVia(proxy.url);
      const action = service === 'sts' ? 'sts:GetCallerIdentity' : 'lambda:GetFunction';
      let thrown: unknown;
      try {
        if (service === 'sts') await (await clients.sts()).send(new GetCallerIdentityCommand({}));
        else await (await clients.lambda()).send(new GetFunctionCommand({ FunctionName: 'f' }));
      } catch (err) {
        thrown = err;
      }
      // The error as the SDK parsed it off the wire, translated for a target that uses a profile.
      const problem = describeAwsError(thrown, { action, profile: 'prod-deploy' });
      expect(problem).toMatchObject({ kind: 'credentials', code, retryable: false });
      expect(problem.nextStep).toContain('aws sso login --profile prod-deploy');
      clients.destroy();
    });
  }

  it('without a profile, explains both ways to refresh', () => {
    const problem = describeAwsError(Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' }), { action: 'sts:GetCallerIdentity' });
    expect(problem.kind).toBe('credentials');
    expect(problem.nextStep).toContain('aws sso login --profile <profile>');
    expect(problem.nextStep).toContain('AWS_ACCESS_KEY_ID');
  });
});

describe('missing resources (real moto answers)', () => {
  it('NoSuchBucket, ResourceNotFoundException, NoSuchEntity, InvalidGroup.NotFound', async () => {
    const clients = clientsVia(endpoint);
    const missing = uniqueName('missing');
    const problems = [
      await problemOf(clients, { action: 's3:GetBucketVersioning', resource: missing }, async () => (await clients.s3()).send(new GetBucketVersioningCommand({ Bucket: missing }))),
      await problemOf(clients, { action: 'lambda:GetFunction', resource: missing }, async () => (await clients.lambda()).send(new GetFunctionCommand({ FunctionName: missing }))),
      await problemOf(clients, { action: 'iam:GetRole', resource: missing }, async () => (await clients.iam()).send(new GetRoleCommand({ RoleName: missing }))),
      await problemOf(clients, { action: 'ec2:DescribeSecurityGroups', resource: 'sg-0123456789abcdef0' }, async () =>
        (await clients.ec2()).send(new DescribeSecurityGroupsCommand({ GroupIds: ['sg-0123456789abcdef0'] })),
      ),
    ];
    expect(problems.map((p) => p.kind)).toEqual(['not-found', 'not-found', 'not-found', 'not-found']);
    expect(problems.map((p) => p.code)).toEqual(['NoSuchBucket', 'ResourceNotFoundException', expect.stringMatching(/^NoSuchEntity/), 'InvalidGroup.NotFound']);
    expect(problems[0]!.message).toContain(`${missing} does not exist`);
    expect(problems[0]!.nextStep).toContain('us-east-1');
    clients.destroy();
  });

  it('isNotFoundError', () => {
    expect(isNotFoundError(Object.assign(new Error('x'), { name: 'NoSuchKey', $metadata: { httpStatusCode: 404 } }))).toBe(true);
    expect(isNotFoundError(Object.assign(new Error('x'), { name: 'AccessDenied', $metadata: { httpStatusCode: 403 } }))).toBe(false);
  });
});

describe('throttling and retries', () => {
  it('throttling is retryable and says to retry later', async () => {
    proxy.addRule({ match: (r) => r.action === 'GetRole', fault: { kind: 'throttle' } });
    const clients = clientsVia(proxy.url);
    const problem = await problemOf(clients, { action: 'iam:GetRole', resource: 'r' }, async () => (await clients.iam()).send(new GetRoleCommand({ RoleName: 'r' })));
    expect(problem).toMatchObject({ kind: 'throttled', code: 'Throttling', retryable: true });
    expect(problem.nextStep).toMatch(/retry later/);
    clients.destroy();
  });

  it('standard retries ride out two throttled answers with the default 3 attempts', async () => {
    proxy.addRule({ match: (r) => r.action === 'GetCallerIdentity', fault: { kind: 'throttle' }, times: 2 });
    const clients = new AwsClients({ region: 'us-east-1' }, { endpoint: proxy.url, env });
    const id = await callerIdentity(clients);
    expect(id.account).toBe('123456789012');
    expect(proxy.requests.filter((r) => r.action === 'GetCallerIdentity')).toHaveLength(3);
    clients.destroy();
  });

  it('TooManyRequestsException from Lambda', () => {
    const problem = describeAwsError(Object.assign(new Error('Rate exceeded'), { name: 'TooManyRequestsException', $metadata: { httpStatusCode: 429 } }), { action: 'lambda:Invoke' });
    expect(problem).toMatchObject({ kind: 'throttled', retryable: true, httpStatus: 429 });
  });
});

describe('AWS unreachable', () => {
  it('a real ECONNREFUSED against a closed port names the endpoint', async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const dead = `http://127.0.0.1:${port}`;

    const clients = clientsVia(dead);
    const err = await callerIdentity(clients).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(AwsError);
    const problem = (err as AwsError).problem;
    expect(problem).toMatchObject({ kind: 'unreachable', code: 'ECONNREFUSED', retryable: true, endpoint: dead, action: 'sts:GetCallerIdentity' });
    expect(problem.message).toContain(dead);
    expect(problem.message).toMatch(/unreachable/);
    expect(problem.nextStep).toContain(dead);
    expect((err as AwsError).message).toContain('Next step:');
    clients.destroy();
  });

  it('a connection reset mid-request', async () => {
    proxy.addRule({ match: () => true, fault: { kind: 'reset' } });
    const clients = clientsVia(proxy.url);
    const problem = await problemOf(clients, { action: 'sts:GetCallerIdentity' }, async () => (await clients.sts()).send(new GetCallerIdentityCommand({})));
    expect(problem.kind).toBe('unreachable');
    expect(['ECONNRESET', 'EPIPE']).toContain(problem.code);
    clients.destroy();
  });

  it('a request timeout', async () => {
    proxy.addRule({ match: () => true, fault: { kind: 'delay', ms: 1500 } });
    const clients = clientsVia(proxy.url, { requestTimeoutMs: 300 });
    const problem = await problemOf(clients, { action: 'sts:GetCallerIdentity' }, async () => (await clients.sts()).send(new GetCallerIdentityCommand({})));
    expect(problem).toMatchObject({ kind: 'unreachable', retryable: true });
    expect(problem.message).toMatch(/timed out/);
    clients.destroy();
  });

  it('ENOTFOUND without an endpoint override names the host', () => {
    const err = Object.assign(new Error('getaddrinfo ENOTFOUND sts.us-east-1.amazonaws.com'), { code: 'ENOTFOUND', hostname: 'sts.us-east-1.amazonaws.com', $metadata: { attempts: 1 } });
    const problem = describeAwsError(err, { action: 'sts:GetCallerIdentity', region: 'us-east-1' });
    expect(problem).toMatchObject({ kind: 'unreachable', code: 'ENOTFOUND', endpoint: 'sts.us-east-1.amazonaws.com' });
    expect(problem.message).toContain('does not resolve');
    expect(problem.nextStep).toMatch(/network/);
  });

  it('an AggregateError from happy-eyeballs connect is unwrapped', () => {
    const inner = Object.assign(new Error('connect ECONNREFUSED ::1:4566'), { code: 'ECONNREFUSED', address: '::1', port: 4566 });
    const problem = describeAwsError(new AggregateError([inner], 'connect failed'), { action: 's3:ListBuckets', endpoint: 'http://localhost:4566' });
    expect(problem).toMatchObject({ kind: 'unreachable', code: 'ECONNREFUSED', endpoint: 'http://localhost:4566' });
  });
});

describe('server errors', () => {
  it('a 503 is retryable and says the endpoint is down', async () => {
    proxy.addRule({ match: () => true, fault: { kind: 'error', status: 503, code: 'ServiceUnavailable', message: 'Service is unavailable' } });
    const clients = clientsVia(proxy.url);
    const problem = await problemOf(clients, { action: 'iam:GetRole', resource: 'r' }, async () => (await clients.iam()).send(new GetRoleCommand({ RoleName: 'r' })));
    expect(problem).toMatchObject({ kind: 'server-error', code: 'ServiceUnavailable', httpStatus: 503, retryable: true });
    expect(problem.message).toContain(proxy.url);
    clients.destroy();
  });

  it("moto's HTML 500 for an unimplemented operation says the endpoint does not support it", async () => {
    const clients = clientsVia(endpoint);
    const problem = await problemOf(clients, { action: 'cloudwatch:DescribeAlarmHistory', resource: 'a' }, async () =>
      (await clients.cloudwatch()).send(new DescribeAlarmHistoryCommand({ AlarmName: 'a' })),
    );
    expect(problem).toMatchObject({ kind: 'unsupported', code: 'UnsupportedOperation', httpStatus: 500, retryable: false });
    expect(problem.message).toContain(`cloudwatch:DescribeAlarmHistory is not supported by ${endpoint}`);
    expect(problem.message).not.toMatch(/<html|doctype/i);
    clients.destroy();
  });

  it('an HTML 500 through S3 (XML parser) too', async () => {
    const bucket = await createBucket({ name: uniqueName('html500') });
    proxy.addRule({ match: (r) => r.query.has('versioning'), fault: { kind: 'html' } });
    const clients = clientsVia(proxy.url);
    const problem = await problemOf(clients, { action: 's3:GetBucketVersioning', resource: bucket }, async () => (await clients.s3()).send(new GetBucketVersioningCommand({ Bucket: bucket })));
    expect(problem.kind).toBe('unsupported');
    clients.destroy();
  });
});

describe('other failures and hygiene', () => {
  it('other 4xx errors are invalid requests that keep the AWS code and message', () => {
    const problem = describeAwsError(Object.assign(new Error('1 validation error detected: Value at memorySize'), { name: 'ValidationException', $metadata: { httpStatusCode: 400 } }), {
      action: 'lambda:UpdateFunctionConfiguration',
      resource: 'fn',
    });
    expect(problem).toMatchObject({ kind: 'invalid-request', code: 'ValidationException', retryable: false });
    expect(problem.message).toContain('1 validation error detected');
  });

  it('never includes credentials in messages', () => {
    const leaky = Object.assign(
      new Error(
        "The request signature we calculated does not match. Credential=AKIAIOSFODNN7EXAMPLE/20260101/us-east-1/s3/aws4_request, Signature=0123abcd aws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY X-Amz-Security-Token=FwoGZXIvYXdzEJr",
      ),
      { name: 'SignatureDoesNotMatch', $metadata: { httpStatusCode: 403 } },
    );
    const problem = describeAwsError(leaky, { action: 's3:PutObject', resource: 'arn:aws:s3:::b/k' });
    const text = JSON.stringify(problem);
    expect(problem.kind).toBe('credentials');
    for (const secret of ['AKIAIOSFODNN7EXAMPLE', 'wJalrXUtnFEMI', '0123abcd', 'FwoGZXIvYXdzEJr']) expect(text).not.toContain(secret);
    expect(redactCredentials('key ASIAABCDEFGHIJKLMNOP here')).toBe('key [REDACTED-KEY-ID] here');
  });

  it('unknown errors and non-errors still produce a problem', () => {
    expect(describeAwsError('boom', { action: 'x:Y' })).toMatchObject({ kind: 'unknown', code: 'UnknownError', message: 'x:Y on the resource failed. AWS said: boom' });
    expect(describeAwsError(undefined, { action: 'x:Y' }).kind).toBe('unknown');
  });

  it('AwsError carries the problem and the cause', () => {
    const cause = new Error('inner');
    const problem = describeAwsError(Object.assign(new Error('denied'), { name: 'AccessDenied', $metadata: { httpStatusCode: 403 } }), { action: 's3:GetObject', resource: 'arn:aws:s3:::b/k' });
    const err = new AwsError(problem, cause);
    expect(err).toBeInstanceOf(Error);
    expect(err.name).toBe('AwsError');
    expect(err.problem).toBe(problem);
    expect(err.cause).toBe(cause);
    expect(err.message).toBe(`${problem.message} Next step: add s3:GetObject on arn:aws:s3:::b/k to the deploy role's policy.`);
  });
});
