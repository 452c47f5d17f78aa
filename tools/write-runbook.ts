import { z } from 'zod';
import { renderRunbook } from '../src/report/runbook.js';
import { defineTool } from '../src/tool.js';
import { TaskIdInput } from '../src/tool-schemas.js';

const Issue = z.union([
  z.string().trim().min(3).max(2000),
  z
    .object({
      symptom: z.string().trim().min(3).max(500).describe('What someone on call would see'),
      cause: z.string().trim().max(1000).optional(),
      action: z.string().trim().min(3).max(2000).describe('What to do about it'),
    })
    .strict(),
]);

export default defineTool({
  name: 'write-runbook',
  title: 'Write the operations runbook',
  description:
    "Writes tasks/<id>/runbook.md from journal-templates/runbook.md with this task's real names and commands: what runs (functions, aliases, live and previous versions, log groups, alarms), how to tell it is broken (each alarm, its condition and who it notifies; the dashboard), where to look (aws logs tail / filter-log-events, alias and configuration commands), how to check it works (the smoke-test targets as commands, normal latency), how to roll back (the rollback tool, and the exact update-alias commands to the previous versions), known issues (`issues` plus the failures met during the deployment) and the escalation contacts. Run it after create-alarm and create-dashboard; writing it again replaces it.",
  phases: [6],
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  input: z
    .object({
      taskId: TaskIdInput,
      issues: z.array(Issue).max(50).optional().describe('Known failure modes: a sentence, or {symptom, cause?, action}'),
    })
    .strict(),
  output: z.object({ path: z.string(), bytes: z.number().int(), functions: z.array(z.string()), alarms: z.array(z.string()), issues: z.number().int() }),
  summarize: (o) => `Runbook written to ${o.path} (${o.functions.length} function(s), ${o.alarms.length} alarm(s), ${o.issues} known issue(s) given).`,
  async run(input, ctx) {
    const state = ctx.task!;
    const env = ctx.config?.environments?.[state.environment];
    const { markdown, functions, alarms } = renderRunbook({
      state,
      config: ctx.config,
      region: env?.region ?? state.target.region ?? 'us-east-1',
      profile: env?.profile ?? state.target.profile,
      issues: input.issues ?? [],
      now: ctx.now(),
    });
    const path = await ctx.store.writeFile(state.taskId, 'runbook.md', markdown);
    return { path, bytes: Buffer.byteLength(markdown), functions, alarms, issues: input.issues?.length ?? 0 };
  },
});
