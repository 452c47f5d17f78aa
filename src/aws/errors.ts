/**
 * One translator from whatever the AWS SDK (or the network underneath it) threw into a problem a
 * person can act on: what happened, the AWS error code, and the next step. Tool results, verify
 * results and inventory errors all go through `describeAwsError`.
 */

export type AwsProblemKind =
  | 'access-denied'
  | 'credentials'
  | 'not-found'
  | 'throttled'
  | 'unreachable'
  | 'unsupported'
  | 'server-error'
  | 'invalid-request'
  | 'unknown';

export interface AwsProblem {
  /** The AWS error code (`AccessDenied`, `NoSuchBucket`), or the network code (`ECONNREFUSED`). */
  code: string;
  message: string;
  nextStep: string;
  httpStatus?: number;
  /** The IAM action that was attempted, e.g. `s3:GetBucketVersioning`. */
  action?: string;
  resource?: string;
  retryable: boolean;
  kind: AwsProblemKind;
  /** The endpoint override in force, when there is one. */
  endpoint?: string;
}

export interface AwsErrorContext {
  /** IAM action, e.g. `s3:GetBucketVersioning`. */
  action: string;
  /** ARN or name of the resource acted on. */
  resource?: string;
  /** Endpoint override (moto, LocalStack); named in "unreachable" messages. */
  endpoint?: string;
  region?: string;
  /** Profile in use; named in the credential refresh command. */
  profile?: string;
}

export class AwsError extends Error {
  readonly problem: AwsProblem;

  constructor(problem: AwsProblem, cause?: unknown) {
    super(`${problem.message} Next step: ${problem.nextStep}.`, cause === undefined ? undefined : { cause });
    this.name = 'AwsError';
    this.problem = problem;
  }
}

const ACCESS_DENIED_CODES = new Set([
  'AccessDenied',
  'AccessDeniedException',
  'UnauthorizedOperation',
  'UnauthorizedAccess',
  'AuthorizationError',
  'Forbidden',
  'AllAccessDisabled',
]);

const CREDENTIAL_CODES = new Set([
  'ExpiredToken',
  'ExpiredTokenException',
  'InvalidClientTokenId',
  'UnrecognizedClientException',
  'CredentialsProviderError',
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'AuthFailure',
  'TokenRefreshRequired',
  'InvalidToken',
  'MissingAuthenticationToken',
  'IncompleteSignature',
]);

const THROTTLING_CODES = new Set([
  'Throttling',
  'ThrottlingException',
  'ThrottledException',
  'TooManyRequestsException',
  'TooManyRequests',
  'RequestLimitExceeded',
  'RequestThrottled',
  'RequestThrottledException',
  'SlowDown',
  'ProvisionedThroughputExceededException',
  'PriorRequestNotComplete',
  'EC2ThrottledException',
  'BandwidthLimitExceeded',
]);

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'ESOCKETTIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
  'ECONNABORTED',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_SOCKET',
]);

const TIMEOUT_NAMES = new Set(['TimeoutError', 'RequestTimeout', 'RequestTimeoutException']);

interface ErrorFacts {
  code: string;
  awsMessage: string;
  httpStatus?: number;
  html: boolean;
  networkCode?: string;
  networkTarget?: string;
}

/** The AWS error code of an SDK error, or undefined when it is not an AWS service error. */
export function awsErrorCode(err: unknown): string | undefined {
  if (!isObject(err)) return undefined;
  const code = stringField(err, 'Code') ?? stringField(err, '__type');
  if (code) return code.includes('#') ? code.slice(code.lastIndexOf('#') + 1) : code;
  const name = stringField(err, 'name');
  if (name && name !== 'Error' && name !== 'SyntaxError' && name !== 'TypeError') return name;
  return undefined;
}

export function httpStatusOf(err: unknown): number | undefined {
  if (!isObject(err)) return undefined;
  const metadata = err.$metadata;
  if (isObject(metadata) && typeof metadata.httpStatusCode === 'number') return metadata.httpStatusCode;
  const response = err.$response;
  if (isObject(response) && typeof response.statusCode === 'number') return response.statusCode;
  return undefined;
}

/** True for "this resource does not exist" errors (404s and the NoSuch… / …NotFound codes). */
export function isNotFoundError(err: unknown): boolean {
  return describeAwsError(err, { action: 'unknown' }).kind === 'not-found';
}

export function describeAwsError(err: unknown, ctx: AwsErrorContext): AwsProblem {
  const facts = factsOf(err);
  const base = {
    action: ctx.action,
    ...(ctx.resource ? { resource: ctx.resource } : {}),
    ...(facts.httpStatus !== undefined ? { httpStatus: facts.httpStatus } : {}),
    ...(ctx.endpoint ? { endpoint: ctx.endpoint } : {}),
  };
  const target = ctx.resource ?? 'the resource';
  const detail = facts.awsMessage ? ` AWS said: ${facts.awsMessage}` : '';
  const code = facts.code;

  if (facts.networkCode || TIMEOUT_NAMES.has(code)) {
    const where = ctx.endpoint ?? (facts.networkTarget ? `http(s)://${facts.networkTarget}` : `the AWS endpoint for ${ctx.region ?? 'the configured region'}`);
    const why = facts.networkCode === 'ENOTFOUND' || facts.networkCode === 'EAI_AGAIN'
      ? 'its host name does not resolve'
      : facts.networkCode === 'ECONNREFUSED'
        ? 'the connection was refused'
        : facts.networkCode === 'ECONNRESET' || facts.networkCode === 'EPIPE'
          ? 'the connection was reset'
          : 'the request timed out';
    return {
      ...base,
      code: facts.networkCode ?? code,
      kind: 'unreachable',
      retryable: true,
      endpoint: ctx.endpoint ?? facts.networkTarget,
      message: `AWS is unreachable: ${ctx.action} could not reach ${where} (${why}).`,
      nextStep: ctx.endpoint
        ? `check that the endpoint ${ctx.endpoint} is running (it comes from AWS_ENDPOINT_URL or the endpoint option), then retry`
        : 'check the network connection, VPN or HTTPS proxy settings and the region, then retry',
    };
  }

  if (CREDENTIAL_CODES.has(code)) {
    const whose = ctx.profile ? `for profile "${ctx.profile}"` : 'in use';
    const loadFailure = code === 'CredentialsProviderError';
    return {
      ...base,
      code,
      kind: 'credentials',
      retryable: false,
      message: loadFailure
        ? `No usable AWS credentials ${whose} could be loaded for ${ctx.action}.${detail}`
        : `The AWS credentials ${whose} were rejected (${code}) on ${ctx.action}: they are expired, revoked or wrong.${detail}`,
      nextStep: ctx.profile
        ? `refresh the credentials with \`aws sso login --profile ${ctx.profile}\` (or update the profile's keys in ~/.aws/credentials) and retry`
        : 'refresh the credentials: `aws sso login --profile <profile>` for an SSO profile (and set the profile on the environment in deploy-mcp.config.json), or export fresh AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN',
    };
  }

  if (ACCESS_DENIED_CODES.has(code) || (facts.httpStatus === 403 && !THROTTLING_CODES.has(code))) {
    const explicitDeny = /explicit deny/i.test(facts.awsMessage);
    return {
      ...base,
      code: code || 'AccessDenied',
      kind: 'access-denied',
      retryable: false,
      message: `Missing permission ${ctx.action} on ${target} (${code || 'HTTP 403'}).${detail}`,
      nextStep: explicitDeny
        ? `an explicit Deny (service control policy, permission boundary or a policy statement) blocks ${ctx.action} on ${target}: remove that Deny or ask the account administrator`
        : `add ${ctx.action} on ${ctx.resource ?? '*'} to the deploy role's policy`,
    };
  }

  if (THROTTLING_CODES.has(code) || facts.httpStatus === 429) {
    return {
      ...base,
      code: code || 'TooManyRequests',
      kind: 'throttled',
      retryable: true,
      message: `AWS throttled ${ctx.action} on ${target} (${code || 'HTTP 429'}).${detail}`,
      nextStep: 'retry later (wait a few seconds), or lower the number of parallel calls',
    };
  }

  if (facts.httpStatus !== undefined && facts.httpStatus >= 500) {
    if (facts.html) {
      const where = ctx.endpoint ?? 'this endpoint';
      return {
        ...base,
        code: 'UnsupportedOperation',
        kind: 'unsupported',
        retryable: false,
        message: `${ctx.action} is not supported by ${where}: it answered HTTP ${facts.httpStatus} with an HTML page, which is how AWS emulators answer operations they do not implement.`,
        nextStep: 'run this step against real AWS, or treat this check as unavailable on the emulator',
      };
    }
    const where = ctx.endpoint ? ` at ${ctx.endpoint}` : '';
    return {
      ...base,
      code: code || `HTTP${facts.httpStatus}`,
      kind: 'server-error',
      retryable: true,
      message: `AWS${where} failed on ${ctx.action} with HTTP ${facts.httpStatus} (${code || 'server error'}): the service or endpoint is unavailable or down.${detail}`,
      nextStep: 'retry later; if it persists check the AWS Health Dashboard for the region (or the emulator\'s log)',
    };
  }

  if (/^NoSuch|NotFound/.test(code) || facts.httpStatus === 404) {
    return {
      ...base,
      code: code || 'NotFound',
      kind: 'not-found',
      retryable: false,
      message: `${ctx.resource ?? 'The resource'} does not exist (${code || 'HTTP 404'} from ${ctx.action}).${detail}`,
      nextStep: `check the name, region${ctx.region ? ` (${ctx.region})` : ''} and account, or create the resource first`,
    };
  }

  if (facts.httpStatus !== undefined && facts.httpStatus >= 400) {
    return {
      ...base,
      code: code || `HTTP${facts.httpStatus}`,
      kind: 'invalid-request',
      retryable: false,
      message: `AWS rejected ${ctx.action} on ${target} (${code || `HTTP ${facts.httpStatus}`}).${detail}`,
      nextStep: 'check the request parameters and the resource configuration named in the message',
    };
  }

  return {
    ...base,
    code: code || 'UnknownError',
    kind: 'unknown',
    retryable: false,
    message: `${ctx.action} on ${target} failed${code ? ` (${code})` : ''}.${detail}`,
    nextStep: 'check the message above; retry once, and if it fails again inspect the AWS configuration',
  };
}

function factsOf(err: unknown): ErrorFacts {
  const httpStatus = httpStatusOf(err);
  const rawMessage = isObject(err) ? (stringField(err, 'message') ?? stringField(err, 'Message') ?? '') : typeof err === 'string' ? err : '';
  const network = networkFacts(err);
  const html = isHtmlResponse(err) || /Unexpected token '<'|<!doctype|<html|mismatched tags <html>/i.test(rawMessage);
  let code = awsErrorCode(err) ?? '';
  // A deserialisation failure carries the parser's name, not an AWS code.
  if (code === 'SyntaxError' || code === 'Error') code = '';
  return {
    code,
    awsMessage: html ? '' : redactCredentials(firstLine(rawMessage)),
    ...(httpStatus !== undefined ? { httpStatus } : {}),
    html,
    ...(network ?? {}),
  };
}

function networkFacts(err: unknown, depth = 0): { networkCode: string; networkTarget?: string } | undefined {
  if (!isObject(err) || depth > 4) return undefined;
  const code = stringField(err, 'code');
  if (code && NETWORK_CODES.has(code)) {
    const host = stringField(err, 'address') ?? stringField(err, 'hostname');
    const port = typeof err.port === 'number' ? err.port : undefined;
    return { networkCode: code, ...(host ? { networkTarget: port ? `${host}:${port}` : host } : {}) };
  }
  // Node's happy-eyeballs connect wraps per-address failures in an AggregateError.
  if (Array.isArray(err.errors)) {
    for (const inner of err.errors) {
      const found = networkFacts(inner, depth + 1);
      if (found) return found;
    }
  }
  return networkFacts(err.cause, depth + 1);
}

function isHtmlResponse(err: unknown): boolean {
  if (!isObject(err) || !isObject(err.$response)) return false;
  const headers = err.$response.headers;
  if (!isObject(headers)) return false;
  const type = headers['content-type'] ?? headers['Content-Type'];
  return typeof type === 'string' && type.includes('text/html');
}

function firstLine(text: string): string {
  const line = text.split('\n')[0]?.trim() ?? '';
  return line.length > 500 ? `${line.slice(0, 500)}…` : line;
}

/** Strips anything credential-shaped from text that may end up in a tool result or the journal. */
export function redactCredentials(text: string): string {
  return text
    .replace(/\b(AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}\b/g, '[REDACTED-KEY-ID]')
    .replace(/(Credential=)[^,\s&]+/gi, '$1[REDACTED]')
    .replace(/(Signature=)[0-9a-f]+/gi, '$1[REDACTED]')
    .replace(/(X-Amz-Security-Token=|SessionToken["']?\s*[:=]\s*["']?)[^\s&"',]+/gi, '$1[REDACTED]')
    .replace(/((?:aws_)?secret_?access_?key["']?\s*[:=]\s*["']?)[A-Za-z0-9/+=]{16,}/gi, '$1[REDACTED]');
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

function stringField(obj: Record<string, unknown>, key: string): string | undefined {
  const value = obj[key];
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}
