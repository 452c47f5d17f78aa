import { z } from 'zod';
import { AGENT_SECTIONS, SERVER_SECTIONS, canonicalSectionName } from '../src/journal/render.js';
import { ToolError, defineTool } from '../src/tool.js';
import { TaskIdInput } from '../src/tool-schemas.js';

export default defineTool({
  name: 'write-journal',
  title: 'Write to the journal',
  description:
    "Adds a timestamped entry to the task's Progress Log (progress, decision or learning) and may replace the text of the journal's free sections. It never changes the phase: isPhaseTransition only marks the entry.",
  phases: 'any',
  allowWhilePending: true,
  // The journal entry event is itself the record of this call.
  skipAudit: true,
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
  input: z
    .object({
      taskId: TaskIdInput,
      activity: z.string().trim().min(1).max(200).describe('Short title of what was done'),
      content: z.string().min(1).max(20_000).describe('What happened, what was found, what was decided (Markdown)'),
      nextAction: z.string().max(2_000).optional().describe('What comes next'),
      isPhaseTransition: z.boolean().optional().describe('Marks the entry as about a phase transition; does not move the phase'),
      updateSections: z
        .record(z.string(), z.string().max(50_000))
        .optional()
        .describe(`Replace the agent-written text of these sections: ${AGENT_SECTIONS.join(', ')}`),
      kind: z.enum(['progress', 'learning', 'decision']).optional().describe('Default progress; learnings also appear under Key Learnings'),
    })
    .strict(),
  output: z.object({ seq: z.number(), journalPath: z.string(), updatedSections: z.array(z.string()) }),
  summarize: (o) => `Journal entry recorded (seq ${o.seq}) in ${o.journalPath}.`,
  async run(input, ctx) {
    const sections: Record<string, string> = {};
    for (const [name, text] of Object.entries(input.updateSections ?? {})) {
      if ((SERVER_SECTIONS as readonly string[]).some((s) => s.toLowerCase() === name.trim().replace(/^#+\s*/, '').toLowerCase())) {
        throw new ToolError(
          'server-owned-section',
          `The "${name}" section is written by the server from recorded events; it cannot be edited.`,
          `Write to one of: ${AGENT_SECTIONS.join(', ')}. Phase changes come only from request-transition and the human's approval.`,
        );
      }
      const canonical = canonicalSectionName(name);
      if (!canonical) {
        throw new ToolError('unknown-section', `The journal has no section "${name}".`, `Use one of: ${AGENT_SECTIONS.join(', ')}.`);
      }
      sections[canonical] = text;
    }
    const event = await ctx.record('journal.entry', {
      phase: ctx.task!.phase,
      activity: input.activity,
      content: input.content,
      nextAction: input.nextAction,
      isPhaseTransition: input.isPhaseTransition,
      kind: input.kind ?? 'progress',
      updateSections: Object.keys(sections).length ? sections : undefined,
      author: ctx.client.name,
    });
    return { seq: event.seq, journalPath: ctx.deployments.journalPath(ctx.task!.taskId), updatedSections: Object.keys(sections) };
  },
});
