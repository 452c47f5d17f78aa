/**
 * A loopback HTTP proxy in front of moto for what moto cannot do by itself: answer one request
 * with AccessDenied / throttling / 5xx / an HTML page / a reset / a delay, and emulate pagination
 * for List APIs that moto answers in one page. Errors are shaped per AWS protocol (S3 XML, EC2
 * XML, query XML, JSON with `__type`, REST-JSON with `x-amzn-errortype`), so the real SDK parses
 * them as it would AWS's. Every request is recorded in `requests`.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ProxyRequest {
  method: string;
  /** Path without the query string. */
  path: string;
  query: URLSearchParams;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  /** Signing name from the SigV4 credential scope: `s3`, `lambda`, `logs`, `monitoring`, `iam`, `ec2`, `sts`. */
  service: string;
  /** `X-Amz-Target` operation or the query protocol's `Action`; undefined for REST protocols. */
  action?: string;
}

export interface ProxyResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

export type Fault =
  | { kind: 'error'; status: number; code: string; message?: string }
  | { kind: 'access-denied'; message?: string }
  | { kind: 'throttle' }
  | { kind: 'html'; status?: number }
  | { kind: 'reset' }
  | { kind: 'delay'; ms: number };

export interface ProxyRule {
  match: (req: ProxyRequest) => boolean;
  /** Answer (or disturb) matching requests instead of forwarding them as they are. */
  fault?: Fault;
  /** Change the request before it is forwarded (e.g. strip pagination parameters). */
  rewrite?: (req: ProxyRequest) => { path?: string; query?: URLSearchParams; body?: Buffer };
  /** Change moto's answer before it goes back to the client. */
  transform?: (req: ProxyRequest, res: ProxyResponse) => ProxyResponse;
  /** Apply this many times, then stop matching. Default: always. */
  times?: number;
}

export interface FaultProxy {
  url: string;
  requests: ProxyRequest[];
  addRule(rule: ProxyRule): void;
  clearRules(): void;
  close(): Promise<void>;
}

export async function startFaultProxy(upstream: string, rules: ProxyRule[] = []): Promise<FaultProxy> {
  const target = new URL(upstream);
  const active: ProxyRule[] = [...rules];
  const requests: ProxyRequest[] = [];

  const server = http.createServer((incoming, outgoing) => {
    const chunks: Buffer[] = [];
    incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
    incoming.on('end', () => {
      void handle(incoming, outgoing, Buffer.concat(chunks)).catch((err: Error) => {
        if (!outgoing.headersSent) outgoing.writeHead(502, { 'content-type': 'text/plain' });
        outgoing.end(`fault proxy: ${err.message}`);
      });
    });
  });

  const handle = async (incoming: http.IncomingMessage, outgoing: http.ServerResponse, body: Buffer): Promise<void> => {
    const url = new URL(incoming.url ?? '/', 'http://proxy.invalid');
    const req: ProxyRequest = {
      method: incoming.method ?? 'GET',
      path: url.pathname,
      query: url.searchParams,
      headers: incoming.headers,
      body,
      service: signingService(incoming.headers.authorization),
    };
    const action = operationOf(req);
    if (action) req.action = action;
    requests.push(req);

    const rule = active.find((r) => (r.times === undefined || r.times > 0) && r.match(req));
    if (rule && rule.times !== undefined) rule.times -= 1;

    if (rule?.fault) {
      const fault = rule.fault;
      if (fault.kind === 'reset') {
        incoming.socket.destroy();
        return;
      }
      if (fault.kind === 'delay') {
        await new Promise((resolve) => setTimeout(resolve, fault.ms));
      } else {
        send(outgoing, faultResponse(req, fault));
        return;
      }
    }

    let path = req.path;
    let query = new URLSearchParams(req.query);
    let forwardBody = body;
    if (rule?.rewrite) {
      const changed = rule.rewrite(req);
      path = changed.path ?? path;
      query = changed.query ?? query;
      forwardBody = changed.body ?? forwardBody;
    }
    const qs = query.toString();
    let res = await forward(target, req.method, `${path}${qs ? `?${qs}` : ''}`, req.headers, forwardBody);
    if (rule?.transform) res = rule.transform(req, res);
    send(outgoing, res);
  };

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    addRule: (rule) => active.push(rule),
    clearRules: () => active.splice(0, active.length),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function send(outgoing: http.ServerResponse, res: ProxyResponse): void {
  const headers = { ...res.headers };
  for (const key of Object.keys(headers)) {
    if (['content-length', 'transfer-encoding', 'connection'].includes(key.toLowerCase())) delete headers[key];
  }
  outgoing.writeHead(res.status, { ...headers, 'content-length': String(res.body.length) });
  outgoing.end(res.body);
}

function forward(target: URL, method: string, path: string, headers: http.IncomingHttpHeaders, body: Buffer): Promise<ProxyResponse> {
  return new Promise((resolve, reject) => {
    const outHeaders: http.OutgoingHttpHeaders = { ...headers, host: target.host, 'content-length': String(body.length) };
    delete outHeaders['transfer-encoding'];
    const request = http.request({ hostname: target.hostname, port: target.port, method, path, headers: outHeaders }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => {
        const resHeaders: Record<string, string> = {};
        for (const [key, value] of Object.entries(response.headers)) {
          if (value !== undefined) resHeaders[key] = Array.isArray(value) ? value.join(', ') : value;
        }
        resolve({ status: response.statusCode ?? 502, headers: resHeaders, body: Buffer.concat(chunks) });
      });
      response.on('error', reject);
    });
    request.on('error', reject);
    request.end(body);
  });
}

function signingService(authorization: string | undefined): string {
  // AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/s3/aws4_request, ...
  const match = /Credential=[^/]+\/\d{8}\/[^/]+\/([^/]+)\/aws4_request/.exec(authorization ?? '');
  return match?.[1] ?? 'unknown';
}

function operationOf(req: ProxyRequest): string | undefined {
  const target = req.headers['x-amz-target'];
  if (typeof target === 'string') return target.slice(target.lastIndexOf('.') + 1);
  const contentType = String(req.headers['content-type'] ?? '');
  if (contentType.includes('x-www-form-urlencoded')) return new URLSearchParams(req.body.toString()).get('Action') ?? undefined;
  return undefined;
}

const xmlEscape = (text: string): string => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** An AWS error in the wire shape of the request's protocol. */
export function awsErrorResponse(req: ProxyRequest, status: number, code: string, message: string): ProxyResponse {
  const requestId = 'fault-proxy-0000';
  const m = xmlEscape(message);
  if (req.service === 's3') {
    return {
      status,
      headers: { 'content-type': 'application/xml', 'x-amz-request-id': requestId },
      body: Buffer.from(`<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${m}</Message><RequestId>${requestId}</RequestId></Error>`),
    };
  }
  if (req.service === 'ec2') {
    return {
      status,
      headers: { 'content-type': 'text/xml' },
      body: Buffer.from(`<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>${code}</Code><Message>${m}</Message></Error></Errors><RequestID>${requestId}</RequestID></Response>`),
    };
  }
  if (typeof req.headers['x-amz-target'] === 'string') {
    return {
      status,
      headers: {
        'content-type': String(req.headers['content-type'] ?? 'application/x-amz-json-1.1'),
        'x-amzn-requestid': requestId,
        // awsQuery-compatible JSON services (CloudWatch) read the code from here.
        'x-amzn-query-error': `${code};Sender`,
      },
      body: Buffer.from(JSON.stringify({ __type: code, message })),
    };
  }
  if (req.action) {
    return {
      status,
      headers: { 'content-type': 'text/xml' },
      body: Buffer.from(
        `<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><Error><Type>Sender</Type><Code>${code}</Code><Message>${m}</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>`,
      ),
    };
  }
  // REST-JSON (Lambda).
  return {
    status,
    headers: { 'content-type': 'application/json', 'x-amzn-errortype': `${code}:http://internal.amazon.com/coral/com.amazonaws.awslambda/`, 'x-amzn-requestid': requestId },
    body: Buffer.from(JSON.stringify({ Type: 'User', message })),
  };
}

function faultResponse(req: ProxyRequest, fault: Exclude<Fault, { kind: 'reset' } | { kind: 'delay' }>): ProxyResponse {
  switch (fault.kind) {
    case 'access-denied': {
      const code = req.service === 'ec2' ? 'UnauthorizedOperation' : req.service === 's3' || req.action ? 'AccessDenied' : 'AccessDeniedException';
      const what = req.action ?? `${req.method} ${req.path}`;
      return awsErrorResponse(req, 403, code, fault.message ?? `User: arn:aws:sts::123456789012:assumed-role/deploy/test is not authorized to perform: ${what}`);
    }
    case 'throttle': {
      const code = req.service === 's3' ? 'SlowDown' : req.service === 'ec2' ? 'RequestLimitExceeded' : req.action && typeof req.headers['x-amz-target'] !== 'string' ? 'Throttling' : 'ThrottlingException';
      return awsErrorResponse(req, req.service === 's3' ? 503 : 400, code, 'Rate exceeded');
    }
    case 'html':
      return {
        status: fault.status ?? 500,
        headers: { 'content-type': 'text/html; charset=utf-8' },
        body: Buffer.from('<!doctype html>\n<html lang=en>\n<title>500 Internal Server Error</title>\n<h1>Internal Server Error</h1>\n'),
      };
    case 'error':
      return awsErrorResponse(req, fault.status, fault.code, fault.message ?? fault.code);
  }
}

// ---- pagination emulation ------------------------------------------------------------------------
// moto 5.2.1 answers ListFunctions, ListAliases, DescribeAlarms, DescribeSecurityGroups and
// ListBuckets in one page whatever the page size. These rules fetch the full answer from moto and
// hand it out page by page with opaque tokens, as AWS does, so pagination loops are exercised.

const encodeToken = (offset: number): string => Buffer.from(`offset:${offset}`).toString('base64');
const decodeToken = (token: string | null | undefined): number => {
  if (!token) return 0;
  const match = /^offset:(\d+)$/.exec(Buffer.from(token, 'base64').toString());
  if (!match) throw new Error(`fault proxy: unknown pagination token ${token}`);
  return Number(match[1]);
};

function jsonBody(res: ProxyResponse): Record<string, unknown> {
  return JSON.parse(res.body.toString() || '{}') as Record<string, unknown>;
}

/** Lambda ListFunctions (`key` = `Functions`) or ListAliases (`key` = `Aliases`), REST-JSON. */
export function paginateLambdaList(key: 'Functions' | 'Aliases', pageSize: number): ProxyRule {
  const pattern = key === 'Functions' ? /^\/2015-03-31\/functions\/?$/ : /^\/2015-03-31\/functions\/[^/]+\/aliases\/?$/;
  return {
    match: (req) => req.service === 'lambda' && req.method === 'GET' && pattern.test(req.path),
    rewrite: (req) => {
      const query = new URLSearchParams(req.query);
      query.delete('Marker');
      query.delete('MaxItems');
      return { query };
    },
    transform: (req, res) => {
      if (res.status !== 200) return res;
      const body = jsonBody(res);
      const all = (body[key] as unknown[] | undefined) ?? [];
      const offset = decodeToken(req.query.get('Marker'));
      const size = Math.min(pageSize, Number(req.query.get('MaxItems') ?? pageSize));
      body[key] = all.slice(offset, offset + size);
      if (offset + size < all.length) body.NextMarker = encodeToken(offset + size);
      else delete body.NextMarker;
      return { ...res, body: Buffer.from(JSON.stringify(body)) };
    },
  };
}

/** CloudWatch DescribeAlarms (JSON 1.0). */
export function paginateAlarms(pageSize: number): ProxyRule {
  return {
    match: (req) => req.action === 'DescribeAlarms',
    rewrite: (req) => {
      const input = JSON.parse(req.body.toString() || '{}') as Record<string, unknown>;
      delete input.NextToken;
      delete input.MaxRecords;
      return { body: Buffer.from(JSON.stringify(input)) };
    },
    transform: (req, res) => {
      if (res.status !== 200) return res;
      const input = JSON.parse(req.body.toString() || '{}') as { NextToken?: string; MaxRecords?: number };
      const body = jsonBody(res);
      const all = (body.MetricAlarms as unknown[] | undefined) ?? [];
      const offset = decodeToken(input.NextToken);
      const size = Math.min(pageSize, input.MaxRecords ?? pageSize);
      body.MetricAlarms = all.slice(offset, offset + size);
      if (offset > 0) body.CompositeAlarms = [];
      if (offset + size < all.length) body.NextToken = encodeToken(offset + size);
      else delete body.NextToken;
      return { ...res, body: Buffer.from(JSON.stringify(body)) };
    },
  };
}

/** The top-level `<item>` elements inside `<container>` of an EC2 XML answer. */
function splitEc2Items(xml: string, container: string): { before: string; items: string[]; after: string } {
  const open = `<${container}>`;
  const close = `</${container}>`;
  const start = xml.indexOf(open);
  const end = xml.lastIndexOf(close);
  if (start < 0 || end < 0) return { before: xml, items: [], after: '' };
  const inner = xml.slice(start + open.length, end);
  const items: string[] = [];
  const tag = /<\/?item>/g;
  let depth = 0;
  let itemStart = 0;
  for (let m = tag.exec(inner); m; m = tag.exec(inner)) {
    if (m[0] === '<item>') {
      if (depth === 0) itemStart = m.index;
      depth++;
    } else {
      depth--;
      if (depth === 0) items.push(inner.slice(itemStart, m.index + m[0].length));
    }
  }
  return { before: xml.slice(0, start + open.length), items, after: xml.slice(end) };
}

/** EC2 DescribeSecurityGroups (EC2 query protocol, XML answer). */
export function paginateSecurityGroups(pageSize: number): ProxyRule {
  return {
    match: (req) => req.action === 'DescribeSecurityGroups',
    rewrite: (req) => {
      const form = new URLSearchParams(req.body.toString());
      form.delete('NextToken');
      form.delete('MaxResults');
      return { body: Buffer.from(form.toString()) };
    },
    transform: (req, res) => {
      if (res.status !== 200) return res;
      const form = new URLSearchParams(req.body.toString());
      const offset = decodeToken(form.get('NextToken'));
      const size = Math.min(pageSize, Number(form.get('MaxResults') ?? pageSize));
      const { before, items, after } = splitEc2Items(res.body.toString(), 'securityGroupInfo');
      const next = offset + size < items.length ? `<nextToken>${encodeToken(offset + size)}</nextToken>` : '';
      const page = items.slice(offset, offset + size).join('');
      const body = `${before}${page}${after}`.replace(/<nextToken>[^<]*<\/nextToken>/, '');
      const closing = body.lastIndexOf('</');
      return { ...res, body: Buffer.from(`${body.slice(0, closing)}${next}${body.slice(closing)}`) };
    },
  };
}

/** S3 ListBuckets (REST-XML), also when the client sends no max-buckets. */
export function paginateBuckets(pageSize: number): ProxyRule {
  return {
    match: (req) => req.service === 's3' && req.method === 'GET' && req.path === '/' && req.query.get('x-id') === 'ListBuckets',
    rewrite: (req) => {
      const query = new URLSearchParams(req.query);
      query.delete('continuation-token');
      query.delete('max-buckets');
      return { query };
    },
    transform: (req, res) => {
      if (res.status !== 200) return res;
      const xml = res.body.toString();
      const buckets = xml.match(/<Bucket>[\s\S]*?<\/Bucket>/g) ?? [];
      const offset = decodeToken(req.query.get('continuation-token'));
      const size = Math.min(pageSize, Number(req.query.get('max-buckets') ?? pageSize));
      const start = xml.indexOf('<Buckets>');
      const end = xml.indexOf('</Buckets>');
      if (start < 0 || end < 0) return res;
      const next = offset + size < buckets.length ? `<ContinuationToken>${encodeToken(offset + size)}</ContinuationToken>` : '';
      const body = `${xml.slice(0, start)}<Buckets>${buckets.slice(offset, offset + size).join('')}</Buckets>${next}${xml.slice(end + '</Buckets>'.length)}`;
      return { ...res, body: Buffer.from(body) };
    },
  };
}
