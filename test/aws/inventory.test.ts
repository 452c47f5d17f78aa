import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { AwsClients } from '../../src/aws/clients.js';
import { mapWithConcurrency } from '../../src/aws/concurrency.js';
import { INVENTORY_CONCURRENCY, listResources, type Inventory } from '../../src/aws/inventory.js';
import type { ResourceType } from '../../src/aws/verify/types.js';
import {
  awsTestEnv,
  createAlarm,
  createAlias,
  createBucket,
  createFunction,
  createLogGroup,
  createRole,
  createSecurityGroup,
  uniqueName,
} from '../helpers/aws-fixtures.js';
import { paginateAlarms, paginateBuckets, paginateLambdaList, paginateSecurityGroups, startFaultProxy, type FaultProxy, type ProxyRequest } from '../helpers/fault-proxy.js';

const endpoint = inject('motoEndpoint');
const env = awsTestEnv(endpoint);

// Above each API's page size: moto pages DescribeLogGroups at 50 and ListRoles at 100 by itself;
// the proxy pages the rest (moto answers them in one page).
const N = { buckets: 12, functions: 55, logGroups: 55, roles: 105, alarms: 105, groups: 12 };
const TAGGED = 3; // the first three of each type carry the "gold" tag
const ALIASED = ['00', '01', '02'];
const ALIASES = ['live', 'stable', 'canary'];

const p = uniqueName('inv');
const nn = (i: number): string => String(i).padStart(2, '0');
const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);
const gold = (i: number): Record<string, string> => (i < TAGGED ? { inventory: p, tier: 'gold' } : { inventory: p });

let proxy: FaultProxy;
let paged: AwsClients;
let direct: AwsClients;

beforeAll(async () => {
  const roleArn = await createRole(`${p}-exec`, 'lambda.amazonaws.com');
  await Promise.all([
    mapWithConcurrency(range(N.buckets), 6, (i) => createBucket({ name: `${p}-b-${nn(i)}`, tags: gold(i) })),
    mapWithConcurrency(range(N.functions), 6, (i) => createFunction({ name: `${p}-fn-${nn(i)}`, roleArn, tags: gold(i) })),
    mapWithConcurrency(range(N.logGroups), 6, (i) => createLogGroup({ name: `${p}-lg-${nn(i)}`, ...(i === 0 ? { retentionInDays: 7 } : {}), tags: gold(i) })),
    mapWithConcurrency(range(N.roles - 1), 6, (i) => createRole(`${p}-role-${nn(i)}`, 'lambda.amazonaws.com', { tags: gold(i) })),
    mapWithConcurrency(range(N.alarms), 6, (i) => createAlarm({ name: `${p}-alarm-${nn(i)}`, tags: gold(i) })),
    mapWithConcurrency(range(N.groups), 4, (i) =>
      createSecurityGroup({ name: `${p}-sg-${nn(i)}`, tags: gold(i), ...(i === 0 ? { ingress: [{ protocol: 'tcp', fromPort: 22 }] } : {}) }),
    ),
  ]);
  for (const fn of ALIASED) for (const alias of ALIASES) await createAlias({ functionName: `${p}-fn-${fn}`, name: alias, functionVersion: '$LATEST' });

  proxy = await startFaultProxy(endpoint);
  paged = new AwsClients({ region: 'us-east-1' }, { endpoint: proxy.url, env, maxAttempts: 1 });
  direct = new AwsClients({ region: 'us-east-1' }, { endpoint, env, maxAttempts: 1 });
}, 120_000);

afterAll(async () => {
  paged.destroy();
  direct.destroy();
  await proxy.close();
});

afterEach(() => {
  proxy.clearRules();
  proxy.requests.length = 0;
});

const EXPECTED_COUNTS = {
  's3-bucket': N.buckets,
  'lambda-function': N.functions,
  'lambda-alias': ALIASED.length * ALIASES.length,
  'log-group': N.logGroups,
  'iam-role': N.roles, // 104 numbered roles + the execution role
  'cloudwatch-alarm': N.alarms,
  'security-group': N.groups,
};

const pagingRules = () => [paginateBuckets(5), paginateLambdaList('Functions', 50), paginateLambdaList('Aliases', 2), paginateAlarms(40), paginateSecurityGroups(5)];
const count = (pred: (r: ProxyRequest) => boolean): number => proxy.requests.filter(pred).length;
const names = (inv: Inventory, type: ResourceType): string[] => inv.resources.filter((r) => r.type === type).map((r) => r.name);

describe('listResources', () => {
  it('lists every type, following every page', async () => {
    for (const rule of pagingRules()) proxy.addRule(rule);
    const inv = await listResources(paged, { prefix: `${p}-` });
    expect(inv.errors).toEqual([]);
    expect(inv.counts).toEqual(EXPECTED_COUNTS);
    expect(inv.resources).toHaveLength(Object.values(EXPECTED_COUNTS).reduce((a, b) => a + b, 0));

    // More than one page of each List API was requested.
    expect(count((r) => r.service === 's3' && r.query.get('x-id') === 'ListBuckets')).toBeGreaterThanOrEqual(3);
    expect(count((r) => r.service === 'lambda' && /\/functions\/?$/.test(r.path))).toBeGreaterThanOrEqual(2);
    expect(count((r) => r.service === 'lambda' && r.path.endsWith(`${p}-fn-00/aliases`))).toBe(2);
    expect(count((r) => r.action === 'DescribeLogGroups')).toBe(2);
    expect(count((r) => r.action === 'ListRoles')).toBeGreaterThanOrEqual(2);
    expect(count((r) => r.action === 'DescribeAlarms')).toBe(3);
    expect(count((r) => r.action === 'DescribeSecurityGroups')).toBeGreaterThanOrEqual(3);

    // Every numbered resource is there exactly once.
    expect(names(inv, 'lambda-function')).toEqual(range(N.functions).map((i) => `${p}-fn-${nn(i)}`));
    expect(names(inv, 'cloudwatch-alarm')).toEqual(range(N.alarms).map((i) => `${p}-alarm-${nn(i)}`).sort());
    expect(new Set(names(inv, 'iam-role')).size).toBe(N.roles);
  });

  it('gives the same answer straight from moto (the paging proxy changes nothing but page sizes)', async () => {
    const inv = await listResources(direct, { prefix: `${p}-` });
    expect(inv.counts).toEqual(EXPECTED_COUNTS);
    expect(inv.errors).toEqual([]);
  });

  it('describes each resource: name, ARN, summary, bucket region, alias name fn:alias, group id', async () => {
    const inv = await listResources(direct, { prefix: `${p}-` });
    const find = (type: ResourceType, name: string) => inv.resources.find((r) => r.type === type && r.name === name)!;
    expect(find('s3-bucket', `${p}-b-00`)).toMatchObject({ arn: `arn:aws:s3:::${p}-b-00`, region: 'us-east-1', summary: expect.stringContaining('region us-east-1') });
    expect(find('lambda-function', `${p}-fn-00`)).toMatchObject({ arn: `arn:aws:lambda:us-east-1:123456789012:function:${p}-fn-00`, summary: expect.stringContaining('python3.12') });
    expect(find('lambda-alias', `${p}-fn-01:live`)).toMatchObject({ arn: `arn:aws:lambda:us-east-1:123456789012:function:${p}-fn-01:live`, summary: expect.stringContaining('$LATEST') });
    expect(find('log-group', `${p}-lg-00`)).toMatchObject({ arn: `arn:aws:logs:us-east-1:123456789012:log-group:${p}-lg-00`, summary: expect.stringContaining('retention 7 days') });
    expect(find('iam-role', `${p}-role-00`)).toMatchObject({ arn: `arn:aws:iam::123456789012:role/${p}-role-00` });
    expect(find('cloudwatch-alarm', `${p}-alarm-00`)).toMatchObject({ arn: `arn:aws:cloudwatch:us-east-1:123456789012:alarm:${p}-alarm-00`, summary: expect.stringMatching(/^OK: AWS\/Lambda Errors Sum/) });
    const sg = find('security-group', `${p}-sg-00`);
    expect(sg.id).toMatch(/^sg-/);
    expect(sg.arn).toContain(sg.id!);
    expect(sg.summary).toContain('open to the world: 22');
    for (const r of inv.resources) expect(r.summary.length, r.name).toBeGreaterThan(0);
  });

  it('types limits the listing and the calls made', async () => {
    const inv = await listResources(paged, { types: ['log-group'], prefix: `${p}-` });
    expect(inv.counts).toEqual({ 'log-group': N.logGroups });
    expect(new Set(inv.resources.map((r) => r.type))).toEqual(new Set(['log-group']));
    expect(new Set(proxy.requests.map((r) => r.service))).toEqual(new Set(['logs']));
  });

  it('aliases alone, with a prefix that reaches into the alias name', async () => {
    for (const rule of pagingRules()) proxy.addRule(rule);
    const inv = await listResources(paged, { types: ['lambda-alias'], prefix: `${p}-fn-01:` });
    expect(inv.counts).toEqual({ 'lambda-alias': ALIASES.length });
    expect(names(inv, 'lambda-alias')).toEqual(ALIASES.map((a) => `${p}-fn-01:${a}`).sort());
    expect(count((r) => r.path.includes('/aliases'))).toBe(2); // one function, two pages
  });

  it('a narrower prefix', async () => {
    const inv = await listResources(direct, { prefix: `${p}-fn-0` });
    expect(inv.counts['lambda-function']).toBe(10);
    expect(inv.counts['lambda-alias']).toBe(ALIASED.length * ALIASES.length);
    expect(inv.counts['s3-bucket']).toBe(0);
  });

  it('tag filter: per-resource tag reads with bounded concurrency, across every type', async () => {
    let inFlight = 0;
    let peak = 0;
    const isTagRead = (r: ProxyRequest): boolean =>
      (r.service === 'lambda' && r.path.startsWith('/2017-03-31/tags/')) ||
      r.action === 'ListTagsForResource' ||
      r.action === 'ListRoleTags' ||
      (r.service === 's3' && r.query.has('tagging'));
    proxy.addRule({
      match: (r) => {
        if (!isTagRead(r)) return false;
        inFlight++;
        peak = Math.max(peak, inFlight);
        return true;
      },
      fault: { kind: 'delay', ms: 20 },
      transform: (_req, res) => {
        inFlight--;
        return res;
      },
    });
    const inv = await listResources(paged, { prefix: `${p}-`, tags: { inventory: p, tier: 'gold' } });
    expect(inv.errors).toEqual([]);
    expect(inv.counts).toEqual({
      's3-bucket': TAGGED,
      'lambda-function': TAGGED,
      'lambda-alias': ALIASED.length * ALIASES.length, // aliases follow their function's tags
      'log-group': TAGGED,
      'iam-role': TAGGED,
      'cloudwatch-alarm': TAGGED,
      'security-group': TAGGED,
    });
    for (const r of inv.resources) expect(r.tags, r.name).toMatchObject({ tier: 'gold' });
    // Six types read tags at once, each with at most INVENTORY_CONCURRENCY in flight.
    expect(peak).toBeGreaterThan(1);
    expect(peak).toBeLessThanOrEqual(INVENTORY_CONCURRENCY * 5);
    expect(count(isTagRead)).toBeGreaterThanOrEqual(N.functions + N.logGroups + N.roles + N.alarms + N.buckets);
  });

  it('bounded concurrency per type: at most 8 Lambda tag reads in flight', async () => {
    let inFlight = 0;
    let peak = 0;
    proxy.addRule({
      match: (r) => {
        if (!(r.service === 'lambda' && r.path.startsWith('/2017-03-31/tags/'))) return false;
        inFlight++;
        peak = Math.max(peak, inFlight);
        return true;
      },
      fault: { kind: 'delay', ms: 20 },
      transform: (_req, res) => {
        inFlight--;
        return res;
      },
    });
    const inv = await listResources(paged, { types: ['lambda-function'], prefix: `${p}-`, tags: { tier: 'gold' } });
    expect(inv.counts).toEqual({ 'lambda-function': TAGGED });
    expect(peak).toBe(INVENTORY_CONCURRENCY);
  });

  it('a type that is denied lands in errors while the others still list', async () => {
    proxy.addRule({ match: (r) => r.service === 'lambda' && /\/functions\/?$/.test(r.path), fault: { kind: 'access-denied' } });
    proxy.addRule({ match: (r) => r.service === 's3' && r.query.get('x-id') === 'ListBuckets', fault: { kind: 'access-denied' } });
    const inv = await listResources(paged, { prefix: `${p}-` });
    expect(inv.counts).toEqual({ ...EXPECTED_COUNTS, 's3-bucket': 0, 'lambda-function': 0, 'lambda-alias': 0 });
    expect(inv.errors.map((e) => [e.type, e.code, e.action]).sort()).toEqual([
      ['lambda-alias', 'AccessDeniedException', 'lambda:ListFunctions'],
      ['lambda-function', 'AccessDeniedException', 'lambda:ListFunctions'],
      ['s3-bucket', 'AccessDenied', 's3:ListAllMyBuckets'],
    ]);
    const s3Error = inv.errors.find((e) => e.type === 's3-bucket')!;
    expect(s3Error).toMatchObject({ kind: 'access-denied', nextStep: "add s3:ListAllMyBuckets on * to the deploy role's policy" });
  });

  it('a denied tag read is reported once per type and the resource is left out', async () => {
    proxy.addRule({ match: (r) => r.action === 'ListRoleTags', fault: { kind: 'access-denied' } });
    const inv = await listResources(paged, { types: ['iam-role', 'log-group'], prefix: `${p}-`, tags: { tier: 'gold' } });
    expect(inv.counts).toEqual({ 'iam-role': 0, 'log-group': TAGGED });
    expect(inv.errors).toHaveLength(1);
    expect(inv.errors[0]).toMatchObject({ type: 'iam-role', action: 'iam:ListRoleTags', kind: 'access-denied' });
  });

  it('an unknown type throws', async () => {
    await expect(listResources(direct, { types: ['dynamodb-table' as ResourceType] })).rejects.toThrow(/Unknown resource type/);
  });
});
