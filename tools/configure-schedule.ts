import { z } from 'zod';
import { configureSchedule, defaultRuleName } from '../src/deploy/schedule.js';
import { deployedAliases } from '../src/deploy/task-facts.js';
import { substituteEnvironment } from '../src/config/index.js';
import { ToolError, defineTool } from '../src/tool.js';
import { TaskIdInput } from '../src/tool-schemas.js';

const Target = z.object({ id: z.string(), arn: z.string(), input: z.string().optional() });

export default defineTool({
  name: 'configure-schedule',
  title: 'Schedule a function (EventBridge rule)',
  description:
    "Creates or updates an EventBridge rule (`rate(5 minutes)`, `cron(0 3 * * ? *)`) that invokes the function's alias — the scheduled jobs of a data pipeline — and adds the lambda:InvokeFunction permission for the rule on that alias. Idempotent: an identical second call changes nothing (changed: false). The alias defaults to the one deploy-lambda moved in this task. What the rule looked like before (or that it did not exist) is recorded, and plan-rollback turns it into restore commands.",
  phases: [4],
  aws: true,
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  input: z
    .object({
      taskId: TaskIdInput,
      function: z.string().trim().min(1).max(140).regex(/^[A-Za-z0-9_-]+$/, 'a function name'),
      alias: z.string().trim().min(1).max(128).regex(/^[A-Za-z0-9_-]+$/).optional().describe('Default: the alias deploy-lambda moved for this function in this task'),
      schedule: z.string().trim().min(6).max(256).describe('rate(5 minutes) | rate(1 hour) | cron(0 3 * * ? *)'),
      input: z.record(z.string(), z.unknown()).optional().describe('The event the function receives (JSON object)'),
      ruleName: z.string().trim().min(1).max(64).regex(/^[.\-_A-Za-z0-9]+$/, 'a rule name').optional().describe('Default: <function>-<alias>-schedule'),
      description: z.string().max(512).optional(),
      enabled: z.boolean().optional().describe('Default true'),
      component: z.string().trim().min(1).max(120).optional(),
    })
    .strict(),
  output: z.object({
    ruleName: z.string(),
    ruleArn: z.string(),
    created: z.boolean(),
    changed: z.boolean(),
    state: z.enum(['ENABLED', 'DISABLED']),
    schedule: z.string(),
    function: z.string(),
    alias: z.string(),
    targetId: z.string(),
    targetArn: z.string(),
    statementId: z.string(),
    permissionAdded: z.boolean(),
    changes: z.array(z.string()),
    previous: z.object({
      exists: z.boolean(),
      arn: z.string().optional(),
      scheduleExpression: z.string().optional(),
      state: z.string().optional(),
      description: z.string().optional(),
      targets: z.array(Target),
    }),
  }),
  summarize: (o) =>
    `${o.ruleName} (${o.schedule}, ${o.state}) → ${o.function}:${o.alias}: ${o.changed ? o.changes.join('; ') : 'already configured, nothing changed'}${o.previous.exists ? ` (before: ${o.previous.scheduleExpression ?? '-'} ${o.previous.state ?? ''}, ${o.previous.targets.length} target(s))` : ' (new rule)'}`,
  async run(input, ctx) {
    const state = ctx.task!;
    let alias = input.alias;
    if (!alias) {
      alias = deployedAliases(state).get(input.function)?.alias;
      alias ??= (ctx.config?.components ?? []).find((c) => c.kind === 'lambda' && c.function && substituteEnvironment(c.function, state.environment) === input.function)?.alias;
      if (!alias) {
        throw new ToolError('no-alias', `No alias is known for ${input.function}: it was not deployed with deploy-lambda in this task and the config names none.`, 'Call again with alias set (the alias the schedule should invoke).');
      }
    }
    const ruleName = input.ruleName ?? defaultRuleName(input.function, alias);
    const r = await configureSchedule(
      ctx.aws(),
      {
        ruleName,
        functionName: input.function,
        alias,
        schedule: input.schedule,
        ...(input.input !== undefined ? { input: JSON.stringify(input.input) } : {}),
        ...(input.description !== undefined ? { description: input.description } : {}),
        enabled: input.enabled ?? true,
      },
      ctx.signal,
    );
    return { ...r, schedule: input.schedule, function: input.function, alias };
  },
});
