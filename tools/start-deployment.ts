import os from 'node:os';
import { z } from 'zod';
import { TaskExistsError } from '../src/state/task-store.js';
import { ToolError, defineTool } from '../src/tool.js';
import { PhaseRefOutput } from '../src/tool-schemas.js';
import { phaseRef } from '../src/workflow/phases.js';

/** `deploy/<environment>-<YYYY-MM-DD>-<component>` (SPEC §4). */
export function deploymentBranch(environment: string, component: string, now: Date): string {
  return `deploy/${environment}-${now.toISOString().slice(0, 10)}-${component}`;
}

export default defineTool({
  name: 'start-deployment',
  title: 'Start a deployment',
  description:
    'Opens a deployment task for one environment and component (one open task per pair) in phase 1, Pre-Deployment Analysis, and creates its journal.',
  phases: 'always',
  taskless: true,
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
  input: z
    .object({
      title: z.string().trim().min(3).max(200).describe('What is being deployed, e.g. "Nightly ingestion pipeline v2"'),
      environment: z.string().regex(/^[A-Za-z0-9-]+$/).describe('An environment name from the config'),
      component: z
        .string()
        .regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'lower-case letters, digits and dashes')
        .describe('The component being deployed; part of the branch name'),
      taskId: z.number().int().positive().max(999_999_999).optional().describe('Use this task number (e.g. from your tracker) instead of the next free one'),
    })
    .strict(),
  output: z.object({
    taskId: z.number(),
    phase: PhaseRefOutput,
    branch: z.string(),
    journalPath: z.string(),
    status: z.string(),
    nextStep: z.string(),
  }),
  summarize: (o) => `Task #${o.taskId} started in phase ${o.phase.number} (${o.phase.name}). Branch ${o.branch}. Journal: ${o.journalPath}\nNext: ${o.nextStep}`,
  async run(input, ctx) {
    const config = ctx.config;
    if (!config) {
      throw new ToolError(
        'no-config',
        `There is no deploy-mcp.config.json in ${ctx.projectRoot}.`,
        'Ask the human to run `npx deploy-mcp init` in the project root, fill in the environments, and restart the server.',
      );
    }
    const env = config.environments[input.environment];
    if (!env) {
      throw new ToolError(
        'unknown-environment',
        `The config has no environment "${input.environment}".`,
        `Use one of: ${Object.keys(config.environments).join(', ')}.`,
      );
    }
    const now = ctx.now();
    const branch = deploymentBranch(input.environment, input.component, now);
    const { taskId } = await ctx.store.withCreateLock(async () => {
      for (const t of await ctx.deployments.summaries()) {
        if (t.status === 'active' && t.environment === input.environment && t.component === input.component) {
          throw new ToolError(
            'task-open',
            `Task #${t.taskId} (${t.title}) is already open for ${input.environment}/${input.component}.`,
            `Continue it (deployment-status with taskId ${t.taskId}), or finish or roll it back first.`,
          );
        }
      }
      try {
        return await ctx.store.createTask(
          {
            type: 'task.started',
            data: {
              title: input.title,
              environment: input.environment,
              component: input.component,
              branch,
              // Over HTTP the bearer token names the person; over stdio the client is all we know.
              actor: ctx.actor ? `${ctx.actor} via ${ctx.client.name}` : `${ctx.client.name} (agent) on ${os.hostname()}`,
              target: { accountId: env.accountId, region: env.region, profile: env.profile },
              project: config.project,
            },
          },
          input.taskId,
        );
      } catch (err) {
        if (err instanceof TaskExistsError) {
          throw new ToolError('task-exists', err.message, 'Leave taskId out to take the next free number, or choose another.');
        }
        throw err;
      }
    });
    const journalPath = (await ctx.deployments.flushJournal(taskId)) ?? ctx.deployments.journalPath(taskId);
    return {
      taskId,
      phase: phaseRef(1),
      branch,
      journalPath,
      status: 'active',
      nextStep:
        'Phase 1: verify-credentials, list-resources and record-plan; journal findings with write-journal; then request-transition.',
    };
  },
});
