import { z } from 'zod';
import { tagRelease } from '../src/release/git-tag.js';
import { deploymentStart, gitFacts, latestDeployments } from '../src/report/task-facts.js';
import { defineTool } from '../src/tool.js';
import { TaskIdInput } from '../src/tool-schemas.js';
import { phaseByNumber } from '../src/workflow/phases.js';

export function defaultTagName(environment: string, component: string, day: string, taskId: number): string {
  return `release/${environment}-${component}-${day}-task${taskId}`;
}

export default defineTool({
  name: 'tag-release',
  title: 'Tag the released commit',
  description:
    'Creates an annotated git tag (default `release/<environment>-<component>-<YYYY-MM-DD>-task<id>`) on the deployed commit: the head of the deployment branch, or — when the branch is gone — the base commit create-branch recorded. The tag message names the task, environment, deployed versions and approvers. Calling it again is harmless when the tag is already on that commit; a tag on another commit is never moved. With `push: true` the tag is pushed to `origin` (when it exists); a rejected push is reported as `pushed: false` with the reason — the human decides, nothing is forced.',
  phases: [8],
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  input: z
    .object({
      taskId: TaskIdInput,
      push: z.boolean().optional().describe('Push the tag to origin (default false)'),
      tag: z
        .string()
        .regex(/^[A-Za-z0-9][A-Za-z0-9._/-]{0,199}$/, 'letters, digits, ., _, - and /')
        .optional()
        .describe('Tag name instead of the default'),
    })
    .strict(),
  output: z.object({
    tag: z.string(),
    commit: z.string(),
    commitSource: z.enum(['branch', 'base-commit']),
    branch: z.string(),
    created: z.boolean(),
    pushed: z.boolean(),
    remote: z.string().optional(),
    pushError: z.string().optional(),
    warnings: z.array(z.string()),
  }),
  summarize: (o) =>
    `Tag ${o.tag} ${o.created ? 'created' : 'already'} on ${o.commit.slice(0, 12)} (${o.commitSource === 'branch' ? `head of ${o.branch}` : 'branch base commit'})${
      o.pushed ? `, pushed to ${o.remote ?? 'origin'}` : o.pushError ? `, NOT pushed: ${o.pushError}` : ', not pushed'
    }.${o.warnings.map((w) => ` ⚠ ${w}`).join('')}`,
  async run(input, ctx) {
    const state = ctx.task!;
    const git = gitFacts(state);
    const tag = input.tag ?? defaultTagName(state.environment, state.component, state.createdAt.slice(0, 10), state.taskId);
    const functions = latestDeployments(state);
    const approvals = state.visits.filter((v) => v.exit).map((v) => `  phase ${v.number} ${phaseByNumber(v.number).name}: ${v.exit!.approver} (${v.exit!.channel})`);
    const env = ctx.config?.environments?.[state.environment];
    const message = [
      `Release of task #${state.taskId}: ${state.title}`,
      '',
      `Environment: ${state.environment} (account ${state.pinned?.account ?? env?.accountId ?? '?'}, ${state.pinned?.region ?? env?.region ?? '?'})`,
      `Component: ${state.component}`,
      `Branch: ${git.branch}`,
      ...(functions.length ? ['Deployed:', ...functions.map((f) => `  ${f.function} v${f.newVersion ?? '?'}${f.alias ? ` (alias ${f.alias})` : ''}${f.previousVersion ? `, previously v${f.previousVersion}` : ''}`)] : []),
      ...(approvals.length ? ['Approved:', ...approvals] : []),
      '',
      'Tagged by deploy-mcp tag-release.',
    ].join('\n');
    const result = await tagRelease({
      root: ctx.projectRoot,
      tag,
      message,
      branch: git.branch,
      baseCommit: git.baseCommit,
      push: input.push === true,
      deployedAt: deploymentStart(state),
      signal: ctx.signal,
    });
    return { ...result, branch: git.branch };
  },
});
