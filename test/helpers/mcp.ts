/**
 * Test harness: a real deploy-mcp server and a real SDK Client over the SDK's in-memory transport,
 * in a throwaway project directory.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { ElicitRequestSchema, type CallToolResult, type ElicitResult } from '@modelcontextprotocol/sdk/types.js';
import { createServer, type DeployServer, type ServerOptions } from '../../src/server.js';
import { Logger } from '../../src/log.js';
import { awsTestEnv, motoEndpoint } from './aws-fixtures.js';

export const BASE_CONFIG = {
  project: 'demo',
  environments: {
    staging: { accountId: '123456789012', region: 'us-east-1' },
    prod: { accountId: '123456789012', region: 'us-east-1' },
  },
  checks: { test: 'node -e 0', integration: 'node -e 0' },
};

export function tempProject(config: unknown = BASE_CONFIG): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'deploy-mcp-test-'));
  if (config !== null) {
    fs.writeFileSync(path.join(root, 'deploy-mcp.config.json'), typeof config === 'string' ? config : JSON.stringify(config, null, 2));
  }
  return root;
}

export type ElicitHandler = (message: string) => ElicitResult | Promise<ElicitResult>;

export interface Harness {
  root: string;
  client: Client;
  srv: DeployServer;
  call(name: string, args?: Record<string, unknown>): Promise<CallToolResult & { structuredContent?: any }>;
  close(): Promise<void>;
  elicitations: string[];
}

export async function startHarness(
  opts: { root?: string; config?: unknown; elicit?: ElicitHandler; clientName?: string; awsEndpoint?: string; awsMaxAttempts?: number } & Partial<ServerOptions> = {},
): Promise<Harness> {
  const root = opts.root ?? tempProject(opts.config === undefined ? BASE_CONFIG : opts.config);
  const srv = await createServer({ journalDelayMs: 0, log: new Logger('error'), ...opts, projectRoot: root });
  // AWS goes to the moto server of the global setup (or to `awsEndpoint`, e.g. a fault proxy).
  if (srv.deployments) {
    const endpoint = opts.awsEndpoint ?? motoEndpoint();
    srv.deployments.awsOptions = { endpoint, env: awsTestEnv(endpoint), maxAttempts: opts.awsMaxAttempts ?? 2 };
  }
  const client = new Client(
    { name: opts.clientName ?? 'test-client', version: '1.0.0' },
    { capabilities: opts.elicit ? { elicitation: { form: {} } } : {} },
  );
  const elicitations: string[] = [];
  if (opts.elicit) {
    const handler = opts.elicit;
    client.setRequestHandler(ElicitRequestSchema, async (req) => {
      elicitations.push(req.params.message);
      return handler(req.params.message);
    });
  }
  const [clientTransport, serverTransport] = InMemoryTransport.createLinkedPair();
  await Promise.all([srv.server.connect(serverTransport), client.connect(clientTransport)]);
  return {
    root,
    client,
    srv,
    elicitations,
    call: async (name, args = {}) => (await client.callTool({ name, arguments: args })) as CallToolResult & { structuredContent?: any },
    close: async () => {
      await client.close().catch(() => undefined);
      await srv.cleanup();
    },
  };
}

/** Writes the events of an approved transition straight into the log (test fixture, not a tool). */
export async function forcePhase(srv: DeployServer, taskId: number, phase: number): Promise<void> {
  const state = await srv.deployments!.state(taskId);
  for (let from = state.phase; from < phase; from++) {
    const requestId = `tr-${String(from).padStart(12, '0')}`;
    await srv.store!.transact(taskId, () => ({
      append: [
        { type: 'transition.requested', data: { requestId, from, to: from + 1, summary: 'fixture', evidenceHash: 'x', criteria: [], unmet: [], expiresAt: '2999-01-01T00:00:00.000Z', requestedBy: 'fixture' } },
        { type: 'transition.approved', data: { requestId, channel: 'fixture', approver: 'fixture' } },
        { type: 'phase.advanced', data: { from, to: from + 1, requestId, channel: 'fixture', approver: 'fixture' } },
      ],
      result: null,
    }));
  }
}

export function eventsFile(root: string, taskId: number): string {
  return path.join(root, '.deploy-mcp', 'tasks', String(taskId), 'events.jsonl');
}

export function readEvents(root: string, taskId: number): any[] {
  return fs
    .readFileSync(eventsFile(root, taskId), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));
}
