/**
 * The Streamable HTTP transport: bearer tokens (each naming a person, recorded as the actor of
 * their events), Host/Origin checks against DNS rebinding, sessions bound to their token, the
 * guard exactly as over stdio, approvals still only from elicitation or the terminal — and the
 * same team set-up on the S3 store.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ElicitRequestSchema, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ALL_TOOLS } from '../tools/index.js';
import { Logger } from '../src/log.js';
import { S3TaskStore } from '../src/state/s3-store.js';
import { isLoopback, parseListenAddress, parseTokenList, startHttpServer, tokenMatcher, type RunningHttpServer } from '../src/transports/http.js';
import { allowedPhaseNumbers } from '../src/workflow/guard.js';
import { awsTestEnv, createBucket, motoEndpoint, uniqueName } from './helpers/aws-fixtures.js';
import { BASE_CONFIG, forcePhase, readEvents, tempProject } from './helpers/mcp.js';
import { sampleFor } from './helpers/sample-input.js';

const CLI = path.resolve(__dirname, '../dist/src/cli.js');
const ALICE = randomBytes(32).toString('hex');
const BOB = randomBytes(32).toString('hex');
const TOKENS = [
  { name: 'alice', token: ALICE },
  { name: 'bob', token: BOB },
];

type Result = CallToolResult & { structuredContent?: any };
const clients: Client[] = [];
afterEach(async () => {
  while (clients.length) await clients.pop()!.close().catch(() => undefined);
});

async function startServer(root: string, extra: Partial<Parameters<typeof startHttpServer>[0]> = {}): Promise<RunningHttpServer> {
  return startHttpServer({
    projectRoot: root,
    host: '127.0.0.1',
    port: 0,
    tokens: TOKENS,
    journalDelayMs: 0,
    log: new Logger('error'),
    sessionLog: () => new Logger('error'),
    onSession: (srv) => {
      if (srv.deployments) srv.deployments.awsOptions = { endpoint: motoEndpoint(), env: awsTestEnv(motoEndpoint()), maxAttempts: 2 };
    },
    ...extra,
  });
}

async function connect(url: string, token: string, opts: { name?: string; elicit?: (message: string) => { approve: boolean } } = {}) {
  const transport = new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers: { Authorization: `Bearer ${token}` } } });
  const client = new Client({ name: opts.name ?? 'http-client', version: '1.0.0' }, { capabilities: opts.elicit ? { elicitation: { form: {} } } : {} });
  if (opts.elicit) {
    const answer = opts.elicit;
    client.setRequestHandler(ElicitRequestSchema, async (req) => ({ action: 'accept', content: answer(req.params.message) }));
  }
  await client.connect(transport);
  clients.push(client);
  const call = async (name: string, args: Record<string, unknown> = {}) => (await client.callTool({ name, arguments: args })) as Result;
  return { client, call, transport };
}

const initialize = (id = 1) =>
  JSON.stringify({ jsonrpc: '2.0', id, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } });

async function post(url: string, headers: Record<string, string>, body = initialize()) {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers }, body });
  const text = await res.text();
  return { status: res.status, headers: res.headers, text, json: (() => { try { return JSON.parse(text); } catch { return null; } })() };
}

describe('HTTP transport: who may talk to the server', () => {
  let running: RunningHttpServer;
  beforeAll(async () => {
    running = await startServer(tempProject());
  });
  afterAll(async () => running?.close());

  it('refuses a request without a token with 401 and says what is needed', async () => {
    const r = await post(running.url, {});
    expect(r.status).toBe(401);
    expect(r.headers.get('www-authenticate')).toBe('Bearer realm="deploy-mcp"');
    expect(r.json).toMatchObject({ error: 'unauthorized' });
    expect(r.json.message).toMatch(/Authorization: Bearer <token>/);
  });

  it('refuses a wrong token with 401, naming no token', async () => {
    for (const token of [`${ALICE.slice(0, -1)}0`, 'short', ALICE.toUpperCase()]) {
      const r = await post(running.url, { authorization: `Bearer ${token}` });
      expect(r.status).toBe(401);
      expect(r.json).toMatchObject({ error: 'invalid-token' });
      expect(r.headers.get('www-authenticate')).toContain('error="invalid_token"');
      expect(r.text).not.toContain(ALICE);
      expect(r.text).not.toContain(token);
    }
    const basic = await post(running.url, { authorization: `Basic ${Buffer.from(`alice:${ALICE}`).toString('base64')}` });
    expect(basic.status).toBe(401);
  });

  it('refuses cross-origin and rebinding requests with 403, even with a valid token', async () => {
    const auth = { authorization: `Bearer ${ALICE}` };
    const evilOrigin = await post(running.url, { ...auth, origin: 'http://evil.example.com' });
    expect(evilOrigin.status).toBe(403);
    expect(evilOrigin.json).toMatchObject({ error: 'forbidden-origin' });
    const nullOrigin = await post(running.url, { ...auth, origin: 'null' });
    expect(nullOrigin.status).toBe(403);
    // fetch() sets Host itself; a raw request shows what a rebinding page sends.
    const rebound = await rawRequest(running.port, { host: `evil.example.com:${running.port}`, ...auth });
    expect(rebound.status).toBe(403);
    expect(JSON.parse(rebound.body)).toMatchObject({ error: 'forbidden-host' });
    // Host and Origin checks come first: the server's name is not revealed to a page without a token either.
    const anonymousRebind = await rawRequest(running.port, { host: 'evil.example.com' });
    expect(anonymousRebind.status).toBe(403);
    // Its own loopback names are fine, with or without a matching Origin.
    for (const host of [`localhost:${running.port}`, `127.0.0.1:${running.port}`]) {
      const ok = await rawRequest(running.port, { host, origin: `http://${host}`, ...auth });
      expect(ok.status, ok.body).toBe(200);
    }
  });

  it('binds a session to the token that opened it', async () => {
    const alice = await connect(running.url, ALICE);
    const sessionId = alice.transport.sessionId!;
    expect(sessionId).toBeTruthy();
    const ping = JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'ping' });
    const asBob = await post(running.url, { authorization: `Bearer ${BOB}`, 'mcp-session-id': sessionId, 'mcp-protocol-version': '2025-06-18' }, ping);
    expect(asBob.status).toBe(403);
    expect(asBob.json).toMatchObject({ error: 'forbidden-session' });
    const unknown = await post(running.url, { authorization: `Bearer ${BOB}`, 'mcp-session-id': 'no-such-session' }, ping);
    expect(unknown.status).toBe(404);
    const noSession = await post(running.url, { authorization: `Bearer ${BOB}` }, ping);
    expect(noSession.status).toBe(400);
    expect((await alice.client.ping())).toEqual({});
  });

  it('checks addresses, token lists and tokens in constant time without leaking them', () => {
    expect(isLoopback('127.0.0.1') && isLoopback('::1') && isLoopback('localhost') && isLoopback('127.8.9.10')).toBe(true);
    expect(isLoopback('0.0.0.0') || isLoopback('10.0.0.1') || isLoopback('example.com')).toBe(false);
    expect(parseListenAddress('127.0.0.1:8787')).toEqual({ host: '127.0.0.1', port: 8787 });
    expect(parseListenAddress('[::1]:9000')).toEqual({ host: '::1', port: 9000 });
    expect(parseListenAddress('8787')).toEqual({ host: '127.0.0.1', port: 8787 });
    expect(() => parseListenAddress('127.0.0.1:99999')).toThrow(/host:port/);
    expect(parseTokenList(`alice:${ALICE}, bob:${BOB}`)).toEqual(TOKENS);
    const bad = (() => {
      try {
        parseTokenList(`alice:${ALICE},${BOB}`);
      } catch (err) {
        return (err as Error).message;
      }
      return '';
    })();
    expect(bad).toMatch(/entry 2 is not name:token/);
    expect(bad).not.toContain(BOB);
    const who = tokenMatcher(TOKENS);
    expect(who(ALICE)).toBe('alice');
    expect(who(BOB)).toBe('bob');
    expect(who(ALICE + 'x')).toBeNull();
  });
});

function rawRequest(port: number, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  return import('node:http').then(
    (http) =>
      new Promise((resolve, reject) => {
        const req = http.request(
          { host: '127.0.0.1', port, method: 'POST', path: '/mcp', headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers } },
          (res) => {
            let body = '';
            res.on('data', (d) => (body += d));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
          },
        );
        req.on('error', reject);
        req.end(initialize());
      }),
  );
}

describe('HTTP transport: a team on one server', () => {
  let running: RunningHttpServer;
  let root: string;
  beforeAll(async () => {
    root = tempProject();
    running = await startServer(root);
  });
  afterAll(async () => running?.close());

  it('two authenticated clients see each other\'s events, each recorded under its person', async () => {
    const alice = await connect(running.url, ALICE, { name: 'claude-code' });
    const bob = await connect(running.url, BOB, { name: 'cursor' });
    const started = await alice.call('start-deployment', { title: 'Shared task', environment: 'staging', component: 'team' });
    expect(started.isError, JSON.stringify(started.content)).toBeFalsy();
    const taskId = started.structuredContent.taskId;
    const listed = await bob.call('list-tasks', {});
    expect(listed.structuredContent.tasks).toEqual([expect.objectContaining({ taskId, title: 'Shared task' })]);
    await bob.call('write-journal', { taskId, activity: 'Reviewed the plan', content: 'Bob looked at it.' });
    await alice.call('write-journal', { taskId, activity: 'Inventory', content: 'Alice listed the account.' });
    const plan = await bob.call('record-plan', { ...(sampleFor(ALL_TOOLS.find((t) => t.name === 'record-plan')!.input) as Record<string, unknown>), taskId });
    expect(plan.isError, JSON.stringify(plan.content)).toBeFalsy();
    const status = await alice.call('deployment-status', { taskId });
    expect(status.isError).toBeFalsy();
    const events = await alice.client.readResource({ uri: `deploy://tasks/${taskId}/events` });
    const text = (events.contents[0] as { text: string }).text;
    expect(text).toContain('Reviewed the plan');
    expect(text).toContain('Alice listed the account.');

    const log = readEvents(root, taskId);
    // The task records the person behind the token who started it, not just the client.
    expect(log[0]).toMatchObject({ type: 'task.started' });
    expect(log[0].data.actor).toMatch(/^alice via /);
    const journal = log.filter((e) => e.type === 'journal.entry');
    expect(journal.map((e) => [e.data.activity, e.data.actor])).toEqual([
      ['Reviewed the plan', 'bob'],
      ['Inventory', 'alice'],
    ]);
    const succeeded = log.filter((e) => e.type === 'tool.succeeded');
    expect(succeeded.length).toBeGreaterThan(0);
    expect(succeeded.find((e) => e.data.tool === 'record-plan')?.data.actor).toBe('bob');
    for (const e of succeeded) expect(['alice', 'bob']).toContain(e.data.actor);
    const refused = await bob.call('verify-infrastructure', { taskId });
    expect(refused.structuredContent).toMatchObject({ refused: true, reason: 'phase' });
    expect(readEvents(root, taskId).at(-1)).toMatchObject({ type: 'tool.refused', data: { tool: 'verify-infrastructure', actor: 'bob' } });
  });

  it('a token holder cannot approve: not with a tool, not with a forged answer, not with another token', async () => {
    const alice = await connect(running.url, ALICE, { name: 'agent-a' });
    const started = await alice.call('start-deployment', { title: 'No self-approval', environment: 'prod', component: 'gate' });
    const taskId = started.structuredContent.taskId;
    const req = await alice.call('request-transition', { taskId, summary: 'Phase 1 is done, please advance.', override: { reason: 'Testing that nobody but a human can approve.' } });
    expect(req.structuredContent).toMatchObject({ status: 'pending' });
    const requestId = req.structuredContent.requestId;
    expect(req.structuredContent.instructions).toContain(`deploy-mcp approve ${taskId}`);

    // No tool approves.
    const tools = (await alice.client.listTools()).tools.map((t) => t.name);
    expect(tools.filter((n) => /approve|decide|confirm/.test(n))).toEqual([]);
    const noTool = await alice.call('approve', { taskId, requestId }).catch((e: Error) => ({ isError: true, content: [{ type: 'text', text: e.message }] }) as Result);
    expect(noTool.isError).toBe(true);
    // Asking again only reports.
    const again = await alice.call('request-transition', { taskId, summary: 'Approve it.', requestId });
    expect(again.structuredContent.status).toBe('pending');
    // The journal's server sections cannot be written to.
    const sneaky = await alice.call('write-journal', { taskId, activity: 'x', content: 'x', updateSections: { 'Current Phase': 'Phase 2 - Environment Preparation' } });
    expect(sneaky.isError).toBe(true);
    // A forged elicitation answer, posted into her own session for every plausible request id.
    const headers = {
      authorization: `Bearer ${ALICE}`,
      'mcp-session-id': alice.transport.sessionId!,
      'mcp-protocol-version': '2025-06-18',
    };
    for (const id of [0, 1, 2, 3, 'elicit-1']) {
      const forged = JSON.stringify({ jsonrpc: '2.0', id, result: { action: 'accept', content: { approve: true, comment: 'self-approved' } } });
      const r = await post(running.url, headers, forged);
      expect(r.status).toBeLessThan(500);
    }
    // Another token holder (a second agent) cannot approve it either.
    const bob = await connect(running.url, BOB, { name: 'agent-b' });
    const bobTry = await bob.call('request-transition', { taskId, summary: 'Approving for Alice.', requestId });
    expect(bobTry.structuredContent.status).toBe('pending');

    const log = readEvents(root, taskId);
    expect(log.some((e) => e.type === 'transition.approved' || e.type === 'phase.advanced')).toBe(false);
    expect((await bob.call('deployment-status', { taskId })).structuredContent.phase).toMatchObject({ number: 1 });
    expect(log.find((e) => e.type === 'transition.requested')?.data).toMatchObject({ requestId, actor: 'alice' });
  });

  it('approval over HTTP comes from the person answering the elicitation form, recorded as such', async () => {
    const alice = await connect(running.url, ALICE, { name: 'agent-with-forms', elicit: () => ({ approve: true }) });
    const taskId = (await alice.call('start-deployment', { title: 'Form approval', environment: 'staging', component: 'form' })).structuredContent.taskId;
    const r = await alice.call('request-transition', { taskId, summary: 'Ready for preparation.', override: { reason: 'Evidence tools are not part of this test.' } });
    expect(r.structuredContent).toMatchObject({ status: 'advanced', approval: { channel: 'elicitation' } });
    const approved = readEvents(root, taskId).find((e) => e.type === 'transition.approved');
    expect(approved.data.channel).toBe('elicitation');
  });
});

describe('HTTP transport: the guard exactly as over stdio', () => {
  let running: RunningHttpServer;
  let root: string;
  let stdio: Client;
  const taskInPhase = new Map<number, number>();
  beforeAll(async () => {
    expect(fs.existsSync(CLI), 'run `npm run build` first (npm test does)').toBe(true);
    root = tempProject();
    running = await startServer(root);
    const alice = await connect(running.url, ALICE);
    for (const phase of [1, 4]) {
      const r = await alice.call('start-deployment', { title: `Phase ${phase}`, environment: 'staging', component: `guard-${phase}` });
      const taskId = r.structuredContent.taskId;
      await forcePhase({ store: running.state.store, deployments: running.state.deployments } as never, taskId, phase);
      taskInPhase.set(phase, taskId);
    }
    // The real binary over stdio, on the same project, as a second server.
    const transport = new StdioClientTransport({ command: process.execPath, args: [CLI, '--project', root], stderr: 'pipe', env: { ...process.env, DEPLOY_MCP_LOG_LEVEL: 'error' } as Record<string, string> });
    stdio = new Client({ name: 'http-client', version: '1.0.0' }, { capabilities: {} });
    await stdio.connect(transport);
  }, 60_000);
  afterAll(async () => {
    await stdio?.close().catch(() => undefined);
    await running?.close();
  });

  for (const phase of [1, 4]) {
    it(`every tool outside its phases is refused identically over HTTP and stdio (task in phase ${phase})`, async () => {
      const http = await connect(running.url, BOB);
      const taskId = taskInPhase.get(phase)!;
      let compared = 0;
      for (const tool of ALL_TOOLS) {
        if (tool.taskless || allowedPhaseNumbers(tool.phases).includes(phase)) continue;
        const args = { ...(sampleFor(tool.input) as Record<string, unknown>), taskId };
        const overHttp = (await http.client.callTool({ name: tool.name, arguments: args })) as Result;
        const overStdio = (await stdio.callTool({ name: tool.name, arguments: args })) as Result;
        expect(overHttp.isError).toBe(true);
        expect(overHttp.structuredContent).toMatchObject({ refused: true, reason: 'phase', tool: tool.name, taskId, currentPhase: { number: phase } });
        expect(overHttp.structuredContent, tool.name).toEqual(overStdio.structuredContent);
        expect(overHttp.content).toEqual(overStdio.content);
        compared++;
      }
      expect(compared).toBeGreaterThan(3);
      const refusals = readEvents(root, taskId).filter((e) => e.type === 'tool.refused');
      expect(refusals.length).toBe(compared * 2);
      // The same refusal, audited twice: once under Bob's name, once with no token at all.
      expect(refusals.filter((e) => e.data.actor === 'bob').length).toBe(compared);
      expect(refusals.filter((e) => e.data.actor === undefined).length).toBe(compared);
    });
  }

  it('no task, and a tool in its phase, behave the same on both', async () => {
    const http = await connect(running.url, BOB);
    const none = { taskId: 999 };
    const a = (await http.client.callTool({ name: 'verify-credentials', arguments: none })) as Result;
    const b = (await stdio.callTool({ name: 'verify-credentials', arguments: none })) as Result;
    expect(a.structuredContent).toMatchObject({ refused: true, reason: 'no-task' });
    expect(a.structuredContent).toEqual(b.structuredContent);
    const taskId = taskInPhase.get(1)!;
    const s1 = (await http.client.callTool({ name: 'deployment-status', arguments: { taskId } })) as Result;
    const s2 = (await stdio.callTool({ name: 'deployment-status', arguments: { taskId } })) as Result;
    expect(s1.isError).toBeFalsy();
    expect({ ...s1.structuredContent, journalPath: undefined }).toEqual({ ...s2.structuredContent, journalPath: undefined });
  });
});

describe('HTTP transport with the S3 task store (the team set-up)', () => {
  it('serves a task kept in S3 to two people, and verify reads the same chain', async () => {
    const bucket = uniqueName('team-state');
    await createBucket({ name: bucket });
    const root = tempProject({ ...BASE_CONFIG, state: { backend: 's3', bucket, prefix: 'deploys' } });
    const store = new S3TaskStore({ bucket, prefix: 'deploys', endpoint: motoEndpoint(), env: awsTestEnv(motoEndpoint()), warn: () => undefined });
    const running = await startServer(root, { store });
    try {
      expect(running.state.store?.backend).toBe('s3');
      const alice = await connect(running.url, ALICE);
      const bob = await connect(running.url, BOB);
      const started = await alice.call('start-deployment', { title: 'On S3', environment: 'staging', component: 's3' });
      expect(started.isError, JSON.stringify(started.content)).toBeFalsy();
      const taskId = started.structuredContent.taskId;
      expect(started.structuredContent.journalPath).toBe(`s3://${bucket}/deploys/tasks/${taskId}/journal.md`);
      await bob.call('write-journal', { taskId, activity: 'From Bob', content: 'Stored in S3.' });
      const reader = new S3TaskStore({ bucket, prefix: 'deploys', endpoint: motoEndpoint(), env: awsTestEnv(motoEndpoint()) });
      const events = (await reader.load(taskId)).events;
      expect(events.find((e) => e.type === 'journal.entry')?.data).toMatchObject({ activity: 'From Bob', actor: 'bob' });
      expect((await reader.verify(taskId)).ok).toBe(true);
      expect(await reader.readFile(taskId, 'journal.md')).toContain('From Bob');
    } finally {
      await running.close();
    }
  });
});

describe('deploy-mcp serve --http (the binary)', () => {
  let child: ChildProcess | null = null;
  afterEach(() => {
    child?.kill('SIGTERM');
    child = null;
  });

  function serve(args: string[], env: Record<string, string>) {
    child = spawn(process.execPath, [CLI, 'serve', ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env, NODE_NO_WARNINGS: '1' } });
    let err = '';
    child.stderr!.on('data', (d) => (err += d));
    const exited = new Promise<number | null>((resolve) => child!.on('close', (code) => resolve(code)));
    return { stderr: () => err, exited };
  }

  it('serves on a loopback port with tokens from DEPLOY_MCP_TOKENS and never prints a token', async () => {
    const root = tempProject();
    const s = serve(['--http', '127.0.0.1:0', '--project', root], { DEPLOY_MCP_TOKENS: `alice:${ALICE},bob:${BOB}` });
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no start-up line: ${s.stderr()}`)), 20_000);
      const check = setInterval(() => {
        const m = /at (http:\/\/127\.0\.0\.1:\d+\/mcp)/.exec(s.stderr());
        if (m) {
          clearInterval(check);
          clearTimeout(timer);
          resolve(m[1]);
        }
      }, 50);
    });
    expect(s.stderr()).toMatch(/2 token holders: alice, bob/);
    const { client } = await connect(url, BOB);
    expect((await client.listTools()).tools.length).toBe(ALL_TOOLS.length);
    expect((await post(url, {})).status).toBe(401);
    expect(s.stderr()).not.toContain(ALICE);
    expect(s.stderr()).not.toContain(BOB);
  });

  it('refuses a non-loopback address without --allow-remote, and refuses to run without tokens', async () => {
    const remote = serve(['--http', '0.0.0.0:0', '--project', tempProject()], { DEPLOY_MCP_TOKENS: `alice:${ALICE}` });
    expect(await remote.exited).toBe(2);
    expect(remote.stderr()).toMatch(/Refusing to listen on 0\.0\.0\.0.*--allow-remote/s);
    const none = serve(['--http', '127.0.0.1:0', '--project', tempProject()], { DEPLOY_MCP_TOKENS: '' });
    expect(await none.exited).toBe(2);
    expect(none.stderr()).toMatch(/No bearer tokens are configured/);
    const weak = serve(['--http', '127.0.0.1:0', '--project', tempProject()], { DEPLOY_MCP_TOKENS: 'alice:hunter2' });
    expect(await weak.exited).toBe(2);
    expect(weak.stderr()).toMatch(/token of "alice" is shorter than 32/);
    expect(weak.stderr()).not.toContain('hunter2');
  });
});
