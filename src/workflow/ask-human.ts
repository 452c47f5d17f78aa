/**
 * The elicitation channel (SPEC §3): the client shows the human a form with `approve` and
 * `comment`; the agent never answers it. Used for phase transitions and rollbacks alike.
 */
import type { ToolContext } from '../tool-context.js';
import type { HumanDecision } from './approvals.js';

/** How long the server waits for the human to answer the form before falling back to the terminal. */
export const ELICITATION_WAIT_MS = 15 * 60 * 1000;

/**
 * Asks through the client. Returns the human's decision, or null when the client gave no
 * answer (timeout, closed window, error): the request then stays pending for `deploy-mcp approve`.
 */
export async function askHumanThroughClient(
  ctx: ToolContext,
  form: { message: string; approveTitle: string; approveDescription: string },
  what: string,
): Promise<HumanDecision | null> {
  try {
    const result = await ctx.elicit!(
      {
        mode: 'form',
        message: form.message,
        requestedSchema: {
          type: 'object',
          properties: {
            approve: { type: 'boolean', title: form.approveTitle, description: form.approveDescription, default: false },
            comment: { type: 'string', title: 'Comment', description: 'Recorded in the journal with your decision' },
          },
          required: ['approve'],
        },
      },
      ELICITATION_WAIT_MS,
    );
    // The person behind the session when the transport knows it (HTTP token), else the client.
    const approver = ctx.actor ? `${ctx.actor} via ${ctx.client.name} (elicitation)` : `${ctx.client.name} user (elicitation)`;
    if (result.action === 'accept') {
      const content = (result.content ?? {}) as { approve?: unknown; comment?: unknown };
      const comment = typeof content.comment === 'string' && content.comment.trim() ? content.comment.trim().slice(0, 2000) : undefined;
      return content.approve === true
        ? { approve: true, channel: 'elicitation', approver, comment }
        : { approve: false, channel: 'elicitation', approver, comment, reason: 'rejected' };
    }
    return { approve: false, channel: 'elicitation', approver, reason: result.action === 'decline' ? 'declined' : 'cancelled' };
  } catch (err) {
    ctx.log.warn(`Elicitation for ${what} got no answer (${(err as Error).message}); it stays pending for \`deploy-mcp approve\`.`);
    return null;
  }
}
