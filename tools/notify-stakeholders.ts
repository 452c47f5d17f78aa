import { z } from 'zod';
import { postWebhook, publishSns, type Delivery } from '../src/release/notify.js';
import { redactText } from '../src/journal/redact.js';
import { ToolError, defineTool } from '../src/tool.js';
import { TaskIdInput } from '../src/tool-schemas.js';
import { phaseByNumber } from '../src/workflow/phases.js';

export default defineTool({
  name: 'notify-stakeholders',
  title: 'Notify stakeholders',
  description:
    "Sends `message` to the stakeholders configured in `notify`: published to the SNS topic (notify.snsTopicArn) and/or POSTed as JSON to the webhook (notify.webhookUrl; body {text, subject, message, taskId, title, environment, component, phase}). `channel` picks one; default every configured channel. Each channel's outcome is returned in `delivered[]` (delivered or the error) and recorded in the journal; the call fails only when nothing was delivered. The webhook is shown by its origin only. Secrets in the message are redacted before sending.",
  phases: [4, 5, 6, 7, 8],
  aws: true,
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
  input: z
    .object({
      taskId: TaskIdInput,
      message: z.string().trim().min(1).max(4000).describe('What to tell them: what shipped, where, the report location'),
      subject: z.string().trim().min(1).max(100).optional().describe('Default "[deploy-mcp] <title> — <environment>, phase N"'),
      channel: z.enum(['all', 'sns', 'webhook']).optional().describe('Default all configured channels'),
    })
    .strict(),
  output: z.object({
    delivered: z.array(
      z.object({
        channel: z.enum(['sns', 'webhook']),
        target: z.string(),
        delivered: z.boolean(),
        messageId: z.string().optional(),
        status: z.number().int().optional(),
        error: z.string().optional(),
        durationMs: z.number(),
      }),
    ),
    deliveredCount: z.number().int(),
    failedCount: z.number().int(),
    subject: z.string(),
  }),
  summarize: (o) =>
    `Notification "${o.subject}": ${o.delivered.map((d) => `${d.channel} ${d.target} ${d.delivered ? 'delivered' : `FAILED (${d.error})`}`).join('; ')}.`,
  async run(input, ctx) {
    const state = ctx.task!;
    const notify = ctx.config?.notify ?? {};
    const channel = input.channel ?? 'all';
    const wantSns = (channel === 'all' || channel === 'sns') && !!notify.snsTopicArn;
    const wantWebhook = (channel === 'all' || channel === 'webhook') && !!notify.webhookUrl;
    if (!wantSns && !wantWebhook) {
      throw new ToolError(
        'no-channel',
        channel === 'all' ? 'No notification channel is configured.' : `The ${channel} channel is not configured.`,
        'Ask the human to set notify.snsTopicArn and/or notify.webhookUrl in deploy-mcp.config.json and restart the server.',
      );
    }
    const phase = phaseByNumber(state.phase);
    const subject = input.subject ?? `[deploy-mcp] ${state.title} — ${state.environment}, phase ${phase.number} ${phase.name}`;
    const message = redactText(input.message);
    const n = {
      subject: redactText(subject),
      message,
      context: { taskId: state.taskId, title: state.title, environment: state.environment, component: state.component, phase: phase.number, phaseName: phase.name },
    };
    const deliveries: Promise<Delivery>[] = [];
    if (wantSns) deliveries.push(publishSns(ctx.aws(), notify.snsTopicArn!, n));
    if (wantWebhook) deliveries.push(postWebhook(notify.webhookUrl!, n, 10_000, ctx.signal));
    const delivered = await Promise.all(deliveries);
    const ok = delivered.filter((d) => d.delivered).length;
    if (ok === 0) {
      throw new ToolError(
        'not-delivered',
        `The notification was not delivered: ${delivered.map((d) => `${d.channel} ${d.target}: ${d.error}`).join('; ')}.`,
        'Fix the channel (topic permissions sns:Publish, webhook URL) and send again.',
        { delivered },
      );
    }
    return { delivered, deliveredCount: ok, failedCount: delivered.length - ok, subject: n.subject };
  },
});
