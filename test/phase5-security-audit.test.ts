/**
 * security-audit against moto through an MCP client: every rule with a violating and a clean
 * resource, secrets never echoed, unreadable resources reported, and the phase 5 criterion.
 */
import { CreateFunctionUrlConfigCommand } from '@aws-sdk/client-lambda';
import { PutBucketPolicyCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BASE_CONFIG, readEvents, type Harness } from './helpers/mcp.js';
import {
  createBucket,
  createFunction,
  createLogGroup,
  createRole,
  createSecurityGroup,
  fixtureClients,
  motoEndpoint,
  uniqueName,
} from './helpers/aws-fixtures.js';
import { startFaultProxy, type FaultProxy } from './helpers/fault-proxy.js';
import { criteria, taskInPhase } from './helpers/phase-fixtures.js';

const ACCOUNT = '123456789012';
const SECRET_VALUE = 'hunter2-Very-Secret-Passphrase-9f8e7d';
const FAKE_KEY_ID = 'AKIAZZZZZZZZZZZZZZZZ';

type Finding = { severity: string; resource: string; rule: string; message: string; remedy: string };
const on = (findings: Finding[], resource: string) => findings.filter((f) => f.resource === resource || f.resource.startsWith(`${resource} (`));
const rulesOn = (findings: Finding[], resource: string) => [...new Set(on(findings, resource).map((f) => f.rule))].sort();

describe('security-audit', () => {
  const n = uniqueName('aud').slice(-8);
  const names = {
    wildActionRole: `wild-action-${n}`,
    wildResourceRole: `wild-resource-${n}`,
    adminRole: `admin-${n}`,
    openTrustRole: `open-trust-${n}`,
    cleanRole: `clean-role-${n}`,
    badBucket: `bad-bucket-${n}`,
    partialBucket: `partial-bucket-${n}`,
    cleanBucket: `clean-bucket-${n}`,
    badLogs: `/app/bad-${n}`,
    cleanLogs: `/app/clean-${n}`,
    badSg: `bad-sg-${n}`,
    cleanSg: `clean-sg-${n}`,
    badFn: `bad-fn-${n}`,
    cleanFn: `clean-fn-${n}`,
    missingBucket: `missing-bucket-${n}`,
  };
  let task: { h: Harness; taskId: number };
  let findings: Finding[];
  let output: any;

  beforeAll(async () => {
    const fx = fixtureClients();
    await createRole(names.wildActionRole, 'lambda.amazonaws.com', {
      inlinePolicies: { everything: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] } },
    });
    await createRole(names.wildResourceRole, 'lambda.amazonaws.com', {
      inlinePolicies: { reads: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: ['s3:GetObject'], Resource: '*' }] } },
    });
    await createRole(names.adminRole, 'lambda.amazonaws.com', { managedPolicyArns: ['arn:aws:iam::aws:policy/AdministratorAccess'] });
    await createRole(names.openTrustRole, 'lambda.amazonaws.com', {
      trustPolicy: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: '*' }, Action: 'sts:AssumeRole' }] },
    });
    const cleanRoleArn = await createRole(names.cleanRole, 'lambda.amazonaws.com', {
      managedPolicyArns: ['arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole'],
      inlinePolicies: {
        orders: {
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Action: ['s3:GetObject', 's3:PutObject'], Resource: `arn:aws:s3:::${names.cleanBucket}/*` }],
        },
      },
    });

    await createBucket({ name: names.badBucket });
    await fx.s3.send(
      new PutBucketPolicyCommand({
        Bucket: names.badBucket,
        Policy: JSON.stringify({ Version: '2012-10-17', Statement: [{ Sid: 'PublicRead', Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: `arn:aws:s3:::${names.badBucket}/*` }] }),
      }),
    );
    await createBucket({ name: names.partialBucket, encryption: 'AES256', publicAccessBlock: { blockPublicAcls: true, ignorePublicAcls: true } });
    await createBucket({ name: names.cleanBucket, encryption: 'AES256', publicAccessBlock: true });
    await fx.s3.send(
      new PutBucketPolicyCommand({
        Bucket: names.cleanBucket,
        Policy: JSON.stringify({
          Version: '2012-10-17',
          Statement: [
            {
              Sid: 'TlsOnly',
              Effect: 'Deny',
              Principal: '*',
              Action: 's3:*',
              Resource: [`arn:aws:s3:::${names.cleanBucket}`, `arn:aws:s3:::${names.cleanBucket}/*`],
              Condition: { Bool: { 'aws:SecureTransport': 'false' } },
            },
            { Sid: 'App', Effect: 'Allow', Principal: { AWS: cleanRoleArn }, Action: 's3:GetObject', Resource: `arn:aws:s3:::${names.cleanBucket}/*` },
          ],
        }),
      }),
    );
    // The partial bucket denies plain HTTP too, so only its public access block is at fault.
    await fx.s3.send(
      new PutBucketPolicyCommand({
        Bucket: names.partialBucket,
        Policy: JSON.stringify({
          Version: '2012-10-17',
          Statement: [{ Effect: 'Deny', Principal: { AWS: '*' }, Action: '*', Resource: `arn:aws:s3:::${names.partialBucket}/*`, Condition: { Bool: { 'aws:SecureTransport': false } } }],
        }),
      }),
    );

    await createLogGroup({ name: names.badLogs });
    await createLogGroup({ name: names.cleanLogs, retentionInDays: 30, kmsKeyId: `arn:aws:kms:us-east-1:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab` });
    await createLogGroup({ name: `/aws/lambda/${names.cleanFn}`, retentionInDays: 14, kmsKeyId: `arn:aws:kms:us-east-1:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab` });

    await createSecurityGroup({ name: names.badSg, ingress: [{ fromPort: 22 }, { fromPort: 5432, ipv6: ['::/0'] }, { fromPort: 443 }] });
    await createSecurityGroup({ name: names.cleanSg, ingress: [{ fromPort: 443 }, { fromPort: 80 }, { fromPort: 22, cidrs: ['10.0.0.0/8'] }] });

    await createFunction({ name: names.badFn, roleArn: cleanRoleArn, environment: { DB_PASSWORD: SECRET_VALUE, UPSTREAM_KEY: FAKE_KEY_ID, LOG_LEVEL: 'info' } });
    await fx.lambda.send(new CreateFunctionUrlConfigCommand({ FunctionName: names.badFn, AuthType: 'NONE' }));
    await createFunction({
      name: names.cleanFn,
      roleArn: cleanRoleArn,
      environment: { LOG_LEVEL: 'info', DB_PASSWORD_SECRET_ARN: `arn:aws:secretsmanager:us-east-1:${ACCOUNT}:secret:db-AbCdEf`, API_TOKEN: '' },
    });
    await fx.lambda.send(new CreateFunctionUrlConfigCommand({ FunctionName: names.cleanFn, AuthType: 'AWS_IAM' }));

    const config = {
      ...BASE_CONFIG,
      resources: [
        { type: 'iam-role', name: names.wildActionRole },
        { type: 'iam-role', name: names.wildResourceRole },
        { type: 'iam-role', name: names.adminRole },
        { type: 'iam-role', name: names.openTrustRole },
        { type: 's3-bucket', name: names.badBucket },
        { type: 's3-bucket', name: names.partialBucket },
        { type: 's3-bucket', name: names.cleanBucket },
        { type: 's3-bucket', name: names.missingBucket },
        { type: 's3-bucket', name: `absent-on-purpose-${n}`, expect: { exists: false } },
        { type: 'log-group', name: names.badLogs },
        { type: 'log-group', name: names.cleanLogs },
        { type: 'security-group', name: names.badSg },
        { type: 'security-group', name: names.cleanSg },
      ],
    };
    task = await taskInPhase(5, { config, deployed: [{ function: names.badFn }, { function: names.cleanFn }] });
    const progress: string[] = [];
    const r = (await task.h.client.callTool({ name: 'security-audit', arguments: {} }, undefined, { onprogress: (p) => progress.push(p.message ?? '') })) as any;
    expect(r.isError, JSON.stringify(r.content)).toBeFalsy();
    expect(progress.length).toBeGreaterThanOrEqual(10);
    output = r.structuredContent;
    findings = output.findings;
  });
  afterAll(async () => task?.h.close());

  it('flags IAM roles with "*" actions, "*" resources, admin policies and open trust; passes a scoped role', () => {
    expect(on(findings, `iam-role ${names.wildActionRole}`)).toEqual([
      expect.objectContaining({ severity: 'high', rule: 'iam-wildcard-action', message: expect.stringContaining('("Action": "*")') }),
    ]);
    expect(on(findings, `iam-role ${names.wildResourceRole}`)).toEqual([
      expect.objectContaining({ severity: 'medium', rule: 'iam-wildcard-resource', message: expect.stringContaining('s3:GetObject on every resource') }),
    ]);
    // One finding for the admin policy, not a second one for the "*" inside it.
    expect(on(findings, `iam-role ${names.adminRole}`)).toEqual([
      expect.objectContaining({ severity: 'high', rule: 'iam-admin-policy', message: expect.stringContaining('AdministratorAccess') }),
    ]);
    expect(rulesOn(findings, `iam-role ${names.openTrustRole}`)).toEqual(['iam-trust-open']);
    // The execution role of both functions: AWS managed Resource "*" is by design, the inline policy is scoped.
    expect(on(findings, `iam-role ${names.cleanRole}`)).toEqual([]);
    expect(output.audited).toContainEqual({ type: 'iam-role', name: names.cleanRole, origin: `used by ${names.badFn}` });
  });

  it('flags S3 buckets without encryption, without a full public access block, with a public policy or no TLS-only deny; passes a locked-down bucket', () => {
    expect(rulesOn(findings, `s3-bucket ${names.badBucket}`)).toEqual(['s3-encryption', 's3-public-access-block', 's3-public-policy', 's3-tls-only']);
    const pub = on(findings, `s3-bucket ${names.badBucket}`).find((f) => f.rule === 's3-public-policy')!;
    expect(pub).toMatchObject({ severity: 'high', message: expect.stringContaining('"PublicRead"') });
    expect(on(findings, `s3-bucket ${names.badBucket}`).find((f) => f.rule === 's3-public-access-block')!.message).toContain('no public access block configuration');
    expect(on(findings, `s3-bucket ${names.partialBucket}`)).toEqual([
      expect.objectContaining({ rule: 's3-public-access-block', severity: 'high', message: expect.stringContaining('off: blockPublicPolicy, restrictPublicBuckets') }),
    ]);
    expect(on(findings, `s3-bucket ${names.cleanBucket}`)).toEqual([]);
  });

  it('flags secret-looking Lambda environment variables without ever showing the value, and auth NONE function URLs', async () => {
    const fn = on(findings, `lambda-function ${names.badFn}`);
    expect(fn.filter((f) => f.rule === 'lambda-env-secret').map((f) => f.message.match(/variable (\w+)/)![1]).sort()).toEqual(['DB_PASSWORD', 'UPSTREAM_KEY']);
    expect(fn.find((f) => f.rule === 'lambda-url-public')).toMatchObject({ severity: 'high', message: expect.stringContaining('auth type NONE') });
    expect(on(findings, `lambda-function ${names.cleanFn}`)).toEqual([]);
    const everything = JSON.stringify(output) + JSON.stringify(readEvents(task.h.root, task.taskId)) + (await task.h.srv.deployments!.renderJournal(task.taskId));
    expect(everything).not.toContain(SECRET_VALUE);
    expect(everything).not.toContain(FAKE_KEY_ID);
  });

  it('flags log groups without retention or KMS (and a function log group that does not exist yet); passes a retained, encrypted one', () => {
    expect(on(findings, `log-group ${names.badLogs}`).map((f) => [f.rule, f.severity])).toEqual([
      ['logs-retention', 'medium'],
      ['logs-kms', 'low'],
    ]);
    expect(on(findings, `log-group ${names.cleanLogs}`)).toEqual([]);
    expect(on(findings, `log-group /aws/lambda/${names.cleanFn}`)).toEqual([]);
    expect(on(findings, `log-group /aws/lambda/${names.badFn}`)).toEqual([
      expect.objectContaining({ rule: 'logs-retention', severity: 'low', message: expect.stringContaining('does not exist yet') }),
    ]);
  });

  it('flags security groups open to the world on ports other than 80/443 (IPv4 and IPv6); passes web-only ingress', () => {
    const sg = on(findings, `security-group ${names.badSg}`);
    expect(sg.map((f) => [f.rule, f.severity])).toEqual([
      ['sg-world-open', 'high'],
      ['sg-world-open', 'high'],
    ]);
    expect(sg.map((f) => f.message.replace(/^.*\): /, ''))).toEqual(['tcp port 22 is open to 0.0.0.0/0.', 'tcp port 5432 is open to ::/0.']);
    expect(sg.some((f) => f.message.includes('port 443'))).toBe(false);
    expect(on(findings, `security-group ${names.cleanSg}`)).toEqual([]);
  });

  it('reports a configured resource that does not exist, skips one expected absent, and gives every finding a remedy', () => {
    expect(on(findings, `s3-bucket ${names.missingBucket}`)).toEqual([expect.objectContaining({ rule: 'resource-missing', severity: 'medium' })]);
    expect(findings.some((f) => f.resource.includes('absent-on-purpose'))).toBe(false);
    for (const f of findings) expect(f.remedy.length, f.rule).toBeGreaterThan(10);
    expect(output.highCount).toBe(findings.filter((f) => f.severity === 'high').length);
    expect(output.highCount).toBeGreaterThan(0);
  });

  it('leaves the phase 5 criterion unmet while high findings exist, and meets it with a clean run', async () => {
    expect((await criteria(task.h, task.taskId))['security-clean']).toBe(false);
    const clean = await taskInPhase(5, {
      config: { ...BASE_CONFIG, resources: [{ type: 's3-bucket', name: names.cleanBucket }, { type: 'log-group', name: names.cleanLogs }, { type: 'security-group', name: names.cleanSg }] },
      component: 'orders-clean',
      deployed: [{ function: names.cleanFn }],
    });
    try {
      const r = await clean.h.call('security-audit');
      expect(r.structuredContent).toMatchObject({ highCount: 0, mediumCount: 0, lowCount: 0 });
      expect(r.structuredContent.audited.map((a: any) => a.type).sort()).toEqual(['iam-role', 'lambda-function', 'log-group', 'log-group', 's3-bucket', 'security-group']);
      expect((await criteria(clean.h, clean.taskId))['security-clean']).toBe(true);
    } finally {
      await clean.h.close();
    }
  });
});

describe('security-audit when AWS refuses a read', () => {
  let proxy: FaultProxy;
  beforeAll(async () => {
    proxy = await startFaultProxy(motoEndpoint(), [{ match: (req) => req.service === 's3' && req.query.has('policy'), fault: { kind: 'access-denied' } }]);
  });
  afterAll(async () => proxy?.close());

  it('reports the resource as a high audit-incomplete finding that names the IAM action, instead of passing it', async () => {
    const bucket = uniqueName('denied-bucket');
    await createBucket({ name: bucket, encryption: 'AES256', publicAccessBlock: true });
    const { h } = await taskInPhase(5, { config: { ...BASE_CONFIG, resources: [{ type: 's3-bucket', name: bucket }] }, harness: { awsEndpoint: proxy.url, awsMaxAttempts: 1 } });
    try {
      const r = await h.call('security-audit');
      expect(r.structuredContent.findings).toEqual([
        expect.objectContaining({ severity: 'high', rule: 'audit-incomplete', resource: `s3-bucket ${bucket}`, remedy: expect.stringContaining('s3:GetBucketPolicy') }),
      ]);
      expect(r.structuredContent.highCount).toBe(1);
    } finally {
      await h.close();
    }
  });

  it('refuses to run with nothing to audit', async () => {
    const { h } = await taskInPhase(5);
    try {
      const r = await h.call('security-audit');
      expect(r.structuredContent).toMatchObject({ error: 'nothing-to-audit' });
    } finally {
      await h.close();
    }
  });
});
