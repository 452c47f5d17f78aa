import type { AwsClients } from '../clients.js';
import { assembleResult, normalisePorts } from './compare.js';
import { InspectionBuilder } from './inspection.js';
import type { Flag, Inspection, VerifyResult } from './types.js';

/** The shape of an EC2 ingress rule this module needs (a subset of the SDK's `IpPermission`). */
export interface IngressRule {
  IpProtocol?: string;
  FromPort?: number;
  ToPort?: number;
  IpRanges?: { CidrIp?: string }[];
  Ipv6Ranges?: { CidrIpv6?: string }[];
}

const WORLD_V4 = '0.0.0.0/0';
const WORLD_V6 = '::/0';
const WEB_PORTS = new Set([80, 443]);

/**
 * Ports reachable from anywhere (0.0.0.0/0 or ::/0), sorted, ranges expanded (wide ones kept as
 * `"from-to"`), protocol -1 as `"all"`; plus one flag per world-open rule (80/443 low, else high).
 */
export function analyseIngress(rules: readonly IngressRule[]): { worldOpenPorts: Array<number | string>; flags: Flag[] } {
  const ports: Array<number | string> = [];
  const flags: Flag[] = [];
  for (const rule of rules) {
    const sources = [
      ...(rule.IpRanges ?? []).map((r) => r.CidrIp).filter((c) => c === WORLD_V4),
      ...(rule.Ipv6Ranges ?? []).map((r) => r.CidrIpv6).filter((c) => c === WORLD_V6),
    ];
    if (sources.length === 0) continue;
    const from = sources.join(' and ');
    const protocol = (rule.IpProtocol ?? '-1').toLowerCase();
    if (protocol === '-1' || protocol === 'all') {
      ports.push('all');
      flags.push({ field: 'worldOpenPorts', severity: 'high', message: `All traffic (every protocol and port) is open to ${from}` });
      continue;
    }
    const name = protocol === '6' ? 'tcp' : protocol === '17' ? 'udp' : protocol;
    if (name === 'icmp' || name === 'icmpv6' || name === '1' || name === '58') {
      flags.push({ field: 'worldOpenPorts', severity: 'low', message: `ICMP is open to ${from}` });
      continue;
    }
    if (name !== 'tcp' && name !== 'udp') {
      flags.push({ field: 'worldOpenPorts', severity: 'medium', message: `IP protocol ${protocol} is open to ${from}` });
      continue;
    }
    const low = rule.FromPort === undefined || rule.FromPort < 0 ? 0 : rule.FromPort;
    const high = rule.ToPort === undefined || rule.ToPort < 0 ? 65535 : rule.ToPort;
    ports.push(low === high ? low : `${low}-${high}`);
    const label = low === high ? `port ${low}` : `ports ${low}-${high}`;
    const webOnly = low === high && WEB_PORTS.has(low);
    flags.push({ field: 'worldOpenPorts', severity: webOnly ? 'low' : 'high', message: `${name} ${label} is open to ${from}` });
  }
  return { worldOpenPorts: normalisePorts(ports) ?? [], flags };
}

export async function inspectSecurityGroup(clients: AwsClients, name: string, expect: Record<string, unknown> = {}): Promise<Inspection> {
  const ec2sdk = await import('@aws-sdk/client-ec2');
  const ec2 = await clients.ec2();
  const b = new InspectionBuilder(clients);
  const byId = /^sg-[0-9a-f]+$/i.test(name);
  const ctx = { action: 'ec2:DescribeSecurityGroups', resource: name };

  const groups = [];
  try {
    const input = byId ? { GroupIds: [name] } : { Filters: [{ Name: 'group-name', Values: [name] }] };
    for await (const page of ec2sdk.paginateDescribeSecurityGroups({ client: ec2 }, input)) groups.push(...(page.SecurityGroups ?? []));
  } catch (err) {
    return b.existenceFailed(err, ctx);
  }
  let candidates = groups.filter((g) => (byId ? g.GroupId === name : g.GroupName === name));
  // The same group name can exist once per VPC: the expected VPC picks one.
  if (candidates.length > 1 && typeof expect.vpcId === 'string') {
    const inVpc = candidates.filter((g) => g.VpcId === expect.vpcId);
    if (inVpc.length > 0) candidates = inVpc;
  }
  if (candidates.length === 0) return b.absent();
  if (candidates.length > 1) {
    b.existence = 'unknown';
    b.problems.push({
      field: 'exists',
      code: 'AmbiguousName',
      message: `${candidates.length} security groups are named ${name} (${candidates.map((g) => `${g.GroupId} in ${g.VpcId}`).join(', ')})`,
      nextStep: 'verify by group id (sg-…) or add the expected vpcId',
    });
    return b.done();
  }
  const group = candidates[0]!;
  const ingress = analyseIngress(group.IpPermissions ?? []);
  Object.assign(b.actual, {
    groupId: group.GroupId ?? null,
    groupName: group.GroupName ?? null,
    arn: group.SecurityGroupArn ?? null,
    vpcId: group.VpcId ?? null,
    worldOpenPorts: ingress.worldOpenPorts,
    tags: Object.fromEntries((group.Tags ?? []).map((t) => [t.Key ?? '', t.Value ?? ''])),
  });
  b.flags.push(...ingress.flags);
  return b.done();
}

export async function verifySecurityGroup(clients: AwsClients, name: string, expect: Record<string, unknown> = {}): Promise<VerifyResult> {
  return assembleResult('security-group', name, expect, await inspectSecurityGroup(clients, name, expect));
}
