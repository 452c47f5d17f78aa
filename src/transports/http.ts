/**
 * MCP over Streamable HTTP (`deploy-mcp serve --http 127.0.0.1:8787`): one deploy box holds the
 * AWS credentials, and the team's agents connect to it. Every request must carry a bearer token
 * that names a person; that person is recorded as the actor of every event of their session.
 *
 * Checks, in this order, before anything reaches MCP:
 *  1. Host and Origin against the bound address, localhost and the config's allow-lists (a web
 *     page that rebinds its DNS name to 127.0.0.1 sends its own name: refused with 403);
 *  2. the bearer token, compared in constant time against every configured token (401);
 *  3. a session belongs to the token that opened it (403 for anyone else's token).
 * Approvals are unchanged: they come only from elicitation answered in the client, or from
 * `deploy-mcp approve` in a terminal. No HTTP request, whatever its token, approves anything.
 */
import http from 'node:http';
import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { CliOptions } from '../cli.js';
import { Logger } from '../log.js';
import { packageVersion } from '../paths.js';
import type { DeployServer, ServerOptions, ServerState } from '../server.js';

export interface HttpToken {
  name: string;
  token: string;
}

export interface HttpServeOptions extends Omit<ServerOptions, 'state' | 'actor'> {
  host: string;
  port: number;
  /** Allow a non-loopback bind address (a deploy box behind TLS). */
  allowRemote?: boolean;
  /** Tokens to accept instead of config http.tokens + DEPLOY_MCP_TOKENS (tests). */
  tokens?: HttpToken[];
  /** Environment to read DEPLOY_MCP_TOKENS from (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** Called with each session's server once it exists (tests: AWS endpoint options). */
  onSession?: (srv: DeployServer, person: string) => void;
  /**
   * Each session logs through its own Logger, so MCP log notifications go to that session's
   * client only (default: a Logger at DEPLOY_MCP_LOG_LEVEL, printing to stderr).
   */
  sessionLog?: () => Logger;
}

export interface RunningHttpServer {
  /** The MCP endpoint, e.g. http://127.0.0.1:8787/mcp */
  url: string;
  host: string;
  port: number;
  state: ServerState;
  /** Names of the token holders (never the tokens). */
  people: string[];
  sessionCount(): number;
  close(): Promise<void>;
}

const MAX_BODY_BYTES = 4 * 1024 * 1024;
const TOKEN_NAME = /^[A-Za-z0-9._@-]{1,64}$/;
const MIN_TOKEN_LENGTH = 32;

export class HttpConfigError extends Error {}

export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127(\.\d{1,3}){3}$/.test(h);
}

/** `127.0.0.1:8787`, `[::1]:8787`, `localhost:8787`, `:8787` or `8787` (loopback). */
export function parseListenAddress(text: string): { host: string; port: number } {
  const m = /^(?:(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]*):)?(\d{1,5})$/.exec(text.trim());
  const port = m ? Number(m[2]) : NaN;
  if (!m || port > 65535) {
    throw new HttpConfigError(`--http expects host:port, e.g. 127.0.0.1:8787 (got ${JSON.stringify(text)}).`);
  }
  return { host: (m[1] || '127.0.0.1').replace(/^\[|\]$/g, ''), port };
}

/** `DEPLOY_MCP_TOKENS=alice:<token>,bob:<token>`. Errors name the entry, never the token. */
export function parseTokenList(text: string | undefined): HttpToken[] {
  if (!text?.trim()) return [];
  return text.split(',').map((entry, i) => {
    const at = entry.indexOf(':');
    const name = at > 0 ? entry.slice(0, at).trim() : '';
    const token = at > 0 ? entry.slice(at + 1).trim() : '';
    if (!TOKEN_NAME.test(name) || !token) {
      throw new HttpConfigError(`DEPLOY_MCP_TOKENS entry ${i + 1} is not name:token (names use letters, digits, ".", "_", "@", "-").`);
    }
    return { name, token };
  });
}

function checkTokens(tokens: HttpToken[]): void {
  const seen = new Set<string>();
  for (const t of tokens) {
    if (!TOKEN_NAME.test(t.name)) throw new HttpConfigError(`Token name ${JSON.stringify(t.name)} is not allowed (letters, digits, ".", "_", "@", "-").`);
    if (t.token.length < MIN_TOKEN_LENGTH) {
      throw new HttpConfigError(`The token of "${t.name}" is shorter than ${MIN_TOKEN_LENGTH} characters; generate one with \`openssl rand -hex 32\`.`);
    }
    if (seen.has(t.token)) throw new HttpConfigError(`Two token entries share one token (one of them is "${t.name}"); every person needs their own.`);
    seen.add(t.token);
  }
}

const digest = (text: string) => createHash('sha256').update(text, 'utf8').digest();

/** Who a bearer token belongs to. Every token is compared (in constant time), match or not. */
export function tokenMatcher(tokens: HttpToken[]): (presented: string) => string | null {
  const known = tokens.map((t) => ({ name: t.name, digest: digest(t.token) }));
  return (presented) => {
    const d = digest(presented);
    let found: string | null = null;
    for (const k of known) if (timingSafeEqual(d, k.digest) && found === null) found = k.name;
    return found;
  };
}

interface Session {
  transport: StreamableHTTPServerTransport;
  srv: DeployServer;
  person: string;
  /** Last request start or end; requests in flight keep a session (an approval form may wait 15 min). */
  lastSeen: number;
  inFlight: number;
}

/** A session nobody has used for this long is closed (clients that vanished without DELETE). */
const SESSION_IDLE_MS = 60 * 60 * 1000;

function sendJson(res: http.ServerResponse, status: number, body: Record<string, unknown>, headers: Record<string, string> = {}): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers });
  res.end(`${JSON.stringify(body)}\n`);
}

function readBody(req: http.IncomingMessage): Promise<Buffer | 'too-large'> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) {
        resolve('too-large');
        req.destroy();
      } else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function isInitialize(body: unknown): boolean {
  const one = (m: unknown) => !!m && typeof m === 'object' && (m as { method?: unknown }).method === 'initialize';
  return Array.isArray(body) ? body.some(one) : one(body);
}

export async function startHttpServer(opts: HttpServeOptions): Promise<RunningHttpServer> {
  const { host } = opts;
  if (!isLoopback(host) && !opts.allowRemote) {
    throw new HttpConfigError(
      `Refusing to listen on ${host}: it is not a loopback address, so other machines could reach this server. ` +
        'Pass --allow-remote to do it anyway, and put TLS in front of it (bearer tokens travel in clear over plain HTTP).',
    );
  }
  const log = opts.log ?? new Logger();
  const [{ createServer, openServerState }, { StreamableHTTPServerTransport }] = await Promise.all([
    import('../server.js'),
    import('@modelcontextprotocol/sdk/server/streamableHttp.js'),
  ]);
  const { tokens: _tokens, env: _env, onSession, sessionLog, host: _host, port: _port, allowRemote: _allowRemote, ...serverOpts } = opts;
  const state = await openServerState({ ...serverOpts, log });
  const tokens = opts.tokens ?? [...(state.config?.http?.tokens ?? []), ...parseTokenList((opts.env ?? process.env).DEPLOY_MCP_TOKENS)];
  checkTokens(tokens);
  if (tokens.length === 0) {
    await state.store?.close?.();
    throw new HttpConfigError(
      'No bearer tokens are configured, and deploy-mcp never serves HTTP without them. ' +
        'Set DEPLOY_MCP_TOKENS=alice:<token>,bob:<token> (tokens from `openssl rand -hex 32`), or http.tokens in deploy-mcp.config.json.',
    );
  }
  const whoIs = tokenMatcher(tokens);
  const sessions = new Map<string, Session>();

  // Host / Origin allow-lists, filled in once the port is known.
  const allowedHosts = new Set<string>();
  const allowedOrigins = new Set<string>((state.config?.http?.allowedOrigins ?? []).map((o) => o.toLowerCase()));

  const refuse = (res: http.ServerResponse, status: number, error: string, message: string, headers?: Record<string, string>) => {
    log.info(`HTTP ${status} ${error}: ${message}`);
    sendJson(res, status, { error, message }, headers);
  };

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const path = (req.url ?? '/').split('?')[0];
    // 1. DNS rebinding: a browser on another site sends that site's name as Host and Origin.
    const hostHeader = (req.headers.host ?? '').toLowerCase();
    if (!allowedHosts.has(hostHeader)) {
      return refuse(res, 403, 'forbidden-host', `Host "${hostHeader.slice(0, 100)}" is not an address of this server. Connect to ${url}, or add the name to http.allowedHosts in deploy-mcp.config.json.`);
    }
    const origin = req.headers.origin;
    if (origin !== undefined && !allowedOrigins.has(origin.toLowerCase())) {
      return refuse(res, 403, 'forbidden-origin', `Requests from the web origin "${origin.slice(0, 100)}" are not accepted. Add it to http.allowedOrigins in deploy-mcp.config.json if it is yours.`);
    }
    if (path !== '/mcp') return sendJson(res, 404, { error: 'not-found', message: `The MCP endpoint is ${url}.` });

    // 2. Who is asking.
    const auth = req.headers.authorization;
    const bearer = auth ? /^Bearer[ ]+(\S+)\s*$/i.exec(auth)?.[1] : undefined;
    if (!bearer) {
      return refuse(res, 401, 'unauthorized', 'This deploy-mcp server needs a bearer token: send "Authorization: Bearer <token>". Ask the server\'s operator for one.', {
        'www-authenticate': 'Bearer realm="deploy-mcp"',
      });
    }
    const person = whoIs(bearer);
    if (!person) {
      return refuse(res, 401, 'invalid-token', 'The bearer token is not one this server accepts (revoked, mistyped, or for another server).', {
        'www-authenticate': 'Bearer realm="deploy-mcp", error="invalid_token"',
      });
    }

    // 3. Sessions belong to the token that opened them.
    const sid = req.headers['mcp-session-id'];
    const sessionId = Array.isArray(sid) ? sid[0] : sid;
    let body: unknown;
    if (req.method === 'POST') {
      const raw = await readBody(req);
      if (raw === 'too-large') return sendJson(res, 413, { error: 'too-large', message: `Request bodies are limited to ${MAX_BODY_BYTES} bytes.` });
      try {
        body = JSON.parse(raw.toString('utf8'));
      } catch {
        return sendJson(res, 400, { jsonrpc: '2.0', id: null, error: { code: -32700, message: 'Parse error: the body is not JSON.' } });
      }
    }
    if (sessionId) {
      const session = sessions.get(sessionId);
      if (!session) {
        return sendJson(res, 404, { jsonrpc: '2.0', id: null, error: { code: -32001, message: 'Session not found: it ended or the server restarted. Initialize a new session.' } });
      }
      if (session.person !== person) {
        return refuse(res, 403, 'forbidden-session', 'This session was opened with another person\'s token; open your own session.');
      }
      session.inFlight++;
      session.lastSeen = Date.now();
      res.once('close', () => {
        session.inFlight--;
        session.lastSeen = Date.now();
      });
      await session.transport.handleRequest(req, res, body);
      return;
    }
    if (req.method !== 'POST' || !isInitialize(body)) {
      return sendJson(res, 400, { jsonrpc: '2.0', id: null, error: { code: -32000, message: 'Bad request: send initialize first (no mcp-session-id header was given).' } });
    }
    // A new session: one MCP server per session, all sharing the config, store and deployments.
    const srv = await createServer({ ...serverOpts, log: sessionLog?.() ?? new Logger(), state, actor: person });
    onSession?.(srv, person);
    const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      onsessioninitialized: (id) => {
        sessions.set(id, { transport, srv, person, lastSeen: Date.now(), inFlight: 0 });
        log.info(`HTTP session ${id.slice(0, 8)}… opened for ${person}.`);
      },
    });
    transport.onclose = () => {
      const id = transport.sessionId;
      if (id && sessions.get(id)?.transport === transport) sessions.delete(id);
      void srv.cleanup().catch(() => undefined);
    };
    await srv.server.connect(transport);
    await transport.handleRequest(req, res, body);
  };

  const server = http.createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      log.error(`HTTP request failed: ${(err as Error)?.stack ?? String(err)}`);
      sendJson(res, 500, { error: 'internal', message: 'The server failed to handle this request; its log (stderr) has the details.' });
    });
  });
  // Streams of long tool calls (elicitation waits for a person) must not be cut by idle timeouts.
  server.requestTimeout = 0;
  server.headersTimeout = 60_000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const reaper = setInterval(() => {
    const now = Date.now();
    for (const [id, s] of sessions) {
      if (s.inFlight === 0 && now - s.lastSeen > SESSION_IDLE_MS) {
        log.info(`HTTP session ${id.slice(0, 8)}… of ${s.person} closed after an hour without requests.`);
        sessions.delete(id);
        void s.transport.close().catch(() => undefined);
      }
    }
  }, 60_000);
  reaper.unref();

  const address = server.address() as AddressInfo;
  const port = address.port;
  const authority = (h: string) => (h.includes(':') ? `[${h}]:${port}` : `${h}:${port}`);
  const names = new Set([host, ...(isLoopback(host) ? ['localhost', '127.0.0.1', '::1'] : [])]);
  for (const n of names) allowedHosts.add(authority(n).toLowerCase());
  for (const h of state.config?.http?.allowedHosts ?? []) allowedHosts.add(h.toLowerCase());
  for (const h of allowedHosts) allowedOrigins.add(`http://${h}`);
  const url = `http://${authority(host)}/mcp`;

  return {
    url,
    host,
    port,
    state,
    people: [...new Set(tokens.map((t) => t.name))],
    sessionCount: () => sessions.size,
    async close() {
      clearInterval(reaper);
      for (const s of [...sessions.values()]) await s.transport.close().catch(() => undefined);
      sessions.clear();
      server.closeAllConnections?.();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await state.deployments?.flushAll();
      await state.store?.close?.();
    },
  };
}

/** `deploy-mcp serve --http <host:port>`: runs until SIGINT/SIGTERM. */
export async function serveHttp(cli: CliOptions): Promise<number> {
  let running: RunningHttpServer;
  try {
    const { host, port } = parseListenAddress(cli.http ?? '');
    running = await startHttpServer({ projectRoot: cli.project, configPath: cli.config, stateDir: cli.stateDir, readOnly: cli.readOnly, host, port, allowRemote: cli.allowRemote });
  } catch (err) {
    if (err instanceof HttpConfigError || (err as NodeJS.ErrnoException).code === 'EADDRINUSE' || (err as NodeJS.ErrnoException).code === 'EACCES') {
      process.stderr.write(`deploy-mcp: ${(err as Error).message}\n`);
      return 2;
    }
    throw err;
  }
  let closing = false;
  const shutdown = async (code: number) => {
    if (closing) return;
    closing = true;
    await running.close().catch(() => undefined);
    process.exit(code);
  };
  process.on('SIGINT', () => void shutdown(130));
  process.on('SIGTERM', () => void shutdown(143));
  const { state } = running;
  const where = state.store ? `state in ${state.store.location}` : 'NOT CONFIGURED — see the error above';
  process.stderr.write(
    `deploy-mcp ${packageVersion()} serving MCP over Streamable HTTP at ${running.url}` +
      ` for ${cli.project} (${state.config ? `project ${state.config.project}` : 'no deploy-mcp.config.json yet'}; ` +
      `${running.people.length} token holder${running.people.length === 1 ? '' : 's'}: ${running.people.join(', ')}; ${where}${cli.readOnly || state.config?.readOnly ? '; read-only' : ''}).\n` +
      `Clients connect with the header "Authorization: Bearer <their token>".\n`,
  );
  return -1;
}
