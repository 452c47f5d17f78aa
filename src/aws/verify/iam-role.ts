import type { AwsClients } from '../clients.js';
import { mapWithConcurrency } from '../concurrency.js';
import { assembleResult } from './compare.js';
import { InspectionBuilder } from './inspection.js';
import { analyseTrustPolicy, findWildcardGrants, type PolicySourceKind } from './policy-analysis.js';
import type { Flag, Inspection, VerifyResult } from './types.js';

const POLICY_READ_CONCURRENCY = 4;

export async function inspectRole(clients: AwsClients, name: string): Promise<Inspection> {
  const iamsdk = await import('@aws-sdk/client-iam');
  const iam = await clients.iam();
  const b = new InspectionBuilder(clients);

  let role;
  try {
    role = (await iam.send(new iamsdk.GetRoleCommand({ RoleName: name }))).Role;
  } catch (err) {
    return b.existenceFailed(err, { action: 'iam:GetRole', resource: name });
  }
  if (!role) return b.absent();
  const roleArn = role.Arn ?? name;
  b.actual.arn = role.Arn ?? null;
  b.actual.tags = Object.fromEntries((role.Tags ?? []).map((t) => [t.Key ?? '', t.Value ?? '']));
  try {
    const trust = analyseTrustPolicy(role.AssumeRolePolicyDocument);
    b.actual.trustedService = trust.services;
    b.flags.push(...trust.flags);
  } catch {
    b.problems.push({ field: 'trustedService', code: 'InvalidPolicyDocument', message: `The trust policy of ${name} is not valid JSON` });
  }

  // Wildcard grants found so far, and the first document read that failed.
  const wildcardFlags: Flag[] = [];
  let unreadable: { err: unknown; action: string; resource: string } | undefined;
  const scan = (document: string | undefined, policyName: string, kind: PolicySourceKind): void => {
    if (!document) return;
    try {
      wildcardFlags.push(...findWildcardGrants(document, { name: policyName, kind }));
    } catch (err) {
      unreadable ??= { err, action: 'iam:GetPolicyVersion', resource: policyName };
    }
  };
  const noWildcardsFailed = (err: unknown, action: string, resource: string): void => {
    unreadable ??= { err, action, resource };
  };

  await Promise.all([
    (async () => {
      const attached: { name: string; arn: string }[] = [];
      try {
        for await (const page of iamsdk.paginateListAttachedRolePolicies({ client: iam }, { RoleName: name })) {
          for (const p of page.AttachedPolicies ?? []) attached.push({ name: p.PolicyName ?? '', arn: p.PolicyArn ?? '' });
        }
      } catch (err) {
        b.fail(['attachedPolicies'], err, { action: 'iam:ListAttachedRolePolicies', resource: roleArn });
        noWildcardsFailed(err, 'iam:ListAttachedRolePolicies', roleArn);
        return;
      }
      b.actual.attachedPolicies = attached;
      await mapWithConcurrency(attached, POLICY_READ_CONCURRENCY, async (policy) => {
        let action = 'iam:GetPolicy';
        try {
          const meta = await iam.send(new iamsdk.GetPolicyCommand({ PolicyArn: policy.arn }));
          action = 'iam:GetPolicyVersion';
          const version = await iam.send(new iamsdk.GetPolicyVersionCommand({ PolicyArn: policy.arn, VersionId: meta.Policy?.DefaultVersionId ?? 'v1' }));
          scan(version.PolicyVersion?.Document, policy.name, /^arn:[^:]+:iam::aws:policy\//.test(policy.arn) ? 'aws-managed' : 'customer-managed');
        } catch (err) {
          noWildcardsFailed(err, action, policy.arn);
        }
      });
    })(),

    (async () => {
      const inline: string[] = [];
      try {
        for await (const page of iamsdk.paginateListRolePolicies({ client: iam }, { RoleName: name })) inline.push(...(page.PolicyNames ?? []));
      } catch (err) {
        b.fail(['inlinePolicies'], err, { action: 'iam:ListRolePolicies', resource: roleArn });
        noWildcardsFailed(err, 'iam:ListRolePolicies', roleArn);
        return;
      }
      b.actual.inlinePolicies = inline.sort();
      await mapWithConcurrency(inline, POLICY_READ_CONCURRENCY, async (policyName) => {
        try {
          const out = await iam.send(new iamsdk.GetRolePolicyCommand({ RoleName: name, PolicyName: policyName }));
          scan(out.PolicyDocument, policyName, 'inline');
        } catch (err) {
          noWildcardsFailed(err, 'iam:GetRolePolicy', roleArn);
        }
      });
    })(),
  ]);

  b.flags.push(...wildcardFlags);
  // One wildcard found settles the answer even when another document could not be read.
  const failedRead = unreadable as { err: unknown; action: string; resource: string } | undefined;
  if (wildcardFlags.length > 0) b.actual.noWildcards = false;
  else if (failedRead) b.fail(['noWildcards'], failedRead.err, failedRead);
  else b.actual.noWildcards = true;
  return b.done();
}

export async function verifyRole(clients: AwsClients, name: string, expect: Record<string, unknown> = {}): Promise<VerifyResult> {
  return assembleResult('iam-role', name, expect, await inspectRole(clients, name));
}
