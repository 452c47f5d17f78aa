import { createHash } from 'node:crypto';
import { z } from 'zod';
import { monitoringSnapshot, type MonitoringSnapshot } from '../src/report/monitoring.js';
import { renderReport } from '../src/report/report.js';
import { branchCommit, gitAt } from '../src/git/repository.js';
import { createdAlarms, deploymentStart, gitFacts, latestDeployments } from '../src/report/task-facts.js';
import { defineTool } from '../src/tool.js';
import { TaskIdInput } from '../src/tool-schemas.js';

export default defineTool({
  name: 'generate-report',
  title: 'Generate the post-deployment report',
  description:
    "Writes tasks/<id>/report.md from journal-templates/report.md and the task's recorded evidence: summary; what was deployed (versions, previous versions, code hashes, uploads, schedules); a Mermaid gantt timeline of the phases with durations and approvers; a Mermaid diagram of the deployed resources (functions, aliases, roles, log groups, alarms, topics, dashboard); issues met and how they were resolved (failures, guard refusals, rejected or overridden transitions, decisions); validation and performance figures; cost checkpoints; monitoring since the deployment (alarm states and error lines in each function's logs, read from AWS now — shown as unavailable with the reason when they cannot be read); rollback readiness; approvals; key learnings; recommendations. Record learnings (write-journal kind: learning) before generating it; generating again replaces it.",
  phases: [8],
  aws: true,
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  input: z.object({ taskId: TaskIdInput }).strict(),
  output: z.object({
    path: z.string(),
    bytes: z.number().int(),
    sha256: z.string(),
    sections: z.array(z.string()),
    issues: z.number().int(),
    recommendations: z.number().int(),
    monitoring: z.object({
      available: z.boolean(),
      reason: z.string().optional(),
      alarms: z.array(z.object({ name: z.string(), state: z.string().optional(), error: z.string().optional() })),
      logErrors: z.array(z.object({ function: z.string(), logGroup: z.string(), errorCount: z.number().optional(), error: z.string().optional() })),
    }),
  }),
  summarize: (o) =>
    `Report written to ${o.path} (${o.sections.length} sections, ${o.issues} issue(s), ${o.recommendations} recommendation(s)). Monitoring now: ${
      o.monitoring.available
        ? `${o.monitoring.alarms.filter((a) => a.state === 'ALARM').length} alarm(s) in ALARM, ${o.monitoring.logErrors.reduce((n, l) => n + (l.errorCount ?? 0), 0)} error line(s) in the logs since the deployment`
        : `unavailable (${o.monitoring.reason})`
    }.`,
  async run(_input, ctx) {
    const state = ctx.task!;
    const env = ctx.config?.environments?.[state.environment];
    const region = env?.region ?? state.target.region ?? '?';
    const since = deploymentStart(state);
    let snapshot: MonitoringSnapshot | null = null;
    let snapshotError: string | undefined;
    try {
      snapshot = await monitoringSnapshot(ctx.aws(), {
        alarmNames: createdAlarms(state).map((a) => a.alarmName),
        functions: latestDeployments(state).map((d) => d.function),
        since,
        now: ctx.now(),
      });
    } catch (err) {
      snapshotError = (err as { problem?: { message: string } }).problem?.message ?? (err as Error).message;
    }
    // The deployed commit is the branch head; the report is usually written before tag-release.
    const branchHead = await branchCommit(gitAt(ctx.projectRoot, { signal: ctx.signal, timeoutMs: 10_000 }), gitFacts(state).branch).catch(() => null);
    const { markdown, sections, recommendations, issues } = renderReport({
      state,
      config: ctx.config,
      region,
      snapshot,
      snapshotError,
      branchHead: branchHead ?? undefined,
      now: ctx.now(),
    });
    const path = await ctx.store.writeFile(state.taskId, 'report.md', markdown);
    return {
      path,
      bytes: Buffer.byteLength(markdown),
      sha256: createHash('sha256').update(markdown).digest('hex'),
      sections,
      issues,
      recommendations,
      monitoring: {
        available: snapshot !== null,
        ...(snapshotError ? { reason: snapshotError } : {}),
        alarms: (snapshot?.alarms ?? []).map((a) => ({ name: a.name, ...(a.state ? { state: a.state } : {}), ...(a.error ? { error: a.error } : {}) })),
        logErrors: (snapshot?.logErrors ?? []).map((l) => ({
          function: l.function,
          logGroup: l.logGroup,
          ...(l.errorCount !== undefined ? { errorCount: l.errorCount } : {}),
          ...(l.error ? { error: l.error } : {}),
        })),
      },
    };
  },
});
