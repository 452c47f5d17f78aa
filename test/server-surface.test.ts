/**
 * What a client sees besides tools: prompts, resources, logging; and the guard's remaining
 * refusals (pending-approval, locked) and redaction, through a real client.
 */
import fs from 'node:fs';
import path from 'node:path';
import { LoggingMessageNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterEach, describe, expect, it } from 'vitest';
import { lockOwner } from '../src/state/local-store.js';
import { readEvents, startHarness, type Harness } from './helpers/mcp.js';

const harnesses: Harness[] = [];
afterEach(async () => {
  while (harnesses.length) await harnesses.pop()!.close();
});

async function started() {
  const h = await startHarness();
  harnesses.push(h);
  const r = await h.call('start-deployment', { title: 'Surface check', environment: 'staging', component: 'surface' });
  return { h, taskId: r.structuredContent.taskId as number };
}

const PLAN = { components: ['a'], order: ['a'], infrastructureChanges: [], rollbackStrategy: 'Alias back to the previous version.', expectedDowntime: 'none' };

describe('prompts and resources', () => {
  it('serves the workflow overview, one prompt per phase and the rollback prompt, filled for the task', async () => {
    const { h, taskId } = await started();
    const { prompts } = await h.client.listPrompts();
    const names = prompts.map((p) => p.name);
    expect(names).toEqual(expect.arrayContaining(['workflow-overview', 'rollback', 'phase-1-analysis', 'phase-8-post-deployment']));
    expect(names.filter((n) => n.startsWith('phase-')).length).toBe(8);
    const got = await h.client.getPrompt({ name: 'phase-1-analysis', arguments: { taskId: String(taskId) } });
    const text = (got.messages[0].content as { text: string }).text;
    expect(text).toContain(`Task: ${taskId}`);
    expect(text).toContain('Environment: staging');
    expect(text).not.toContain('{{');
  });

  it('serves the workflow and each task journal and event log', async () => {
    const { h, taskId } = await started();
    await h.call('write-journal', { activity: 'Looked around', content: 'Nothing deployed yet.' });
    const workflow = await h.client.readResource({ uri: 'deploy://workflow' });
    expect((workflow.contents[0] as { text: string }).text).toContain('## Phase 3 - Infrastructure Deployment (`infrastructure`)');
    const listed = await h.client.listResources();
    expect(listed.resources.map((r) => r.uri)).toEqual(expect.arrayContaining([`deploy://tasks/${taskId}/journal`, `deploy://tasks/${taskId}/events`]));
    const journal = await h.client.readResource({ uri: `deploy://tasks/${taskId}/journal` });
    expect((journal.contents[0] as { text: string }).text).toContain('Looked around');
    const events = await h.client.readResource({ uri: `deploy://tasks/${taskId}/events` });
    const lines = (events.contents[0] as { text: string }).text.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines[0]).toMatchObject({ seq: 1, type: 'task.started' });
    await expect(h.client.readResource({ uri: 'deploy://tasks/..%2F..%2Fetc/journal' })).rejects.toThrow();
  });

  it('sends logs as MCP logging notifications, never on stdout', async () => {
    const { h } = await started();
    const messages: string[] = [];
    h.client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => {
      messages.push(String(n.params.data));
    });
    await h.client.setLoggingLevel('info');
    await h.call('record-plan', { ...PLAN, order: ['b'] }).catch(() => undefined);
    await h.call('verify-resource', { type: 's3-bucket', name: 'x' });
    await new Promise((r) => setTimeout(r, 50));
    expect(messages.some((m) => m.includes('refused verify-resource (phase)'))).toBe(true);
  });
});

describe('guard refusals through the client', () => {
  it('pending-approval: mutating tools wait while the human decides; reads and journaling do not', async () => {
    const { h, taskId } = await started();
    const req = await h.call('request-transition', { summary: 'Asking early on purpose.', override: { reason: 'Testing the freeze while pending.' } });
    expect(req.structuredContent.status).toBe('pending');
    const frozen = await h.call('record-plan', PLAN);
    expect(frozen.structuredContent).toMatchObject({ refused: true, reason: 'pending-approval', tool: 'record-plan', taskId });
    expect(frozen.structuredContent.nextStep).toContain(`npx deploy-mcp approve ${taskId}`);
    expect((await h.call('write-journal', { activity: 'waiting', content: 'for the human' })).isError).toBeFalsy();
    expect((await h.call('deployment-status')).isError).toBeFalsy();
  });

  it('locked: a mutating tool is refused while another process runs one on the task, and says who', async () => {
    const { h, taskId } = await started();
    const other = { ...lockOwner('deploy-lambda', 'another-server'), pid: process.ppid || 1 };
    const release = await h.srv.store!.acquireLock(taskId, other);
    try {
      const r = await h.call('record-plan', PLAN);
      expect(r.structuredContent).toMatchObject({ refused: true, reason: 'locked', tool: 'record-plan' });
      expect(r.structuredContent.message).toContain('deploy-lambda');
    } finally {
      await release();
    }
    expect((await h.call('record-plan', PLAN)).isError).toBeFalsy();
  });
});

describe('redaction', () => {
  const SECRET_ID = 'AKIA' + 'Q3EGRB5LWZ7XJ4PK';
  const SECRET_KEY = 'kQ9xV2mB7nR4tY8uW1zA3cE5gH6jL0pS+dF/oI2q';

  it('keeps secrets out of the event log, the journal and the tool result', async () => {
    const { h, taskId } = await started();
    const r = await h.call('write-journal', {
      activity: `Rotated key ${SECRET_ID}`,
      content: `aws_secret_access_key = ${SECRET_KEY}\npassword=Sup3rS3cretPassw0rd!\nThe placeholder AKIAIOSFODNN7EXAMPLE is fine.`,
    });
    expect(r.isError).toBeFalsy();
    await h.srv.deployments!.flushJournal(taskId);
    const dir = path.join(h.root, '.deploy-mcp', 'tasks', String(taskId));
    const everything = [JSON.stringify(r), fs.readFileSync(path.join(dir, 'events.jsonl'), 'utf8'), fs.readFileSync(path.join(dir, 'journal.md'), 'utf8')].join('\n');
    for (const secret of [SECRET_ID, SECRET_KEY, 'Sup3rS3cretPassw0rd!']) expect(everything).not.toContain(secret);
    expect(everything).toContain('[REDACTED:aws-access-key-id]');
    expect(everything).toContain('AKIAIOSFODNN7EXAMPLE');
    expect(readEvents(h.root, taskId).at(-1).data.content).toContain('[REDACTED:aws-secret-access-key]');
  });

  it('redacts secrets echoed back in refusals and errors', async () => {
    const { h, taskId } = await started();
    const r = await h.call('verify-resource', { type: 's3-bucket', name: `bucket-${SECRET_ID}` });
    expect(r.structuredContent.refused).toBe(true);
    expect(JSON.stringify(r)).not.toContain(SECRET_ID);
    expect(JSON.stringify(readEvents(h.root, taskId))).not.toContain(SECRET_ID);
  });
});
