import { describe, expect, it } from 'vitest';
import {
  assembleResult,
  compareExpectations,
  EXPECTATION_KEYS,
  kmsKeyMatches,
  MAX_EXPANDED_PORT_RANGE,
  normalisePorts,
  roleMatches,
  unknownExpectationKeys,
} from '../../src/aws/verify/compare.js';
import { parseAliasName } from '../../src/aws/verify/lambda-alias.js';
import { analyseTrustPolicy, findWildcardGrants, parsePolicyDocument } from '../../src/aws/verify/policy-analysis.js';
import { bucketRegionFromLocation } from '../../src/aws/verify/s3-bucket.js';
import { analyseIngress } from '../../src/aws/verify/security-group.js';
import type { Inspection, ResourceType } from '../../src/aws/verify/types.js';

interface Case {
  type: ResourceType;
  field: string;
  actual: unknown;
  matching: unknown[];
  mismatching: unknown[];
}

const KMS_ARN = 'arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const ROLE_ARN = 'arn:aws:iam::123456789012:role/service-role/deploy-fn-role';

// Every key of SPEC §5a, each with values that must match and values that must not.
const CASES: Case[] = [
  { type: 's3-bucket', field: 'region', actual: 'eu-west-1', matching: ['eu-west-1'], mismatching: ['us-east-1', '', null, 1] },
  { type: 's3-bucket', field: 'versioning', actual: 'Enabled', matching: ['Enabled'], mismatching: ['Suspended', 'Disabled', 'enabled', true] },
  { type: 's3-bucket', field: 'versioning', actual: 'Disabled', matching: ['Disabled'], mismatching: ['Enabled'] },
  { type: 's3-bucket', field: 'encryption', actual: 'aws:kms', matching: ['aws:kms'], mismatching: ['AES256', 'aws:kms:dsse', 'none'] },
  { type: 's3-bucket', field: 'encryption', actual: 'none', matching: ['none'], mismatching: ['AES256'] },
  { type: 's3-bucket', field: 'kmsKeyId', actual: KMS_ARN, matching: [KMS_ARN, '1234abcd-12ab-34cd-56ef-1234567890ab'], mismatching: ['other-key', null, 'none', 42] },
  { type: 's3-bucket', field: 'kmsKeyId', actual: null, matching: [null, 'none'], mismatching: [KMS_ARN] },
  { type: 's3-bucket', field: 'publicAccessBlock', actual: true, matching: [true], mismatching: [false, 'true', 1] },
  { type: 's3-bucket', field: 'publicAccessBlock', actual: false, matching: [false], mismatching: [true] },
  { type: 's3-bucket', field: 'lifecycleRules', actual: 2, matching: [0, 1, 2, '2'], mismatching: [3, 10, 'two', null] },
  { type: 's3-bucket', field: 'replication', actual: false, matching: [false], mismatching: [true, 'false'] },
  { type: 's3-bucket', field: 'tags', actual: { team: 'a', env: 'prod' }, matching: [{}, { team: 'a' }, { team: 'a', env: 'prod' }], mismatching: [{ team: 'b' }, { owner: 'x' }, ['team'], 'team'] },

  { type: 'lambda-function', field: 'state', actual: 'Active', matching: ['Active'], mismatching: ['Pending', 'Failed'] },
  { type: 'lambda-function', field: 'lastUpdateStatus', actual: 'Successful', matching: ['Successful'], mismatching: ['InProgress', 'Failed'] },
  { type: 'lambda-function', field: 'runtime', actual: 'nodejs20.x', matching: ['nodejs20.x'], mismatching: ['nodejs18.x', 'python3.12'] },
  { type: 'lambda-function', field: 'handler', actual: 'index.handler', matching: ['index.handler'], mismatching: ['main.handler'] },
  { type: 'lambda-function', field: 'memorySize', actual: 256, matching: [256, '256'], mismatching: [128, 'lots', null] },
  { type: 'lambda-function', field: 'timeout', actual: 30, matching: [30], mismatching: [3, 900] },
  { type: 'lambda-function', field: 'role', actual: ROLE_ARN, matching: [ROLE_ARN, 'deploy-fn-role'], mismatching: ['other-role', 'arn:aws:iam::123456789012:role/deploy-fn-role', 'service-role'] },
  { type: 'lambda-function', field: 'architectures', actual: ['arm64'], matching: [['arm64'], 'arm64'], mismatching: [['x86_64'], ['arm64', 'x86_64'], []] },
  { type: 'lambda-function', field: 'environmentVariables', actual: ['DB_URL', 'STAGE'], matching: [[], ['STAGE'], ['DB_URL', 'STAGE'], { STAGE: 'ignored-value' }], mismatching: [['API_KEY'], ['STAGE', 'API_KEY']] },
  { type: 'lambda-function', field: 'tags', actual: { app: 'x' }, matching: [{ app: 'x' }], mismatching: [{ app: 'y' }, { app: 'x', env: 'p' }] },
  { type: 'lambda-function', field: 'vpcSubnetIds', actual: ['subnet-a', 'subnet-b'], matching: [['subnet-b', 'subnet-a']], mismatching: [['subnet-a'], ['subnet-a', 'subnet-b', 'subnet-c'], []] },
  { type: 'lambda-function', field: 'vpcSubnetIds', actual: [], matching: [[]], mismatching: [['subnet-a']] },
  { type: 'lambda-function', field: 'vpcSecurityGroupIds', actual: ['sg-1'], matching: [['sg-1'], 'sg-1'], mismatching: [['sg-2'], []] },

  { type: 'lambda-alias', field: 'functionVersion', actual: '3', matching: ['3', 3], mismatching: ['2', '$LATEST'] },
  { type: 'lambda-alias', field: 'routingWeights', actual: { '4': 0.1 }, matching: [{ '4': 0.1 }, { 4: 0.1 }], mismatching: [{}, { '4': 0.2 }, { '5': 0.1 }, { '4': 0.1, '5': 0.1 }] },
  { type: 'lambda-alias', field: 'routingWeights', actual: {}, matching: [{}], mismatching: [{ '2': 0.5 }] },

  { type: 'log-group', field: 'retentionInDays', actual: 14, matching: [14], mismatching: [7, null] },
  { type: 'log-group', field: 'retentionInDays', actual: null, matching: [null], mismatching: [14, 0] },
  { type: 'log-group', field: 'kmsKeyId', actual: KMS_ARN, matching: [KMS_ARN, '1234abcd-12ab-34cd-56ef-1234567890ab'], mismatching: [null, 'abcd'] },

  { type: 'iam-role', field: 'trustedService', actual: ['lambda.amazonaws.com'], matching: ['lambda.amazonaws.com', ['lambda.amazonaws.com']], mismatching: ['ecs-tasks.amazonaws.com', [], ['lambda.amazonaws.com', 'ec2.amazonaws.com']] },
  {
    type: 'iam-role',
    field: 'attachedPolicies',
    actual: [
      { name: 'AWSLambdaBasicExecutionRole', arn: 'arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole' },
      { name: 'app-policy', arn: 'arn:aws:iam::123456789012:policy/app-policy' },
    ],
    matching: [[], ['AWSLambdaBasicExecutionRole'], ['arn:aws:iam::123456789012:policy/app-policy', 'AWSLambdaBasicExecutionRole'], 'app-policy'],
    mismatching: [['AdministratorAccess'], ['app-policy', 'missing'], 'arn:aws:iam::aws:policy/app-policy'],
  },
  { type: 'iam-role', field: 'noWildcards', actual: true, matching: [true], mismatching: [false] },
  { type: 'iam-role', field: 'noWildcards', actual: false, matching: [false], mismatching: [true] },
  { type: 'iam-role', field: 'inlinePolicies', actual: ['logs'], matching: [['logs']], mismatching: [['s3']] },
  { type: 'iam-role', field: 'tags', actual: { team: 'a' }, matching: [{ team: 'a' }], mismatching: [{ team: 'b' }] },

  { type: 'cloudwatch-alarm', field: 'namespace', actual: 'AWS/Lambda', matching: ['AWS/Lambda'], mismatching: ['AWS/EC2'] },
  { type: 'cloudwatch-alarm', field: 'metricName', actual: 'Errors', matching: ['Errors'], mismatching: ['Throttles'] },
  { type: 'cloudwatch-alarm', field: 'statistic', actual: 'Sum', matching: ['Sum'], mismatching: ['Average', 'p95'] },
  { type: 'cloudwatch-alarm', field: 'threshold', actual: 1, matching: [1, 1.0, '1'], mismatching: [0, 2, null] },
  { type: 'cloudwatch-alarm', field: 'comparisonOperator', actual: 'GreaterThanOrEqualToThreshold', matching: ['GreaterThanOrEqualToThreshold'], mismatching: ['GreaterThanThreshold'] },
  { type: 'cloudwatch-alarm', field: 'alarmActions', actual: ['arn:aws:sns:us-east-1:123456789012:ops', 'arn:aws:sns:us-east-1:123456789012:dev'], matching: [[], ['arn:aws:sns:us-east-1:123456789012:ops']], mismatching: [['arn:aws:sns:us-east-1:123456789012:other']] },
  { type: 'cloudwatch-alarm', field: 'state', actual: 'OK', matching: ['OK'], mismatching: ['ALARM', 'INSUFFICIENT_DATA'] },

  { type: 'security-group', field: 'vpcId', actual: 'vpc-123', matching: ['vpc-123'], mismatching: ['vpc-456'] },
  { type: 'security-group', field: 'worldOpenPorts', actual: [443, 8000, 8001, 8002], matching: [[443, 8000, 8001, 8002], [8002, 443, '8000-8001'], ['443', '8000-8002']], mismatching: [[443], [], [443, 8000, 8001, 8002, 22], ['all'], 'not-a-list', ['x']] },
  { type: 'security-group', field: 'worldOpenPorts', actual: [], matching: [[]], mismatching: [[22]] },
  { type: 'security-group', field: 'worldOpenPorts', actual: ['all'], matching: [['all'], [-1]], mismatching: [[]] },
];

describe('compareExpectations: every SPEC §5a key', () => {
  for (const c of CASES) {
    for (const value of c.matching) {
      it(`${c.type}.${c.field}: ${JSON.stringify(value)} matches ${JSON.stringify(c.actual)}`, () => {
        expect(compareExpectations(c.type, { [c.field]: value }, { [c.field]: c.actual })).toEqual([]);
      });
    }
    for (const value of c.mismatching) {
      it(`${c.type}.${c.field}: ${JSON.stringify(value)} does not match ${JSON.stringify(c.actual)}`, () => {
        expect(compareExpectations(c.type, { [c.field]: value }, { [c.field]: c.actual })).toEqual([{ field: c.field, expected: value, actual: c.actual }]);
      });
    }
  }

  it('covers every key the types declare', () => {
    for (const [type, keys] of Object.entries(EXPECTATION_KEYS)) {
      for (const key of keys) expect(CASES.some((c) => c.type === type && c.field === key), `${type}.${key}`).toBe(true);
    }
  });

  it('declares exactly the SPEC §5a keys (plus the documented role extras)', () => {
    expect(EXPECTATION_KEYS).toEqual({
      's3-bucket': ['region', 'versioning', 'encryption', 'kmsKeyId', 'publicAccessBlock', 'lifecycleRules', 'replication', 'tags'],
      'lambda-function': ['state', 'lastUpdateStatus', 'runtime', 'handler', 'memorySize', 'timeout', 'role', 'architectures', 'environmentVariables', 'tags', 'vpcSubnetIds', 'vpcSecurityGroupIds'],
      'lambda-alias': ['functionVersion', 'routingWeights'],
      'log-group': ['retentionInDays', 'kmsKeyId'],
      'iam-role': ['trustedService', 'attachedPolicies', 'noWildcards', 'inlinePolicies', 'tags'],
      'cloudwatch-alarm': ['namespace', 'metricName', 'statistic', 'threshold', 'comparisonOperator', 'alarmActions', 'state'],
      'security-group': ['vpcId', 'worldOpenPorts'],
    });
  });

  it('reports several discrepancies at once and a missing actual value as null', () => {
    const d = compareExpectations('lambda-function', { runtime: 'nodejs20.x', memorySize: 512, handler: 'index.handler' }, { runtime: 'python3.12', memorySize: 128, handler: 'index.handler' });
    expect(d).toEqual([
      { field: 'runtime', expected: 'nodejs20.x', actual: 'python3.12' },
      { field: 'memorySize', expected: 512, actual: 128 },
    ]);
    expect(compareExpectations('s3-bucket', { region: 'us-east-1' }, {})).toEqual([{ field: 'region', expected: 'us-east-1', actual: null }]);
  });

  it('ignores exists, unknown keys and undefined expectations', () => {
    expect(compareExpectations('s3-bucket', { exists: true, regoin: 'x', region: undefined }, { region: 'us-east-1' })).toEqual([]);
    expect(unknownExpectationKeys('s3-bucket', { exists: true, regoin: 'x', region: 'y' })).toEqual(['regoin']);
    expect(unknownExpectationKeys('security-group', { worldOpenPorts: [], vpcId: 'v' })).toEqual([]);
  });
});

describe('assembleResult', () => {
  const present = (actual: Record<string, unknown>, extra: Partial<Inspection> = {}): Inspection => ({ existence: 'present', actual, problems: [], flags: [], ...extra });
  const absent: Inspection = { existence: 'absent', actual: {}, problems: [], flags: [] };

  it('verifies a present resource whose expectations match', () => {
    const r = assembleResult('log-group', '/a', { retentionInDays: 7 }, present({ retentionInDays: 7, kmsKeyId: null }));
    expect(r).toMatchObject({ type: 'log-group', name: '/a', exists: true, existence: 'present', discrepancies: [], problems: [], verified: true });
  });

  it('a missing resource is one exists discrepancy, whatever else was expected', () => {
    const r = assembleResult('log-group', '/a', { retentionInDays: 7, kmsKeyId: 'k' }, absent);
    expect(r.exists).toBe(false);
    expect(r.discrepancies).toEqual([{ field: 'exists', expected: true, actual: false }]);
    expect(r.verified).toBe(false);
  });

  it('exists:false verifies an absent resource and fails a present one', () => {
    expect(assembleResult('iam-role', 'r', { exists: false }, absent)).toMatchObject({ exists: false, discrepancies: [], verified: true });
    const r = assembleResult('iam-role', 'r', { exists: false }, present({ trustedService: [] }));
    expect(r).toMatchObject({ exists: true, verified: false, discrepancies: [{ field: 'exists', expected: false, actual: true }] });
  });

  it('exists:true explicitly behaves like the default', () => {
    expect(assembleResult('iam-role', 'r', { exists: true }, present({}))).toMatchObject({ verified: true });
    expect(assembleResult('iam-role', 'r', { exists: true }, absent)).toMatchObject({ verified: false });
  });

  it('a non-boolean exists is a problem', () => {
    const r = assembleResult('iam-role', 'r', { exists: 'yes' }, present({}));
    expect(r.problems.map((p) => p.code)).toEqual(['InvalidExpectation']);
    expect(r.verified).toBe(false);
  });

  it('an unreadable property is a problem, not a discrepancy, and blocks verified', () => {
    const r = assembleResult(
      's3-bucket',
      'b',
      { versioning: 'Enabled', region: 'us-east-1' },
      present({ region: 'us-east-1' }, { problems: [{ field: 'versioning', code: 'AccessDenied', message: 'denied' }] }),
    );
    expect(r.discrepancies).toEqual([]);
    expect(r.problems).toHaveLength(1);
    expect(r.verified).toBe(false);
  });

  it('unknown expectation keys are problems', () => {
    const r = assembleResult('lambda-function', 'f', { memory: 128 }, present({ memorySize: 128 }));
    expect(r.problems).toEqual([expect.objectContaining({ field: 'memory', code: 'UnknownExpectationKey' })]);
    expect(r.verified).toBe(false);
  });

  it('unknown existence is never verified and reports no discrepancy', () => {
    const r = assembleResult('log-group', '/a', {}, { existence: 'unknown', actual: {}, problems: [{ field: 'exists', code: 'AccessDenied', message: 'x' }], flags: [] });
    expect(r).toMatchObject({ exists: false, existence: 'unknown', discrepancies: [], verified: false });
  });

  it('flags do not affect verified', () => {
    const r = assembleResult('security-group', 'g', {}, present({ worldOpenPorts: [22] }, { flags: [{ field: 'worldOpenPorts', severity: 'high', message: 'm' }] }));
    expect(r.verified).toBe(true);
    expect(r.flags).toHaveLength(1);
  });
});

describe('normalisePorts', () => {
  it('sorts, dedupes, expands small ranges and keeps wide ones', () => {
    expect(normalisePorts([443, '22', '8000-8002', 80, 443])).toEqual([22, 80, 443, 8000, 8001, 8002]);
    expect(normalisePorts(['all', 22, '0-65535', '1000-2000'])).toEqual([22, '0-65535', '1000-2000', 'all']);
    expect(normalisePorts([`1-${MAX_EXPANDED_PORT_RANGE}`])).toHaveLength(MAX_EXPANDED_PORT_RANGE);
    expect(normalisePorts([`1-${MAX_EXPANDED_PORT_RANGE + 1}`])).toEqual([`1-${MAX_EXPANDED_PORT_RANGE + 1}`]);
  });

  it('rejects what is not a port', () => {
    expect(normalisePorts(['http'])).toBeUndefined();
    expect(normalisePorts([70000])).toBeUndefined();
    expect(normalisePorts(['10-5'])).toBeUndefined();
    expect(normalisePorts([{}])).toBeUndefined();
  });
});

describe('analyseIngress', () => {
  it('lists world-open ports from IPv4 and IPv6 rules and flags each rule', () => {
    const r = analyseIngress([
      { IpProtocol: 'tcp', FromPort: 443, ToPort: 443, IpRanges: [{ CidrIp: '0.0.0.0/0' }] },
      { IpProtocol: 'tcp', FromPort: 80, ToPort: 80, Ipv6Ranges: [{ CidrIpv6: '::/0' }] },
      { IpProtocol: 'tcp', FromPort: 22, ToPort: 22, IpRanges: [{ CidrIp: '10.0.0.0/8' }] },
      { IpProtocol: 'udp', FromPort: 5000, ToPort: 5002, IpRanges: [{ CidrIp: '0.0.0.0/0' }] },
    ]);
    expect(r.worldOpenPorts).toEqual([80, 443, 5000, 5001, 5002]);
    expect(r.flags.map((f) => f.severity)).toEqual(['low', 'low', 'high']);
    expect(r.flags[2]!.message).toContain('udp ports 5000-5002');
  });

  it('protocol -1 is all ports, high', () => {
    const r = analyseIngress([{ IpProtocol: '-1', IpRanges: [{ CidrIp: '0.0.0.0/0' }] }]);
    expect(r.worldOpenPorts).toEqual(['all']);
    expect(r.flags).toEqual([expect.objectContaining({ severity: 'high' })]);
  });

  it('a full TCP range is kept as a range; ICMP is flagged low but opens no port', () => {
    const r = analyseIngress([
      { IpProtocol: 'tcp', FromPort: 0, ToPort: 65535, IpRanges: [{ CidrIp: '0.0.0.0/0' }] },
      { IpProtocol: 'icmp', FromPort: -1, ToPort: -1, IpRanges: [{ CidrIp: '0.0.0.0/0' }] },
    ]);
    expect(r.worldOpenPorts).toEqual(['0-65535']);
    expect(r.flags.map((f) => f.severity)).toEqual(['high', 'low']);
  });

  it('no world-open rule, no port and no flag', () => {
    expect(analyseIngress([{ IpProtocol: '-1', IpRanges: [{ CidrIp: '192.168.0.0/16' }] }])).toEqual({ worldOpenPorts: [], flags: [] });
  });
});

describe('policy analysis', () => {
  const doc = (...statements: object[]) => JSON.stringify({ Version: '2012-10-17', Statement: statements });

  it('parses URL-encoded and plain documents and single statements', () => {
    const plain = { Version: '2012-10-17', Statement: { Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::b/*' } };
    expect(parsePolicyDocument(encodeURIComponent(JSON.stringify(plain))).Statement).toHaveLength(1);
    expect(parsePolicyDocument(JSON.stringify(plain)).Statement[0]!.Action).toBe('s3:GetObject');
  });

  it('flags Action *, service:* and Resource * on Allow only', () => {
    const src = { name: 'p', kind: 'inline' as const };
    expect(findWildcardGrants(doc({ Effect: 'Allow', Action: '*', Resource: '*' }), src)).toEqual([expect.objectContaining({ field: 'noWildcards', severity: 'high' })]);
    expect(findWildcardGrants(doc({ Effect: 'Allow', Action: ['s3:*'], Resource: '*' }), src).map((f) => f.severity)).toEqual(['high']);
    expect(findWildcardGrants(doc({ Effect: 'Allow', Action: 's3:*', Resource: 'arn:aws:s3:::b' }), src).map((f) => f.severity)).toEqual(['medium']);
    expect(findWildcardGrants(doc({ Effect: 'Allow', Action: 's3:GetObject', Resource: '*' }), src).map((f) => f.severity)).toEqual(['low']);
    expect(findWildcardGrants(doc({ Effect: 'Allow', NotAction: 'iam:*', Resource: '*' }), src).map((f) => f.severity)).toEqual(['high']);
    expect(findWildcardGrants(doc({ Effect: 'Deny', Action: '*', Resource: '*' }), src)).toEqual([]);
    expect(findWildcardGrants(doc({ Effect: 'Allow', Action: ['s3:Get*', 'logs:PutLogEvents'], Resource: 'arn:aws:s3:::b/*' }), src)).toEqual([]);
  });

  it('AWS managed policies count only their action wildcards', () => {
    const src = { name: 'AWSLambdaBasicExecutionRole', kind: 'aws-managed' as const };
    expect(findWildcardGrants(doc({ Effect: 'Allow', Action: ['logs:CreateLogGroup', 'logs:PutLogEvents'], Resource: '*' }), src)).toEqual([]);
    expect(findWildcardGrants(doc({ Effect: 'Allow', Action: '*', Resource: '*' }), { name: 'AdministratorAccess', kind: 'aws-managed' })[0]!.message).toContain('AdministratorAccess');
  });

  it('reads trusted services and flags open principals', () => {
    const trust = analyseTrustPolicy(
      encodeURIComponent(doc({ Effect: 'Allow', Principal: { Service: ['lambda.amazonaws.com', 'edgelambda.amazonaws.com'] }, Action: 'sts:AssumeRole' }, { Effect: 'Allow', Principal: { AWS: '*' }, Action: 'sts:AssumeRole' })),
    );
    expect(trust.services).toEqual(['edgelambda.amazonaws.com', 'lambda.amazonaws.com']);
    expect(trust.flags).toEqual([expect.objectContaining({ severity: 'high', field: 'trustedService' })]);
    expect(analyseTrustPolicy(doc({ Effect: 'Allow', Principal: '*', Action: 'sts:AssumeRole' })).flags).toHaveLength(1);
  });
});

describe('small parsers', () => {
  it('kmsKeyMatches and roleMatches', () => {
    expect(kmsKeyMatches('alias/app', 'arn:aws:kms:us-east-1:1:alias/app')).toBe(true);
    expect(kmsKeyMatches('key/abc', 'abc')).toBe(true);
    expect(roleMatches('r', 'arn:aws:iam::1:role/r')).toBe(true);
    expect(roleMatches('r', 'arn:aws:iam::1:role/rr')).toBe(false);
  });

  it('bucketRegionFromLocation', () => {
    expect(bucketRegionFromLocation(undefined)).toBe('us-east-1');
    expect(bucketRegionFromLocation(null)).toBe('us-east-1');
    expect(bucketRegionFromLocation('')).toBe('us-east-1');
    expect(bucketRegionFromLocation('EU')).toBe('eu-west-1');
    expect(bucketRegionFromLocation('ap-south-1')).toBe('ap-south-1');
  });

  it('parseAliasName', () => {
    expect(parseAliasName('fn:live')).toEqual({ functionName: 'fn', alias: 'live' });
    expect(parseAliasName('arn:aws:lambda:us-east-1:1:function:fn:live')).toEqual({ functionName: 'arn:aws:lambda:us-east-1:1:function:fn', alias: 'live' });
    expect(parseAliasName('fn')).toBeUndefined();
    expect(parseAliasName('fn:')).toBeUndefined();
  });
});
