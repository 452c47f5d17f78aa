import { z } from 'zod';
import { defineTool } from '../src/tool.js';
import { PhaseRefOutput, READ_ONLY } from '../src/tool-schemas.js';

export default defineTool({
  name: 'list-tasks',
  title: 'List deployment tasks',
  description: 'Lists every deployment task with its environment, component, current phase and status.',
  phases: 'always',
  taskless: true,
  skipAudit: true,
  annotations: READ_ONLY,
  input: z.object({}).strict(),
  output: z.object({
    tasks: z.array(
      z.object({
        taskId: z.number(),
        title: z.string(),
        environment: z.string(),
        component: z.string(),
        phase: PhaseRefOutput.nullable(),
        status: z.string(),
        problem: z.string().optional(),
      }),
    ),
  }),
  summarize: (out) =>
    out.tasks.length
      ? out.tasks
          .map((t) => `#${t.taskId} ${t.title} — ${t.environment}/${t.component} — ${t.status}${t.phase ? `, phase ${t.phase.number} (${t.phase.name})` : ''}${t.problem ? ` — ${t.problem}` : ''}`)
          .join('\n')
      : 'No deployment tasks yet. Start one with start-deployment.',
  async run(_input, ctx) {
    const tasks = await ctx.deployments.summaries();
    return { tasks: tasks.map(({ broken, ...t }) => (broken ? { ...t, problem: broken } : t)) };
  },
});
