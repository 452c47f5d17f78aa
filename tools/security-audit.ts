import { z } from 'zod';
import { auditTargets, runAudit } from '../src/audit/collect.js';
import { AUDIT_RULE_IDS } from '../src/audit/rules.js';
import { ToolError, defineTool } from '../src/tool.js';
import { TaskIdInput } from '../src/tool-schemas.js';

const Severity = z.enum(['high', 'medium', 'low']);

export default defineTool({
  name: 'security-audit',
  title: 'Audit the deployment for security problems',
  description:
    'Audits the deployed and configured resources, and what the functions use (execution roles, log groups, security groups), by reading them through the AWS API: IAM roles with "*" actions or resources or an administrator policy attached; S3 buckets without default encryption, without all four public access block settings, with a policy granting "*" principals or not denying plain-HTTP access; Lambda environment variables that look like secrets (values never shown); function URLs with auth NONE; log groups without retention or KMS; security groups open to the world on ports other than 80/443. Every finding has severity, resource, rule, message and remedy. A resource that cannot be read is a high `audit-incomplete` finding. Phase 5 needs a run with highCount 0 (only the latest run counts).',
  phases: [5],
  aws: true,
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  input: z.object({ taskId: TaskIdInput }).strict(),
  output: z.object({
    findings: z.array(z.object({ severity: Severity, resource: z.string(), rule: z.string(), message: z.string(), remedy: z.string() })),
    highCount: z.number().int(),
    mediumCount: z.number().int(),
    lowCount: z.number().int(),
    audited: z.array(z.object({ type: z.string(), name: z.string(), origin: z.string() })),
    rulesChecked: z.array(z.string()),
    durationMs: z.number(),
  }),
  summarize: (o) =>
    `Security audit of ${o.audited.length} resource(s): ${o.highCount} high, ${o.mediumCount} medium, ${o.lowCount} low finding(s) in ${o.durationMs} ms.` +
    o.findings
      .filter((f) => f.severity === 'high')
      .slice(0, 10)
      .map((f) => `\n  ✘ [${f.rule}] ${f.resource}: ${f.message}`)
      .join(''),
  async run(_input, ctx) {
    const { targets, origins } = auditTargets(ctx.task!, ctx.config);
    const count = targets.functions.size + targets.roles.size + targets.buckets.size + targets.logGroups.size + targets.securityGroups.size;
    if (count === 0) {
      throw new ToolError(
        'nothing-to-audit',
        'No deployed function or configured resource was found to audit: nothing was deployed in phase 4 and the config lists no resources or components.',
        'Add the deployment\'s resources to `resources` (or `components`) in deploy-mcp.config.json, then run security-audit again.',
      );
    }
    const started = Date.now();
    const report = await runAudit(ctx.aws(), targets, origins, (done, total, message) => ctx.progress(done, total, message), ctx.signal);
    const by = (s: string) => report.findings.filter((f) => f.severity === s).length;
    return {
      findings: report.findings,
      highCount: by('high'),
      mediumCount: by('medium'),
      lowCount: by('low'),
      audited: report.audited,
      rulesChecked: AUDIT_RULE_IDS,
      durationMs: Date.now() - started,
    };
  },
});
