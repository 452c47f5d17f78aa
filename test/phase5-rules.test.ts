/** The pure parts of phase 5: audit rules on edge-case documents, percentiles, cost sums. */
import { describe, expect, it } from 'vitest';
import { auditBucket, auditFunctionEnvironment, auditRole, auditSecurityGroup } from '../src/audit/rules.js';
import { summariseCost } from '../src/cost/cost-explorer.js';
import { percentile, summarise } from '../src/performance/measure.js';

const FULL_BLOCK = { blockPublicAcls: true, ignorePublicAcls: true, blockPublicPolicy: true, restrictPublicBuckets: true };
const TLS_DENY = { Effect: 'Deny', Principal: '*', Action: 's3:*', Resource: 'arn:aws:s3:::b/*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } };

describe('audit rules', () => {
  it('treats Allow + NotAction as a wildcard action, and a service wildcard on one resource as medium', () => {
    const findings = auditRole({
      name: 'r',
      attached: [],
      documents: [
        { name: 'not-action', kind: 'inline', document: { Statement: [{ Effect: 'Allow', NotAction: 'iam:*', Resource: '*' }] } },
        { name: 'scoped', kind: 'inline', document: { Statement: [{ Effect: 'Allow', Action: 'dynamodb:*', Resource: 'arn:aws:dynamodb:us-east-1:1:table/t' }] } },
        { name: 'deny', kind: 'inline', document: { Statement: [{ Effect: 'Deny', Action: '*', Resource: '*' }] } },
      ],
    });
    expect(findings.map((f) => [f.rule, f.severity, f.message.split(' ')[2]])).toEqual([
      ['iam-wildcard-action', 'high', 'not-action'],
      ['iam-wildcard-action', 'medium', 'scoped'],
    ]);
  });

  it('reads URL-encoded policy documents as IAM returns them, and reports an unparsable one as incomplete', () => {
    const encoded = encodeURIComponent(JSON.stringify({ Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] }));
    expect(auditRole({ name: 'r', attached: [], documents: [{ name: 'p', kind: 'inline', document: encoded }] })[0].rule).toBe('iam-wildcard-action');
    expect(auditRole({ name: 'r', attached: [], documents: [{ name: 'p', kind: 'inline', document: '{not json' }] })[0]).toMatchObject({ rule: 'audit-incomplete', severity: 'high' });
  });

  it('a "*" principal under a condition is medium, without one high; BoolIfExists with a boolean counts as TLS-only', () => {
    const conditioned = auditBucket({
      name: 'b',
      encryption: 'aws:kms',
      publicAccessBlock: FULL_BLOCK,
      policy: JSON.stringify({
        Statement: [
          { Effect: 'Allow', Principal: { AWS: ['*'] }, Action: 's3:GetObject', Resource: 'arn:aws:s3:::b/*', Condition: { StringEquals: { 'aws:PrincipalOrgID': 'o-1' } } },
          { ...TLS_DENY, Condition: { BoolIfExists: { 'aws:SecureTransport': false } } },
        ],
      }),
    });
    expect(conditioned.map((f) => [f.rule, f.severity])).toEqual([['s3-public-policy', 'medium']]);
    const narrowDeny = auditBucket({ name: 'b', encryption: 'AES256', publicAccessBlock: FULL_BLOCK, policy: JSON.stringify({ Statement: [{ ...TLS_DENY, Action: 's3:GetObject' }] }) });
    expect(narrowDeny.map((f) => f.rule)).toEqual(['s3-tls-only']);
  });

  it('never flags empty values or references to secrets, and never puts a value in a message', () => {
    const findings = auditFunctionEnvironment('fn', {
      DB_PASSWORD: '',
      API_TOKEN: '{{resolve:secretsmanager:api}}',
      SECRET: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:x',
      SIGNING_KEY_VALUE: 'Zx9Qm2Lr8Tv4Wn6Ys1Ub3Kc5Hd7Jf0Ga2Pe4Ri6',
      REGION: 'eu-west-1',
    });
    expect(findings).toHaveLength(1);
    expect(findings[0].message).toContain('SIGNING_KEY_VALUE');
    expect(findings[0].message).not.toContain('Zx9Qm2');
  });

  it('ignores world-open 80/443 and ICMP, flags everything else', () => {
    const rules = [
      { IpProtocol: 'tcp', FromPort: 443, ToPort: 443, IpRanges: [{ CidrIp: '0.0.0.0/0' }] },
      { IpProtocol: 'icmp', FromPort: -1, ToPort: -1, IpRanges: [{ CidrIp: '0.0.0.0/0' }] },
      { IpProtocol: '-1', Ipv6Ranges: [{ CidrIpv6: '::/0' }] },
      { IpProtocol: 'tcp', FromPort: 80, ToPort: 443, IpRanges: [{ CidrIp: '0.0.0.0/0' }] },
    ];
    expect(auditSecurityGroup('sg-1', rules).map((f) => f.message)).toEqual([
      'Security group sg-1: All traffic (every protocol and port) is open to ::/0.',
      'Security group sg-1: tcp ports 80-443 is open to 0.0.0.0/0.',
    ]);
  });
});

describe('percentiles and thresholds', () => {
  it('uses the nearest rank', () => {
    const xs = Array.from({ length: 100 }, (_, i) => i + 1);
    expect([percentile(xs, 50), percentile(xs, 95), percentile(xs, 99), percentile(xs, 100)]).toEqual([50, 95, 99, 100]);
    expect(percentile([7], 99)).toBe(7);
    expect(percentile([], 50)).toBeNull();
  });

  it('measures latency over successes only and compares every configured threshold', () => {
    const samples = [...Array.from({ length: 19 }, (_, i) => ({ ok: true, ms: 10 + i })), { ok: false, ms: 5000, error: 'HTTP 503' }];
    const m = summarise(samples, { p50Ms: 15, p99Ms: 100, maxErrorRate: 0.1 });
    expect(m).toMatchObject({ completed: 20, succeeded: 19, failed: 1, p50Ms: 19, maxMs: 28, errorRate: 0.05, errorSamples: ['HTTP 503'] });
    expect(m.violations).toEqual(['p50 19 ms is above the threshold of 15 ms']);
    expect(summarise([{ ok: false, ms: 1, error: 'x' }], { maxErrorRate: 1 }).violations).toEqual(['no request succeeded, so there is no latency to compare']);
  });
});

describe('cost sums', () => {
  it('adds groups across days, labels untagged cost and reads ungrouped totals', () => {
    const grouped = summariseCost(
      [
        { Groups: [{ Keys: ['AWS Lambda', 'team$'], Metrics: { UnblendedCost: { Amount: '0.10005', Unit: 'USD' } } }] },
        { Groups: [{ Keys: ['AWS Lambda', 'team$data'], Metrics: { UnblendedCost: { Amount: '0.2', Unit: 'USD' } } }], Estimated: true },
      ],
      'UnblendedCost',
      'team',
    );
    expect(grouped).toEqual({ totalUsd: 0.3001, byService: { 'AWS Lambda': 0.3001 }, byTag: { data: 0.2, '(untagged)': 0.1001 }, currency: 'USD', estimated: true });
    expect(summariseCost([{ Total: { UnblendedCost: { Amount: '3.5', Unit: 'USD' } } }], 'UnblendedCost').totalUsd).toBe(3.5);
  });
});
