import { z } from 'zod';
import { callerIdentity } from '../src/aws/identity.js';
import { ToolError, defineTool } from '../src/tool.js';
import { TaskIdInput } from '../src/tool-schemas.js';

export default defineTool({
  name: 'verify-credentials',
  title: 'Verify AWS credentials',
  description:
    "Asks AWS who the current credentials are (sts:GetCallerIdentity) and compares the account and region with the task's environment in the config. When they match, the task is pinned to that account and region: every later AWS tool is refused if the credentials resolve elsewhere.",
  phases: [1],
  aws: true,
  // Reads AWS only; pinning is the task's own state.
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  input: z.object({ taskId: TaskIdInput }).strict(),
  output: z.object({
    account: z.string(),
    arn: z.string(),
    userId: z.string(),
    region: z.string(),
    expectedAccount: z.string(),
    expectedRegion: z.string(),
    matchesConfig: z.boolean(),
    pinned: z.boolean(),
    message: z.string(),
  }),
  summarize: (o) => o.message,
  async run(_input, ctx) {
    const state = ctx.task!;
    const env = ctx.config?.environments?.[state.environment];
    if (!env) {
      throw new ToolError('no-environment', `Environment "${state.environment}" is not in the config.`, `Add environments.${state.environment} with its accountId and region.`);
    }
    const clients = ctx.aws();
    const id = await callerIdentity(clients);
    const accountOk = id.account === env.accountId;
    const regionOk = id.region === env.region;
    const matchesConfig = accountOk && regionOk;
    const message = matchesConfig
      ? `Credentials resolve to ${id.arn} in account ${id.account} (${id.region}), as configured for ${state.environment}; the task is pinned to them.`
      : `Credentials resolve to account ${id.account} (${id.region}), but ${state.environment} is configured as account ${env.accountId} (${env.region}). Nothing was pinned: switch to the right credentials${env.profile ? ` (profile ${env.profile})` : ''} and verify again.`;
    return {
      account: id.account,
      arn: id.arn,
      userId: id.userId,
      region: id.region,
      expectedAccount: env.accountId,
      expectedRegion: env.region,
      matchesConfig,
      pinned: matchesConfig,
      message,
    };
  },
});
