/**
 * End to end against the built binary, as an MCP client runs it: stdio, the terminal approval
 * channel under a real pseudo-terminal, two servers on one task, tampering, broken config.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { ElicitRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterEach, describe, expect, it } from 'vitest';
import { BASE_CONFIG, eventsFile, readEvents, tempProject } from './helpers/mcp.js';
import { underTty } from './helpers/tty.js';

const CLI = path.resolve(__dirname, '../dist/src/cli.js');
const clients: Client[] = [];
afterEach(async () => {
  while (clients.length) await clients.pop()!.close().catch(() => undefined);
});

async function connect(root: string, opts: { elicit?: boolean; answer?: { approve: boolean; comment?: string } } = {}) {
  expect(fs.existsSync(CLI), 'run `npm run build` first (npm test does)').toBe(true);
  const transport = new StdioClientTransport({ command: process.execPath, args: [CLI, '--project', root], stderr: 'pipe', env: { ...process.env, DEPLOY_MCP_LOG_LEVEL: 'error' } as Record<string, string> });
  const client = new Client({ name: 'e2e-client', version: '1.0.0' }, { capabilities: opts.elicit ? { elicitation: { form: {} } } : {} });
  if (opts.elicit) {
    client.setRequestHandler(ElicitRequestSchema, async () => ({ action: 'accept', content: opts.answer ?? { approve: true, comment: 'approved in e2e' } }));
  }
  await client.connect(transport);
  clients.push(client);
  const call = async (name: string, args: Record<string, unknown> = {}) => (await client.callTool({ name, arguments: args })) as any;
  return { client, call };
}

describe('stdio end to end', () => {
  it('walks a task from start-deployment through two approved transitions (elicitation)', async () => {
    const root = tempProject();
    const { client, call } = await connect(root, { elicit: true });
    const tools = await client.listTools();
    expect(tools.tools.length).toBeGreaterThanOrEqual(5);
    const started = await call('start-deployment', { title: 'Ingestion pipeline v2', environment: 'staging', component: 'ingest' });
    expect(started.structuredContent).toMatchObject({ taskId: 1, phase: { number: 1, id: 'analysis' } });
    expect(started.structuredContent.branch).toMatch(/^deploy\/staging-\d{4}-\d{2}-\d{2}-ingest$/);
    await call('write-journal', { activity: 'Inventory', content: 'Listed the account by hand; nothing deployed yet.', nextAction: 'Ask for phase 2' });
    const t1 = await call('request-transition', { summary: 'Greenfield; plan discussed with the team.', override: { reason: 'Phase 1 tools are not installed in this build.' } });
    expect(t1.structuredContent.status).toBe('advanced');
    const t2 = await call('request-transition', { summary: 'Preparation done by hand for this dry run.', override: { reason: 'Phase 2 tools are not installed in this build.' } });
    expect(t2.structuredContent).toMatchObject({ status: 'advanced', to: { number: 3 } });
    const status = await call('deployment-status', {});
    expect(status.structuredContent.phase).toMatchObject({ number: 3, id: 'infrastructure' });
    expect(status.structuredContent.timeline.map((t: any) => t.phase.number)).toEqual([1, 2, 3]);
    await client.close();
    const journal = fs.readFileSync(path.join(root, '.deploy-mcp', 'tasks', '1', 'journal.md'), 'utf8');
    expect(journal).toContain('# Task #1: Ingestion pipeline v2');
    expect(journal).toContain('## Current Phase: Phase 3 - Infrastructure Deployment');
    expect(journal).toMatch(/### \d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ — Inventory/);
    expect(journal).toContain('Approved by e2e-client user (elicitation)');
    const cli = spawnSync(process.execPath, [CLI, 'verify', '1', '--project', root], { encoding: 'utf8' });
    expect(cli.status).toBe(0);
    expect(cli.stdout).toMatch(/task 1: OK/);
  });

  it('keeps stdout for the protocol: the start-up line goes to stderr', async () => {
    const root = tempProject();
    const child = spawn(process.execPath, [CLI, '--project', root], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    await new Promise((r) => setTimeout(r, 800));
    child.stdin.end();
    await new Promise((r) => child.on('close', r));
    expect(out).toBe('');
    expect(err).toMatch(/deploy-mcp .* serving MCP on stdio/);
    expect(err).toContain('claude mcp add deploy-mcp');
  });

  it('terminal channel: approve under a real TTY advances; without a TTY it refuses', async () => {
    const root = tempProject();
    const { call } = await connect(root);
    await call('start-deployment', { title: 'Terminal approval', environment: 'staging', component: 'tty' });
    const req = await call('request-transition', { summary: 'Dry run of the terminal channel.', override: { reason: 'Evidence tools are not part of this test.' } });
    expect(req.structuredContent.status).toBe('pending');

    const noTty = spawnSync(process.execPath, [CLI, 'approve', '1', '--project', root], { input: 'approve preparation\n', encoding: 'utf8' });
    expect(noTty.status).toBe(2);
    expect(noTty.stderr).toMatch(/interactive terminal/);

    const wrong = await underTty(root, 'approve 1', 'yes please\n');
    expect(wrong.output).toContain('still pending');
    expect(readEvents(root, 1).some((e) => e.type === 'phase.advanced')).toBe(false);

    const ok = await underTty(root, 'approve 1', 'approve preparation\nchecked the override\n');
    expect(ok.output, ok.output).toContain('moved to phase 2');
    expect(ok.code).toBe(0);
    const approved = readEvents(root, 1).find((e) => e.type === 'transition.approved');
    expect(approved.data).toMatchObject({ channel: 'terminal', comment: 'checked the override' });
    expect(approved.data.approver).toMatch(/.+@.+/);

    const poll = await call('request-transition', { summary: 'Checking the decision.', requestId: req.structuredContent.requestId });
    expect(poll.structuredContent).toMatchObject({ status: 'advanced', approval: { channel: 'terminal' } });
    const status = spawnSync(process.execPath, [CLI, 'status', '1', '--project', root], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
    expect(status.stdout).toMatch(/✔ 1 Pre-Deployment Analysis .* approved by .*\(terminal\) OVERRIDE/);
    expect(status.stdout).toMatch(/▶ 2 Environment Preparation/);
    expect(status.stdout).toContain('Exit criteria — phase 2 (Environment Preparation)');
  }, 60_000);

  it('terminal reject records the reason', async () => {
    const root = tempProject();
    const { call } = await connect(root);
    await call('start-deployment', { title: 'Terminal reject', environment: 'staging', component: 'tty' });
    await call('request-transition', { summary: 'Dry run of the terminal channel.', override: { reason: 'Evidence tools are not part of this test.' } });
    const r = await underTty(root, 'reject 1', 'reject preparation\nplan is missing the rollback owner\n');
    expect(r.code, r.output).toBe(0);
    expect(readEvents(root, 1).find((e) => e.type === 'transition.rejected').data).toMatchObject({ channel: 'terminal', comment: 'plan is missing the rollback owner' });
  }, 60_000);

  it('two server processes writing to one task keep one unbroken chain', async () => {
    const root = tempProject();
    const a = await connect(root);
    const b = await connect(root);
    await a.call('start-deployment', { title: 'Two writers', environment: 'staging', component: 'two' });
    await Promise.all(
      [a, b].flatMap((s, k) => Array.from({ length: 40 }, (_, i) => s.call('write-journal', { taskId: 1, activity: `writer ${k} entry ${i}`, content: 'x' }))),
    );
    const entries = readEvents(root, 1).filter((e) => e.type === 'journal.entry');
    expect(entries.length).toBe(80);
    const cli = spawnSync(process.execPath, [CLI, 'verify', '1', '--project', root], { encoding: 'utf8' });
    expect(cli.status, cli.stdout + cli.stderr).toBe(0);
    for (const k of [0, 1]) {
      expect(entries.filter((e) => e.data.activity.startsWith(`writer ${k} `)).length).toBe(40);
    }
  }, 60_000);

  it('a tampered log is named by verify and every task tool is refused', async () => {
    const root = tempProject();
    const { call } = await connect(root);
    await call('start-deployment', { title: 'Tamper', environment: 'staging', component: 'tamper' });
    for (let i = 0; i < 3; i++) await call('write-journal', { activity: `entry ${i}`, content: 'original text' });
    const file = eventsFile(root, 1);
    const lines = fs.readFileSync(file, 'utf8').split('\n');
    lines[2] = lines[2].replace('original text', 'rewritten txt');
    fs.writeFileSync(file, lines.join('\n'));
    const verify = spawnSync(process.execPath, [CLI, 'verify', '1', '--project', root], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
    expect(verify.status).toBe(3);
    expect(verify.stdout).toMatch(/task 1: BROKEN at line 3/);
    const attempts: [string, Record<string, unknown>][] = [
      ['write-journal', { taskId: 1, activity: 'a', content: 'b' }],
      ['request-transition', { taskId: 1, summary: 'trying after the tamper' }],
      ['deployment-status', { taskId: 1 }],
      ['write-journal', { activity: 'no task id', content: 'fails closed even without a taskId' }],
    ];
    for (const [tool, args] of attempts) {
      const r = await call(tool, args);
      expect(r.structuredContent, tool).toMatchObject({ refused: true, reason: 'journal-broken' });
    }
    const repair = spawnSync(process.execPath, [CLI, 'verify', '1', '--repair', '--yes', '--project', root], { encoding: 'utf8' });
    expect(repair.status, repair.stdout).toBe(0);
    const after = await call('write-journal', { taskId: 1, activity: 'after repair', content: 'the log verifies again' });
    expect(after.isError).toBeFalsy();
  }, 60_000);

  it('a broken config is reported with the field, by the server and the CLI', async () => {
    const root = tempProject({ ...BASE_CONFIG, environments: { staging: { accountId: '12345', region: 'us-east-1' } } });
    const { call } = await connect(root);
    const r = await call('list-tasks');
    expect(r.isError).toBe(true);
    expect(r.structuredContent.error).toBe('config-invalid');
    expect(r.structuredContent.message).toContain('environments.staging.accountId');
    const cli = spawnSync(process.execPath, [CLI, 'status', '--project', root], { encoding: 'utf8' });
    expect(cli.status).toBe(78);
    expect(cli.stderr).toContain('environments.staging.accountId');
  }, 30_000);

  it('init writes a starter that loads; schema prints JSON Schema', async () => {
    const root = tempProject(null);
    const init = spawnSync(process.execPath, [CLI, 'init', '--project', root], { encoding: 'utf8' });
    expect(init.status, init.stderr).toBe(0);
    expect(fs.readFileSync(path.join(root, 'deploy-mcp.config.json'), 'utf8')).toContain('//');
    const again = spawnSync(process.execPath, [CLI, 'init', '--project', root], { encoding: 'utf8' });
    expect(again.status).toBe(1);
    const status = spawnSync(process.execPath, [CLI, 'status', '--project', root], { encoding: 'utf8' });
    expect(status.status, status.stderr).toBe(0);
    const schema = spawnSync(process.execPath, [CLI, 'schema'], { encoding: 'utf8' });
    expect(JSON.parse(schema.stdout).properties.environments).toBeTruthy();
    const help = spawnSync(process.execPath, [CLI, '--help'], { encoding: 'utf8' });
    expect(help.stdout).toContain('deploy-mcp approve [id]');
  });
});
