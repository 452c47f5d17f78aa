/**
 * The secret redactor (SPEC §4). Every text the server writes to the event log, the journal,
 * reports and tool output passes through it, so two properties matter more than elegance:
 *
 * - Nothing of a secret survives. When two findings overlap they are merged into one span, and
 *   a value is cut at the end of its token, quote or line, never in the middle.
 * - It runs in linear time on any input. Every regex here is a literal prefix followed by
 *   single character classes (bounded where they back off), with no nested quantifiers.
 *   Values are scanned by hand, and every scan moves the regex past what it has read, so no
 *   character is read more than a few times.
 *
 * What it deliberately leaves alone, because redacting it would hide useful facts without
 * protecting anything: AWS documentation placeholders, empty values, references to a secret
 * rather than the secret (`${VAR}`, `{{resolve:...}}`, `<password>`, ARNs, `!Ref X`), masks
 * (`***`, `[REDACTED:...]`) and prose ("the password is required": no `=`/`:` after the key).
 * `changeme`, `password` and similar weak defaults ARE redacted: they are real credentials
 * often enough, and redacting a non-secret costs nothing while a leak cannot be undone.
 */

export type SecretRule =
  | 'aws-access-key-id'
  | 'aws-secret-access-key'
  | 'aws-session-token'
  | 'private-key'
  | 'credential-assignment'
  | 'authorization-header'
  | 'url-credentials'
  | 'lambda-env-value';

export const SECRET_RULES: readonly SecretRule[] = [
  'aws-access-key-id',
  'aws-secret-access-key',
  'aws-session-token',
  'private-key',
  'credential-assignment',
  'authorization-header',
  'url-credentials',
  'lambda-env-value',
];

/** Offsets of the secret value only (not its key name) in the input string. */
export interface SecretMatch {
  rule: SecretRule;
  start: number;
  end: number;
}

/**
 * AWS documentation placeholders: not secrets, never redacted. Besides these exact strings, an
 * access key id, secret access key or session token containing `EXAMPLE` is treated as a
 * documentation sample (the chance of a real key containing it is below 1e-9).
 */
export const PLACEHOLDER_SECRETS: ReadonlySet<string> = new Set([
  'AKIAIOSFODNN7EXAMPLE',
  'ASIAIOSFODNN7EXAMPLE',
  'AKIAI44QH8DHBEXAMPLE',
  'AKIDEXAMPLE',
  'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
  'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
  'wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY',
  'je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY',
]);

/** When findings overlap, the merged span carries the most specific rule. */
const RULE_PRIORITY: Record<SecretRule, number> = {
  'private-key': 0,
  'aws-secret-access-key': 1,
  'aws-session-token': 2,
  'authorization-header': 3,
  'aws-access-key-id': 4,
  'url-credentials': 5,
  'credential-assignment': 6,
  'lambda-env-value': 7,
};

const AWS_VALUE_RULES: ReadonlySet<SecretRule> = new Set(['aws-access-key-id', 'aws-secret-access-key', 'aws-session-token']);

// ---------------------------------------------------------------------------------------------
// Key names

/** A key whose compacted (lowercase, alphanumerics only) form ends with one of these names a secret. */
const SECRET_KEY_SUFFIXES = [
  'password',
  'passwords',
  'passwd',
  'pwd',
  'passphrase',
  'secret',
  'secrets',
  'token',
  'credential',
  'credentials',
  'authorization',
  'auth',
  'cookie',
  'apikey',
  'apikeys',
  'privatekey',
  'secretkey',
  'secretkeybase',
  'secretaccesskey',
  'accesskeysecret',
  'sharedaccesskey',
  'signingkey',
  'masterkey',
  'accountkey',
  'encryptionkey',
  'hmackey',
  'secretstring',
  'secretbinary',
  'secretvalue',
  'amzsignature',
];

/** Tokens that are identifiers, not credentials: pagination cursors, idempotency and MCP progress tokens. */
const NON_SECRET_TOKEN_SUFFIXES = [
  // AWS error codes that end in a key name (`ExpiredToken: The security token ... is expired`).
  'expiredtoken',
  'invalidtoken',
  'nexttoken',
  'continuationtoken',
  'paginationtoken',
  'pagetoken',
  'clienttoken',
  'clientrequesttoken',
  'progresstoken',
  'cancellationtoken',
  'idempotencytoken',
  'synctoken',
  'resumetoken',
  'starttoken',
];

function compactKey(key: string): string {
  return key.toLowerCase().replace(/[^a-z0-9]/g, '');
}

/**
 * Whether a key names a secret: `password`, `DB_PASSWORD`, `secretAccessKey`, `x-api-key`,
 * `client_secret`, `sessionToken`... The last word decides, so `tokenCount`, `maxTokens`,
 * `secretArn`, `passwordPolicy`, `PasswordLastUsed` are not secret names. `PWD`/`OLDPWD`
 * (uppercase, as the shell sets them) are the working directory, not a password.
 */
export function isSecretKeyName(key: string): boolean {
  if (key === 'PWD' || key === 'OLDPWD') return false;
  const compact = compactKey(key);
  if (compact.length === 0 || compact.length > 200) return false;
  if (NON_SECRET_TOKEN_SUFFIXES.some((s) => compact.endsWith(s))) return false;
  return SECRET_KEY_SUFFIXES.some((s) => compact.endsWith(s));
}

function isSessionTokenKey(compact: string): boolean {
  return compact.endsWith('sessiontoken') || compact.endsWith('securitytoken');
}

function isAwsSecretKeyName(compact: string): boolean {
  return compact.endsWith('secretaccesskey') || compact.endsWith('secretkey');
}

function isAuthorizationKey(compact: string): boolean {
  return compact.endsWith('authorization');
}

// ---------------------------------------------------------------------------------------------
// Values

const NON_SECRET_WORDS = new Set([
  'null',
  'nil',
  'none',
  'undefined',
  'true',
  'false',
  'yes',
  'no',
  'on',
  'off',
  'redacted',
  'hidden',
  'masked',
  'omitted',
  'removed',
  'required',
  'optional',
  'string',
  'n/a',
  'tbd',
  'unset',
]);

const CFN_TAG = /^!(?:Ref|Sub|GetAtt|ImportValue|Join|Select|FindInMap|If|Base64|GetAZs|Split)$/;

/**
 * A value that stands for a secret rather than being one: empty, a reference to a variable or
 * secret store, a mask, a placeholder, an ARN. Shared by every rule, so that a placeholder one
 * rule skips is not caught by another.
 */
function isNonSecretValue(raw: string): boolean {
  // An unquoted value may run into the closer of its container (`{"token": null}`); a closer is
  // not part of a reference or mask, so look past it (the redacted span still includes it).
  const v = raw.trim().replace(/[)\]}]+$/, '');
  if (v.length === 0) return true;
  if (PLACEHOLDER_SECRETS.has(v)) return true;
  if (v.startsWith('[REDACTED')) return true;
  if (v.startsWith('${') || v.startsWith('{{') || v.startsWith('$(')) return true;
  if (/^\$[A-Za-z_][A-Za-z0-9_]*$/.test(v) || /^%[A-Za-z_][A-Za-z0-9_]*%$/.test(v)) return true;
  if (v.length >= 3 && v.startsWith('<') && v.endsWith('>') && v.indexOf('<', 1) < 0) return true;
  if (/^[*•xX.#_-]+$/.test(v)) return true;
  // The opening of a nested structure (`credentials: {`), not a value.
  if (/^[{}[\]()]+$/.test(v)) return true;
  if (NON_SECRET_WORDS.has(v.toLowerCase())) return true;
  if (v.startsWith('arn:aws')) return true;
  if (v.startsWith('process.env.') || v.startsWith('os.environ') || v.startsWith('os.getenv(')) return true;
  if (CFN_TAG.test(v)) return true;
  return false;
}

function isPlaceholderFor(rule: SecretRule, value: string): boolean {
  if (isNonSecretValue(value)) return true;
  return AWS_VALUE_RULES.has(rule) && value.includes('EXAMPLE');
}

const CH_TAB = 9;
const CH_LF = 10;
const CH_CR = 13;
const CH_SPACE = 32;

function isSpace(c: number): boolean {
  return c === CH_SPACE || c === CH_TAB || c === CH_LF || c === CH_CR || c === 11 || c === 12 || c === 0xa0;
}

/** Where an unquoted value ends for certain: whitespace, a quote, `,`. */
function isValueTerminator(c: number): boolean {
  return isSpace(c) || c === 34 /* " */ || c === 39 /* ' */ || c === 96 /* ` */ || c === 44 /* , */;
}

const NEXT_PARAMETER = /^[A-Za-z0-9_.\-]{1,64}=/;

/**
 * `&` and `;` are legal inside a password, so they end a value only where the next key=value
 * visibly starts (`?token=abc&user=bob`) or, for `;`, before whitespace. Cutting anywhere else
 * would leak the rest of the secret.
 */
function endsValueAt(text: string, i: number): boolean {
  const c = text.charCodeAt(i);
  if (isValueTerminator(c)) return true;
  if (c === 38 /* & */ || c === 59 /* ; */) {
    if (c === 59 && (i + 1 >= text.length || isSpace(text.charCodeAt(i + 1)))) return true;
    return NEXT_PARAMETER.test(text.slice(i + 1, i + 66));
  }
  return false;
}

/** Scheme-less tokens (Bearer/Basic) end at whitespace, quotes, `,` and `;` but may contain `&`. */
function isTokenTerminator(c: number): boolean {
  return isSpace(c) || c === 34 || c === 39 || c === 96 || c === 44 || c === 59;
}

interface ValueSpan {
  start: number;
  end: number;
  /** Where scanning should resume (past a closing quote). */
  next: number;
}

function lineEnd(text: string, from: number): number {
  let i = from;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c === CH_LF || c === CH_CR) break;
    i++;
  }
  return i;
}

/**
 * Reads the value starting at `pos`: `"..."` / `'...'` / `` `...` `` (backslash escapes
 * honoured, never past the end of the line), `\"...\"` (JSON inside a JSON string), or an
 * unquoted run up to a terminator.
 */
function scanValue(text: string, pos: number): ValueSpan {
  const c = text.charCodeAt(pos);
  if (c === 92 /* \ */ && (text[pos + 1] === '"' || text[pos + 1] === "'")) {
    const q = text[pos + 1];
    const start = pos + 2;
    let i = start;
    while (i < text.length) {
      const ch = text.charCodeAt(i);
      if (ch === CH_LF || ch === CH_CR) break;
      if (ch === 92 && text[i + 1] === q) break;
      i++;
    }
    return { start, end: i, next: Math.min(i + 2, text.length) };
  }
  if (c === 34 || c === 39 || c === 96) {
    const start = pos + 1;
    let i = start;
    while (i < text.length) {
      const ch = text.charCodeAt(i);
      if (ch === CH_LF || ch === CH_CR || ch === c) break;
      if (ch === 92) {
        // A backslash escapes the next character, unless that is the end of the line.
        const nextCh = text.charCodeAt(i + 1);
        if (nextCh === CH_LF || nextCh === CH_CR) break;
        i += 2;
        continue;
      }
      i++;
    }
    const end = Math.min(i, text.length);
    return { start, end, next: text.charCodeAt(end) === c ? end + 1 : end };
  }
  let i = pos;
  while (i < text.length && !endsValueAt(text, i)) i++;
  return { start: pos, end: i, next: i };
}

/**
 * YAML block scalar (`password: |`): the value is every following line indented deeper than
 * the key's line. Returns null when the value is not a block indicator.
 */
function scanYamlBlock(text: string, keyStart: number, indicatorStart: number, indicatorEnd: number): ValueSpan | null {
  if (indicatorEnd - indicatorStart > 3 || !/^[|>][+-]?[0-9]?$/.test(text.slice(indicatorStart, indicatorEnd))) return null;
  const eol = lineEnd(text, indicatorEnd);
  if (text.slice(indicatorEnd, eol).trim() !== '') return null;
  const keyLineStart = lineStartOf(text, keyStart);
  let keyIndent = 0;
  while (keyLineStart + keyIndent < text.length && (text[keyLineStart + keyIndent] === ' ' || text[keyLineStart + keyIndent] === '-')) keyIndent++;
  let pos = eol;
  let start = -1;
  let end = -1;
  while (pos < text.length) {
    // Step over the line break.
    if (text.charCodeAt(pos) === CH_CR && text.charCodeAt(pos + 1) === CH_LF) pos += 2;
    else pos += 1;
    const lineStart = pos;
    let indent = 0;
    while (pos + indent < text.length && (text[pos + indent] === ' ' || text[pos + indent] === '\t')) indent++;
    const le = lineEnd(text, pos);
    const blank = lineStart + indent === le;
    if (!blank && indent <= keyIndent) {
      pos = lineStart;
      break;
    }
    if (!blank) {
      if (start < 0) start = lineStart + indent;
      end = le;
    }
    pos = le;
    if (pos >= text.length) break;
  }
  if (start < 0) return null;
  return { start, end, next: end };
}

// ---------------------------------------------------------------------------------------------
// Detectors. Each pushes findings; findSecrets merges them.

type Sink = (rule: SecretRule, start: number, end: number) => void;

const ACCESS_KEY_ID_RE = /(?<![A-Za-z0-9])(?:AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16}(?![A-Za-z0-9])/g;

/** A 40-character secret key right after a key id (`credentials.csv`, `AKIA... wJal...`). */
const KEY_PAIR_RE = /(?<![A-Za-z0-9])(?:AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16}[ \t]{0,8}(?:[,;|:\t][ \t]{0,8}|[ \t])["']?([A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])/dg;

/**
 * A 40-character secret near a key-like name: `aws_secret_access_key = X`, `SecretAccessKey: X`,
 * `"secretAccessKey": "X"`, `aws configure set aws_secret_access_key X`,
 * `AWS Secret Access Key [None]: X`, `<SecretAccessKey>X</SecretAccessKey>`.
 */
const AWS_SECRET_RE =
  /secret[ _-]?(?:access[ _-]?)?key(?:[ \t]{0,8}\[[^\]\r\n]{0,64}\])?\\?["']?(?:[ \t]{0,16}(?::=|=>|[:=])[ \t]{0,16}|[ \t]{1,16}|>)\\?["']?([A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])/dgi;

/** A session token after a whitespace separator (`aws configure set aws_session_token X`). */
const SESSION_TOKEN_WS_RE =
  /(?:session|security)[ _-]?token(?:[ \t]{0,8}\[[^\]\r\n]{0,64}\])?(?:[ \t]{0,8}:)?[ \t]{1,16}\\?["']?([A-Za-z0-9/+=%]{32,})/dgi;

/** STS token blobs are recognisable on their own, wherever they appear. */
const STS_TOKEN_RE = /(?<![A-Za-z0-9/+=%])(?:FwoGZXIvYXdzE|FQoGZXIvYXdzE|IQoJb3JpZ2luX2Vj)[A-Za-z0-9/+=%]{40,}/g;

const PEM_BEGIN_RE = /-----BEGIN [A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----/g;
const PEM_END_RE = /-----END [A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----/g;

/** `scheme://user:password@host`: the password is the secret. Greedy so a stray `@` in it is covered. */
const URL_CREDENTIALS_RE = /(?<![A-Za-z0-9+.-])[A-Za-z][A-Za-z0-9+.-]*:\/\/[^\s:/?#@"'<>]*:([^\s/?#"'<>]+)@/dg;

/** `Bearer <token>` in a log line, without a header name. Prose ("bearer token required") is too short to match. */
const BEARER_RE = /(?<![A-Za-z0-9_-])bearer[ \t]+([A-Za-z0-9._~+/-]{16,}=*)/dgi;

/**
 * `key = value`, `key: value`, `"key": "value"`, `export KEY=value`, `key => value`, `key := value`,
 * `\"key\":\"value\"`. The key is a maximal run of name characters, so the regex only tries at
 * run starts; whether it names a secret is decided in code (isSecretKeyName).
 */
const KEY_VALUE_RE = /(?<![A-Za-z0-9_.-])([A-Za-z0-9_.-]+)\\?["']?[ \t]*(?::=|=>|[:=])[ \t]*/g;

/** `--password value` (space-separated command-line flags). */
const FLAG_RE = /(?<![A-Za-z0-9_.-])--([A-Za-z][A-Za-z0-9_.-]*)[ \t]+(?=[^\s-])/g;

/** `<Password>value</Password>` (STS and other XML responses). */
const XML_TAG_RE = /<([A-Za-z_][A-Za-z0-9_.:-]*)(?:[ \t][^<>]*)?>/g;

function detectAccessKeyIds(text: string, push: Sink): void {
  ACCESS_KEY_ID_RE.lastIndex = 0;
  for (let m = ACCESS_KEY_ID_RE.exec(text); m; m = ACCESS_KEY_ID_RE.exec(text)) {
    if (!isPlaceholderFor('aws-access-key-id', m[0])) push('aws-access-key-id', m.index, m.index + m[0].length);
  }
  KEY_PAIR_RE.lastIndex = 0;
  for (let m = KEY_PAIR_RE.exec(text); m; m = KEY_PAIR_RE.exec(text)) {
    const [s, e] = m.indices![1]!;
    if (!isPlaceholderFor('aws-secret-access-key', m[1]!)) push('aws-secret-access-key', s, e);
  }
}

function detectAwsSecretKeys(text: string, push: Sink): void {
  AWS_SECRET_RE.lastIndex = 0;
  for (let m = AWS_SECRET_RE.exec(text); m; m = AWS_SECRET_RE.exec(text)) {
    const [s, e] = m.indices![1]!;
    if (!isPlaceholderFor('aws-secret-access-key', m[1]!)) push('aws-secret-access-key', s, e);
  }
}

function detectSessionTokens(text: string, push: Sink): void {
  SESSION_TOKEN_WS_RE.lastIndex = 0;
  for (let m = SESSION_TOKEN_WS_RE.exec(text); m; m = SESSION_TOKEN_WS_RE.exec(text)) {
    const [s, e] = m.indices![1]!;
    if (!isPlaceholderFor('aws-session-token', m[1]!)) push('aws-session-token', s, e);
  }
  STS_TOKEN_RE.lastIndex = 0;
  for (let m = STS_TOKEN_RE.exec(text); m; m = STS_TOKEN_RE.exec(text)) {
    if (!isPlaceholderFor('aws-session-token', m[0])) push('aws-session-token', m.index, m.index + m[0].length);
  }
}

/** BEGIN through the next END; an unterminated BEGIN redacts to the end of the text. */
function detectPrivateKeys(text: string, push: Sink): void {
  PEM_BEGIN_RE.lastIndex = 0;
  for (let m = PEM_BEGIN_RE.exec(text); m; m = PEM_BEGIN_RE.exec(text)) {
    PEM_END_RE.lastIndex = m.index + m[0].length;
    const end = PEM_END_RE.exec(text);
    if (!end) {
      push('private-key', m.index, text.length);
      return;
    }
    const stop = end.index + end[0].length;
    push('private-key', m.index, stop);
    PEM_BEGIN_RE.lastIndex = stop;
  }
}

function detectUrlCredentials(text: string, push: Sink): void {
  URL_CREDENTIALS_RE.lastIndex = 0;
  for (let m = URL_CREDENTIALS_RE.exec(text); m; m = URL_CREDENTIALS_RE.exec(text)) {
    const [s, e] = m.indices![1]!;
    if (!isNonSecretValue(m[1]!)) push('url-credentials', s, e);
  }
}

function detectBearerTokens(text: string, push: Sink): void {
  BEARER_RE.lastIndex = 0;
  for (let m = BEARER_RE.exec(text); m; m = BEARER_RE.exec(text)) {
    const [s, e] = m.indices![1]!;
    push('authorization-header', s, e);
  }
}

const TOKEN_SCHEMES = new Set(['bearer', 'basic', 'token', 'apikey', 'api-key', 'jwt']);

/**
 * `Authorization: <scheme> <credentials>`. For Bearer/Basic/Token the credentials are one token;
 * for any other scheme (AWS4-HMAC-SHA256, Digest, ...) everything to the closing quote or the
 * end of the line. A lone word is itself the credential. The scheme name is kept.
 */
function scanAuthorization(text: string, pos: number): ValueSpan | null {
  let quote = -1;
  let start = pos;
  const c = text.charCodeAt(pos);
  if (c === 34 || c === 39 || c === 96) {
    quote = c;
    start = pos + 1;
  } else if (c === 92 && (text[pos + 1] === '"' || text[pos + 1] === "'")) {
    quote = text.charCodeAt(pos + 1);
    start = pos + 2;
  }
  let j = start;
  while (j < text.length && !isTokenTerminator(text.charCodeAt(j)) && text.charCodeAt(j) !== 92) j++;
  if (j === start) return null;
  let k = j;
  while (k < text.length && (text.charCodeAt(k) === CH_SPACE || text.charCodeAt(k) === CH_TAB)) k++;
  const hasMore = k > j && k < text.length && !isTokenTerminator(text.charCodeAt(k)) && text.charCodeAt(k) !== 92;
  if (!hasMore) return { start, end: j, next: j };
  const scheme = text.slice(start, j).toLowerCase();
  if (TOKEN_SCHEMES.has(scheme)) {
    let e = k;
    while (e < text.length && !isTokenTerminator(text.charCodeAt(e)) && text.charCodeAt(e) !== 92) e++;
    return { start: k, end: e, next: e };
  }
  let e = k;
  while (e < text.length) {
    const ch = text.charCodeAt(e);
    if (ch === CH_LF || ch === CH_CR) break;
    if (quote >= 0 && (ch === quote || (ch === 92 && text.charCodeAt(e + 1) === quote))) break;
    e++;
  }
  let trimmed = e;
  while (trimmed > k && isSpace(text.charCodeAt(trimmed - 1))) trimmed--;
  return { start: k, end: trimmed, next: e };
}

/** `[...]` on one line: the items between the brackets. Null (not a value) when it does not close on the line. */
function scanFlowList(text: string, pos: number): ValueSpan | null {
  let e = pos + 1;
  while (e < text.length) {
    const ch = text.charCodeAt(e);
    if (ch === 93 /* ] */ || ch === CH_LF || ch === CH_CR) break;
    e++;
  }
  if (text.charCodeAt(e) !== 93) return null;
  return { start: pos + 1, end: e, next: e + 1 };
}

/** Cookie headers carry several `name=value` pairs separated by `;`: the whole rest of the line is the secret. */
function scanToLineEnd(text: string, pos: number): ValueSpan {
  const quoted = text.charCodeAt(pos) === 34 || text.charCodeAt(pos) === 39;
  const start = quoted ? pos + 1 : pos;
  let e = start;
  while (e < text.length) {
    const ch = text.charCodeAt(e);
    if (ch === CH_LF || ch === CH_CR || (quoted && ch === text.charCodeAt(pos))) break;
    e++;
  }
  let trimmed = e;
  while (trimmed > start && isSpace(text.charCodeAt(trimmed - 1))) trimmed--;
  return { start, end: trimmed, next: e };
}

/**
 * Classifies a value found after a secret key name and reports it. Returns where scanning may
 * resume, or -1 when the key is not a secret name.
 */
function classifyKeyedValue(text: string, key: string, keyStart: number, valuePos: number, push: Sink, allowYamlBlock: boolean): number {
  if (!isSecretKeyName(key)) return -1;
  const compact = compactKey(key);
  let span: ValueSpan | null;
  let rule: SecretRule;
  if (isAuthorizationKey(compact)) {
    span = scanAuthorization(text, valuePos);
    rule = 'authorization-header';
  } else if (compact.endsWith('cookie')) {
    span = scanToLineEnd(text, valuePos);
    rule = 'credential-assignment';
  } else if (text.charCodeAt(valuePos) === 91 /* [ */ && !text.startsWith('[REDACTED:', valuePos)) {
    // A flow list (`secrets: [a, b]`, `"passwords": ["a", "b"]`): every item is a secret.
    span = scanFlowList(text, valuePos);
    rule = 'credential-assignment';
  } else {
    span = scanValue(text, valuePos);
    if (allowYamlBlock && span.end > span.start) {
      const block = scanYamlBlock(text, keyStart, span.start, span.end);
      if (block) span = block;
    }
    const value = text.slice(span.start, span.end);
    if (isSessionTokenKey(compact)) rule = 'aws-session-token';
    else if (isAwsSecretKeyName(compact) && /^[A-Za-z0-9/+]{40}$/.test(value)) rule = 'aws-secret-access-key';
    else rule = 'credential-assignment';
  }
  if (!span) return valuePos;
  if (span.end > span.start && !isPlaceholderFor(rule, text.slice(span.start, span.end))) push(rule, span.start, span.end);
  return Math.max(span.next, valuePos);
}

function lineStartOf(text: string, pos: number): number {
  // Bounded look-back: YAML keys are rarely indented by more than a few hundred columns.
  const limit = Math.max(0, pos - 512);
  let i = pos;
  while (i > limit) {
    const c = text.charCodeAt(i - 1);
    if (c === CH_LF || c === CH_CR) break;
    i--;
  }
  return i;
}

function detectKeyedValues(text: string, push: Sink): void {
  KEY_VALUE_RE.lastIndex = 0;
  for (let m = KEY_VALUE_RE.exec(text); m; m = KEY_VALUE_RE.exec(text)) {
    const key = m[1]!;
    const valuePos = m.index + m[0].length;
    if (valuePos >= text.length) break;
    if (key === 'arn' && m[0] === 'arn:') {
      // An ARN's segments (`...:secret:prod/db`) are not key/value pairs: skip the whole ARN.
      let e = valuePos;
      while (e < text.length && !isValueTerminator(text.charCodeAt(e))) e++;
      KEY_VALUE_RE.lastIndex = e;
      continue;
    }
    const isColon = m[0].includes(':') && !m[0].includes('=');
    const next = classifyKeyedValue(text, key, m.index, valuePos, push, isColon);
    if (next > valuePos) KEY_VALUE_RE.lastIndex = next;
  }
  FLAG_RE.lastIndex = 0;
  for (let m = FLAG_RE.exec(text); m; m = FLAG_RE.exec(text)) {
    const valuePos = m.index + m[0].length;
    const next = classifyKeyedValue(text, m[1]!, m.index, valuePos, push, false);
    if (next > valuePos) FLAG_RE.lastIndex = next;
  }
  XML_TAG_RE.lastIndex = 0;
  for (let m = XML_TAG_RE.exec(text); m; m = XML_TAG_RE.exec(text)) {
    if (!isSecretKeyName(m[1]!)) continue;
    const open = m.index + m[0].length;
    let e = open;
    while (e < text.length && text.charCodeAt(e) !== 60 /* < */) e++;
    let s = open;
    while (s < e && isSpace(text.charCodeAt(s))) s++;
    let t = e;
    while (t > s && isSpace(text.charCodeAt(t - 1))) t--;
    const value = text.slice(s, t);
    const compact = compactKey(m[1]!);
    const rule: SecretRule = isSessionTokenKey(compact)
      ? 'aws-session-token'
      : isAwsSecretKeyName(compact) && /^[A-Za-z0-9/+]{40}$/.test(value)
        ? 'aws-secret-access-key'
        : 'credential-assignment';
    // Only a closed element counts: `Promise<Token>` in a code listing is not XML.
    if (text.charCodeAt(e + 1) !== 47 /* / */) continue;
    if (t > s && !isPlaceholderFor(rule, value)) push(rule, s, t);
    XML_TAG_RE.lastIndex = e;
  }
}

// ---------------------------------------------------------------------------------------------
// Public API

/** Every secret in `text`, sorted by position and merged so that no two overlap. */
export function findSecrets(text: string): SecretMatch[] {
  if (typeof text !== 'string' || text.length === 0) return [];
  const found: SecretMatch[] = [];
  const push: Sink = (rule, start, end) => {
    if (end > start) found.push({ rule, start, end });
  };
  detectPrivateKeys(text, push);
  detectAccessKeyIds(text, push);
  detectAwsSecretKeys(text, push);
  detectSessionTokens(text, push);
  detectUrlCredentials(text, push);
  detectBearerTokens(text, push);
  detectKeyedValues(text, push);
  if (found.length === 0) return found;

  found.sort((a, b) => a.start - b.start || b.end - a.end || RULE_PRIORITY[a.rule] - RULE_PRIORITY[b.rule]);
  const merged: SecretMatch[] = [];
  for (const f of found) {
    const last = merged[merged.length - 1];
    if (last && f.start < last.end) {
      // Overlap: one span covering both, tagged with the more specific rule.
      if (f.end > last.end) last.end = f.end;
      if (RULE_PRIORITY[f.rule] < RULE_PRIORITY[last.rule]) last.rule = f.rule;
      continue;
    }
    merged.push({ ...f });
  }
  return merged;
}

/** `text` with every secret replaced by `[REDACTED:<rule>]`. Returns the input itself when nothing matched. */
export function redactText(text: string): string {
  if (typeof text !== 'string' || text.length === 0) return text;
  const matches = findSecrets(text);
  if (matches.length === 0) return text;
  const parts: string[] = [];
  let pos = 0;
  for (const m of matches) {
    parts.push(text.slice(pos, m.start), `[REDACTED:${m.rule}]`);
    pos = m.end;
  }
  parts.push(text.slice(pos));
  return parts.join('');
}

const REDACTED_CREDENTIAL = '[REDACTED:credential-assignment]';
const REDACTED_ENV = '[REDACTED:lambda-env-value]';
const CIRCULAR = '[Circular]';

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object') return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function isStringMap(value: unknown): value is Record<string, string> {
  return isPlainObject(value) && Object.values(value).every((v) => typeof v === 'string');
}

/** ECS/CodeBuild shape: `[{ name, value }]`. */
function isNameValueList(value: unknown): value is Array<Record<string, unknown>> {
  return (
    Array.isArray(value) &&
    value.length > 0 &&
    value.every((item) => isPlainObject(item) && ('value' in item || 'Value' in item) && ('name' in item || 'Name' in item))
  );
}

function redactEnvValues(vars: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const name of Object.keys(vars)) out[redactText(name)] = REDACTED_ENV;
  return out;
}

/** A secret-named key's string value, unless it is empty or only a reference/placeholder. */
function redactSecretString(value: string): string {
  return isNonSecretValue(value) ? value : REDACTED_CREDENTIAL;
}

/**
 * Deep copy of `value` with every secret removed. Strings pass through redactText; string values
 * under secret key names (isSecretKeyName) are replaced whole; Lambda environment variable values
 * (`Environment.Variables`, `environmentVariables`, `environment`) are replaced, their names kept.
 * Cycles become `'[Circular]'`; a shared (non-cyclic) reference is copied at each place.
 */
export function redactValue<T>(value: T): T {
  return walk(value, new Set<object>()) as T;
}

function walk(value: unknown, path: Set<object>): unknown {
  if (typeof value === 'string') return redactText(value);
  if (value === null || typeof value !== 'object') return value;
  if (path.has(value)) return CIRCULAR;
  path.add(value);
  try {
    if (value instanceof Date) return new Date(value.getTime());
    if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer) return value;
    if (value instanceof Error) return copyError(value, path);
    if (Array.isArray(value)) return value.map((item) => walk(item, path));
    if (value instanceof Map) {
      const out = new Map<unknown, unknown>();
      for (const [k, v] of value) {
        out.set(walk(k, path), typeof k === 'string' ? walkProperty(k, v, undefined, path) : walk(v, path));
      }
      return out;
    }
    if (value instanceof Set) {
      const out = new Set<unknown>();
      for (const v of value) out.add(walk(v, path));
      return out;
    }
    return copyObject(value as Record<string, unknown>, undefined, path);
  } finally {
    path.delete(value);
  }
}

function copyObject(obj: Record<string, unknown>, ownKey: string | undefined, path: Set<object>): Record<string, unknown> {
  const out: Record<string, unknown> = Object.create(Object.getPrototypeOf(obj) as object | null);
  for (const key of Object.keys(obj)) {
    // defineProperty, not assignment: a `__proto__` key from JSON.parse must stay a plain property.
    Object.defineProperty(out, redactText(key), {
      value: walkProperty(key, obj[key], ownKey, path),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return out;
}

/** One property `key: value` of an object that itself sits at `parentKey`. */
function walkProperty(key: string, value: unknown, parentKey: string | undefined, path: Set<object>): unknown {
  const compact = compactKey(key);
  // AWS SDK / CloudFormation: { Environment: { Variables: { NAME: value } } }.
  if (compact === 'variables' && parentKey !== undefined && compactKey(parentKey) === 'environment' && isPlainObject(value)) {
    return redactEnvValues(value);
  }
  if (compact === 'environment' || compact === 'environmentvariables') {
    if (isStringMap(value)) return redactEnvValues(value);
    if (isNameValueList(value)) {
      return value.map((item) => {
        const copy = walk(item, path) as Record<string, unknown>;
        if ('value' in copy) copy.value = REDACTED_ENV;
        if ('Value' in copy) copy.Value = REDACTED_ENV;
        return copy;
      });
    }
  }
  if (isSecretKeyName(key)) {
    if (typeof value === 'string') return redactSecretString(value);
    if (Array.isArray(value) && !path.has(value)) {
      // `passwords: ['a', 'b']`: each string is a secret value.
      path.add(value);
      try {
        return value.map((item) => (typeof item === 'string' ? redactSecretString(item) : walk(item, path)));
      } finally {
        path.delete(value);
      }
    }
  }
  if (isPlainObject(value) && !path.has(value)) {
    path.add(value);
    try {
      return copyObject(value, key, path);
    } finally {
      path.delete(value);
    }
  }
  return walk(value, path);
}

function copyError(err: Error, path: Set<object>): Error {
  const copy = Object.create(Object.getPrototypeOf(err) as object) as Error;
  const define = (name: string, v: unknown) =>
    Object.defineProperty(copy, name, { value: v, writable: true, configurable: true, enumerable: false });
  define('message', redactText(err.message));
  if (Object.prototype.hasOwnProperty.call(err, 'name')) define('name', redactText(String(err.name)));
  if (typeof err.stack === 'string') define('stack', redactText(err.stack));
  if ('cause' in err) define('cause', walk(err.cause, path));
  for (const key of Object.keys(err)) {
    (copy as unknown as Record<string, unknown>)[redactText(key)] = walkProperty(key, (err as unknown as Record<string, unknown>)[key], undefined, path);
  }
  return copy;
}
