/**
 * Stakeholder notifications (notify-stakeholders): an SNS Publish and/or a JSON POST to a
 * webhook. Each channel is attempted independently and its outcome recorded; a webhook URL is
 * only ever shown as its origin, since its path is usually the credential.
 */
import type { AwsClients } from '../aws/clients.js';
import { redactText } from '../journal/redact.js';

export interface Delivery {
  channel: 'sns' | 'webhook';
  target: string;
  delivered: boolean;
  messageId?: string;
  status?: number;
  error?: string;
  durationMs: number;
}

export interface Notification {
  subject: string;
  message: string;
  /** Extra fields for the webhook body. */
  context: Record<string, unknown>;
}

/** `https://hooks.example.com/…`: enough to know where it went, nothing that grants access. */
export function describeWebhook(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname && u.pathname !== '/' ? '/…' : '/'}`;
  } catch {
    return 'webhook (unparsable URL)';
  }
}

export async function publishSns(clients: AwsClients, topicArn: string, n: Notification): Promise<Delivery> {
  const started = Date.now();
  const sns = await import('@aws-sdk/client-sns');
  try {
    const out = await (await clients.sns()).send(
      new sns.PublishCommand({
        TopicArn: topicArn,
        // SNS subjects: ASCII, no line breaks, at most 100 characters.
        Subject: n.subject.replace(/[^\x20-\x7E]/g, ' ').slice(0, 100),
        Message: n.message,
      }),
    );
    return { channel: 'sns', target: topicArn, delivered: true, messageId: out.MessageId, durationMs: Date.now() - started };
  } catch (err) {
    return { channel: 'sns', target: topicArn, delivered: false, error: clients.problem(err, { action: 'sns:Publish', resource: topicArn }).message, durationMs: Date.now() - started };
  }
}

export async function postWebhook(url: string, n: Notification, timeoutMs = 10_000, signal?: AbortSignal): Promise<Delivery> {
  const started = Date.now();
  const target = describeWebhook(url);
  try {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': 'deploy-mcp' },
      // `text` is what Slack/Teams/Mattermost incoming webhooks display.
      body: JSON.stringify({ text: `${n.subject}\n${n.message}`, subject: n.subject, message: n.message, ...n.context }),
      redirect: 'error',
      signal: signal ? AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]) : AbortSignal.timeout(timeoutMs),
    });
    const body = (await res.text().catch(() => '')).slice(0, 200);
    if (res.ok) return { channel: 'webhook', target, delivered: true, status: res.status, durationMs: Date.now() - started };
    return { channel: 'webhook', target, delivered: false, status: res.status, error: redactText(`HTTP ${res.status}${body ? `: ${body.replace(/\s+/g, ' ')}` : ''}`), durationMs: Date.now() - started };
  } catch (err) {
    const e = err as { name?: string; cause?: { code?: string; message?: string }; message?: string };
    const why = e.name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : (e.cause?.code ?? e.cause?.message ?? e.message ?? String(err));
    return { channel: 'webhook', target, delivered: false, error: redactText(`could not reach ${target}: ${why}`), durationMs: Date.now() - started };
  }
}
