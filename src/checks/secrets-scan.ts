/**
 * The secrets scanner behind `check-config` (SPEC §1 phase 2). Pure functions: text in, findings
 * out. Detection reuses the redactor's detectors (`findSecrets`, the same linear-time regexes
 * that keep secrets out of the journal), then applies what a redactor can afford to skip but a
 * scanner that blocks a deployment cannot — the precision rules below.
 *
 * Rules and when they fire (every finding is `high`: a high finding makes check-config unclean):
 *
 * - `aws-access-key-id` — `AKIA|ASIA|ABIA|ACCA` + 16 of `[A-Z2-7]`, anywhere, as a whole token.
 * - `aws-secret-access-key` — 40 characters of `[A-Za-z0-9/+]` next to a key-like name
 *   (`aws_secret_access_key = …`, `SecretAccessKey: …`, `<SecretAccessKey>…`) or right after an
 *   access key id (`credentials.csv`). Must carry at least 3.5 bits of entropy per character
 *   (a real key has ≈ 4.6; `aaaa…` or a hex digest padded to 40 does not).
 * - `aws-session-token` — an STS token blob (`IQoJb3JpZ2luX2Vj…`, `FwoGZXIvYXdzE…`) anywhere, or
 *   a 64+ character base64 value after `session_token` / `security_token`.
 * - `private-key` — a PEM `BEGIN … PRIVATE KEY` … `END … PRIVATE KEY` block with a body (at least
 *   one line of 40+ base64 characters between the markers; `\n` escapes in a string count as
 *   line breaks). A lone header used as a marker in parsing code is not a key.
 * - `credential-assignment` — `password=` / `secret:` / `token =` / `api_key:` style assignments
 *   (the redactor's key names: the last word of the key decides, so `tokenCount` and `secretArn`
 *   are not secret names). The value must look like a literal credential:
 *     - at least {@link GENERIC_MIN_LENGTH} characters;
 *     - Shannon entropy at least {@link GENERIC_MIN_ENTROPY} bits per character — English words
 *       and default passwords (`changeme` 2.75, `password` 2.75, `hunter22` 2.75) fall below,
 *       generated secrets (≈ 4+) and real passwords with mixed classes (`P@ssw0rd!2024` 3.2) above;
 *     - at least two character classes (lower, upper, digit, symbol), so identifiers such as
 *       `refresh_token` or `correcthorsebattery` are not findings;
 *     - not an identifier-shaped reference (`DB_PASSWORD`, `my-secret-name`), a path, a URL,
 *       prose (two or more spaces), or a placeholder (`example`, `your…`, `dummy`, `fake`,
 *       `sample`, `placeholder`, `changeme`, `xxx`, `<…>`, `${…}`, `{{…}}`, masks);
 *     - in source code (by file extension) only quoted literals count: `password: string` or
 *       `token = getToken()` are expressions, not values.
 * - `authorization-header` and `url-credentials` (`https://user:pass@host`) — the same value tests
 *   as credential assignments.
 *
 * Allowlist: AWS documentation placeholders (`AKIAIOSFODNN7EXAMPLE`, anything AWS-shaped that
 * contains `EXAMPLE`, see PLACEHOLDER_SECRETS) and any line carrying `deploy-mcp:allow-secret`.
 * For a PEM block the marker may also sit on the line just above the BEGIN line (a PEM header
 * cannot carry a comment).
 *
 * Findings never contain the secret: the excerpt is the line with every detected value replaced
 * by a mask (an access key id keeps only its 4-letter prefix, which names the key type).
 */
import { createHash } from 'node:crypto';
import { PLACEHOLDER_SECRETS, findSecrets, redactText, type SecretMatch } from '../journal/redact.js';

export type ScanRule =
  | 'aws-access-key-id'
  | 'aws-secret-access-key'
  | 'aws-session-token'
  | 'private-key'
  | 'credential-assignment'
  | 'authorization-header'
  | 'url-credentials';

export const AWS_KEY_RULES: readonly ScanRule[] = ['aws-access-key-id', 'aws-secret-access-key', 'aws-session-token'];

export interface SecretFinding {
  severity: 'high';
  kind: 'secret';
  file: string;
  /** 1-based line number of the start of the secret. */
  line: number;
  rule: ScanRule;
  message: string;
  /** The line with the secret masked (never the secret itself). */
  excerpt: string;
}

/** A finding plus what dedupes it across scans (a hash of the value, kept in memory only). */
export interface DetailedFinding {
  finding: SecretFinding;
  fingerprint: string;
}

/** The marker that allowlists a line. */
export const ALLOW_MARKER = 'deploy-mcp:allow-secret';

/** Minimum Shannon entropy, bits per character, of a generic credential value. */
export const GENERIC_MIN_ENTROPY = 3.0;
/** Minimum length of a generic credential value. */
export const GENERIC_MIN_LENGTH = 8;
/** Minimum entropy of a 40-character AWS secret access key. */
export const AWS_SECRET_MIN_ENTROPY = 3.5;
/** Minimum length of a session token value found by key name. */
export const SESSION_TOKEN_MIN_LENGTH = 64;

const MASK = '********';
const MAX_EXCERPT = 160;

const CODE_EXTENSIONS = new Set([
  'ts', 'tsx', 'mts', 'cts', 'js', 'jsx', 'mjs', 'cjs', 'py', 'rb', 'go', 'java', 'kt', 'kts', 'scala', 'cs', 'php', 'rs',
  'swift', 'c', 'h', 'cc', 'cpp', 'hpp', 'm', 'mm', 'dart', 'lua', 'groovy', 'vue', 'svelte', 'ex', 'exs', 'clj', 'fs',
]);

const RULE_TEXT: Record<ScanRule, { what: string; next: string }> = {
  'aws-access-key-id': {
    what: 'AWS access key id',
    next: 'Deactivate and rotate the key in IAM, remove it from the file (and from git history if it was committed), and load credentials from a profile or the environment instead',
  },
  'aws-secret-access-key': {
    what: 'AWS secret access key',
    next: 'Rotate the key pair in IAM, remove it from the file (and from git history if it was committed), and load credentials from a profile or the environment instead',
  },
  'aws-session-token': {
    what: 'AWS session token',
    next: 'Remove it from the file (and from git history if it was committed); it expires, but revoke the session (IAM role: revoke active sessions) if it may still be valid',
  },
  'private-key': {
    what: 'PEM private key',
    next: 'Remove the key from the repository (and from git history), replace the key pair, and load it from a secret store at run time',
  },
  'credential-assignment': {
    what: 'hard-coded credential',
    next: 'Move the value to a secret store or an environment variable and reference it; rotate it if it was ever committed',
  },
  'authorization-header': {
    what: 'hard-coded Authorization header value',
    next: 'Move the token to a secret store or an environment variable and rotate it',
  },
  'url-credentials': {
    what: 'password embedded in a URL',
    next: 'Take the password out of the URL (pass it from a secret store or an environment variable) and rotate it',
  },
};

/** Shannon entropy of `value` in bits per character. */
export function shannonEntropy(value: string): number {
  if (value.length === 0) return 0;
  const counts = new Map<string, number>();
  for (const ch of value) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  const n = [...value].length;
  let h = 0;
  for (const c of counts.values()) {
    const p = c / n;
    h -= p * Math.log2(p);
  }
  return h;
}

function characterClasses(value: string): number {
  let classes = 0;
  if (/[a-z]/.test(value)) classes++;
  if (/[A-Z]/.test(value)) classes++;
  if (/[0-9]/.test(value)) classes++;
  if (/[^A-Za-z0-9]/.test(value)) classes++;
  return classes;
}

const PLACEHOLDER_WORDS = /example|placeholder|changeme|change[_-]me|dummy|fake|sample|^your|[_-]your[_-]|redacted|xxxx|\*\*\*|todo|fixme|insert[_-]|replace[_-]?me|^<.*>$|\$\{|\{\{|%\(|^\$[A-Za-z_]/i;
const SESSION_TOKEN_VALUE = new RegExp(`^[A-Za-z0-9/+=%]{${SESSION_TOKEN_MIN_LENGTH},}$`);

/**
 * Whether a value after a secret-looking key is a literal credential worth blocking on (see the
 * file comment for the rules and thresholds).
 */
export function looksLikeCredential(value: string): boolean {
  const v = value.trim();
  if (v.length < GENERIC_MIN_LENGTH) return false;
  if (PLACEHOLDER_SECRETS.has(v)) return false;
  if (PLACEHOLDER_WORDS.test(v)) return false;
  if ((v.match(/ /g)?.length ?? 0) >= 2) return false;
  // References: env var names, kebab/snake identifiers, dotted paths, function calls.
  if (/^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+$/.test(v)) return false;
  if (/^[a-z]+(?:[_.-][a-z]+)+$/.test(v)) return false;
  if (/^[A-Za-z_$][\w$]*\(.*\)$/.test(v)) return false;
  if (/^(?:\/|\.\.?\/|~\/)/.test(v)) return false;
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(v) && !/@/.test(v)) return false;
  if (v.startsWith('arn:')) return false;
  if (/^[*•xX.#_-]+$/.test(v)) return false;
  if (characterClasses(v) < 2) return false;
  return shannonEntropy(v) >= GENERIC_MIN_ENTROPY;
}

function extensionOf(file: string): string {
  const base = file.slice(file.lastIndexOf('/') + 1);
  const dot = base.lastIndexOf('.');
  return dot > 0 ? base.slice(dot + 1).toLowerCase() : '';
}

/** Offsets of the start of every line. */
function lineStarts(text: string): number[] {
  const starts = [0];
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) starts.push(i + 1);
  return starts;
}

function lineIndexOf(starts: number[], offset: number): number {
  let lo = 0;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (starts[mid]! <= offset) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

function lineText(text: string, starts: number[], index: number): string {
  const start = starts[index]!;
  const end = index + 1 < starts.length ? starts[index + 1]! - 1 : text.length;
  return text.slice(start, end).replace(/\r$/, '');
}

/** A value span that may be a finding, before the allowlist. */
interface Candidate {
  rule: ScanRule;
  start: number;
  end: number;
}

const ACCESS_KEY_ID_RE = /(?<![A-Za-z0-9])(?:AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16}(?![A-Za-z0-9])/g;
/** STS token blobs, also right after `=` (the redactor's boundary excludes that). */
const STS_TOKEN_RE = /(?<![A-Za-z0-9/+])(?:FwoGZXIvYXdzE|FQoGZXIvYXdzE|IQoJb3JpZ2luX2Vj)[A-Za-z0-9/+=%]{40,}/g;

/**
 * The AWS key classes are matched here directly rather than through the redactor's merged
 * spans: a key id inside a larger value (`X-Amz-Credential=ASIA…/2024…`) must still be its own
 * finding, and recall on these classes is the point of the scan.
 */
function awsCandidates(text: string): Candidate[] {
  const out: Candidate[] = [];
  ACCESS_KEY_ID_RE.lastIndex = 0;
  for (let m = ACCESS_KEY_ID_RE.exec(text); m; m = ACCESS_KEY_ID_RE.exec(text)) {
    if (!PLACEHOLDER_SECRETS.has(m[0]) && !m[0].includes('EXAMPLE')) out.push({ rule: 'aws-access-key-id', start: m.index, end: m.index + m[0].length });
  }
  STS_TOKEN_RE.lastIndex = 0;
  for (let m = STS_TOKEN_RE.exec(text); m; m = STS_TOKEN_RE.exec(text)) {
    if (!m[0].includes('EXAMPLE')) out.push({ rule: 'aws-session-token', start: m.index, end: m.index + m[0].length });
  }
  return out;
}

/**
 * An unquoted value ends at whitespace or a quote, not at `&`/`;`/`,` as the redactor's does (it
 * reads query strings); in a dotenv or YAML file `P&ss;word` is one value.
 */
function extendUnquoted(text: string, start: number, end: number): number {
  let e = end;
  while (e < text.length && !/[\s"'`]/.test(text[e]!)) e++;
  return e;
}

/** Decides whether a redactor match is a finding, under which rule, and over which span. */
function classify(match: SecretMatch, text: string, code: boolean): Candidate | null {
  const before = text[match.start - 1] ?? '';
  const quoted = before === '"' || before === "'" || before === '`';
  const generic = (rule: ScanRule): Candidate | null => {
    if (code && !quoted) return null;
    const end = quoted || rule !== 'credential-assignment' ? match.end : extendUnquoted(text, match.start, match.end);
    return looksLikeCredential(text.slice(match.start, end)) ? { rule, start: match.start, end } : null;
  };
  const value = text.slice(match.start, match.end);
  switch (match.rule) {
    case 'aws-access-key-id':
      // Found by awsCandidates; what else the merged span holds is an assignment around it.
      return null;
    case 'aws-secret-access-key':
      if (/^[A-Za-z0-9/+]{40}$/.test(value)) {
        return shannonEntropy(value) >= AWS_SECRET_MIN_ENTROPY ? { rule: 'aws-secret-access-key', start: match.start, end: match.end } : null;
      }
      return generic('credential-assignment');
    case 'aws-session-token':
      if (/^(?:FwoGZXIvYXdzE|FQoGZXIvYXdzE|IQoJb3JpZ2luX2Vj)/.test(value)) return null;
      if (SESSION_TOKEN_VALUE.test(value) && shannonEntropy(value) >= 4) return { rule: 'aws-session-token', start: match.start, end: match.end };
      return generic('credential-assignment');
    case 'private-key':
      return hasPemBody(value) ? { rule: 'private-key', start: match.start, end: match.end } : null;
    case 'url-credentials':
      return looksLikeCredential(decodeURIComponentSafe(value)) ? { rule: 'url-credentials', start: match.start, end: match.end } : null;
    case 'authorization-header':
      return generic('authorization-header') ?? (/(?:Bearer|Basic|Token)\s+$/i.test(text.slice(Math.max(0, match.start - 8), match.start)) && looksLikeCredential(value) ? { rule: 'authorization-header', start: match.start, end: match.end } : null);
    case 'credential-assignment':
      return generic('credential-assignment');
    default:
      return null;
  }
}

/**
 * A PEM block with a BEGIN and an END marker and, between them, at least one line that is
 * nothing but 40+ base64 characters (literal `\n` escapes, as in a JSON or code string, count
 * as line breaks). A header alone, used as a marker in parsing code, is not a key.
 */
function hasPemBody(value: string): boolean {
  const begin = /-----BEGIN [A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----/.exec(value);
  if (!begin) return false;
  const bodyStart = begin.index + begin[0].length;
  const end = /-----END [A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----/.exec(value.slice(bodyStart));
  if (!end) return false;
  const body = value.slice(bodyStart, bodyStart + end.index).replace(/\\r/g, '').replace(/\\n/g, '\n');
  return body.split('\n').some((line) => /^[A-Za-z0-9+/=]{40,}$/.test(line.trim().replace(/^["'`+\s]+|["'`+,\s]+$/g, '')));
}

function decodeURIComponentSafe(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

function maskValue(value: string): string {
  const prefix = /^(?:AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16}$/.test(value) ? value.slice(0, 4) : '';
  return prefix ? `${prefix}${'*'.repeat(16)}` : MASK;
}

/**
 * The line of a finding with every detected value on it masked, cut to a readable width around
 * the first masked value. Passed through the redactor as a second safety net.
 */
function excerptFor(text: string, starts: number[], lineIndex: number, spans: { start: number; end: number }[], rule: ScanRule): string {
  const lineStart = starts[lineIndex]!;
  const raw = lineText(text, starts, lineIndex);
  const lineEnd = lineStart + raw.length;
  if (rule === 'private-key') {
    const header = /-----BEGIN [A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----/.exec(raw)?.[0] ?? '-----BEGIN PRIVATE KEY-----';
    return `${header} [key body masked]`;
  }
  let out = '';
  let pos = lineStart;
  let firstMask = -1;
  for (const m of spans) {
    if (m.end <= lineStart || m.start >= lineEnd || m.end <= pos) continue;
    const s = Math.max(m.start, lineStart, pos);
    const e = Math.min(m.end, lineEnd);
    out += text.slice(pos, s);
    if (firstMask < 0) firstMask = out.length;
    out += maskValue(text.slice(m.start, m.end));
    pos = e;
  }
  out += text.slice(pos, lineEnd);
  out = out.trim();
  if (out.length > MAX_EXCERPT) {
    const centre = Math.max(0, firstMask - 40);
    out = `${centre > 0 ? '…' : ''}${out.slice(centre, centre + MAX_EXCERPT)}…`;
  }
  return redactText(out);
}

function allowed(text: string, starts: number[], lineIndex: number, rule: ScanRule): boolean {
  if (lineText(text, starts, lineIndex).includes(ALLOW_MARKER)) return true;
  return rule === 'private-key' && lineIndex > 0 && lineText(text, starts, lineIndex - 1).includes(ALLOW_MARKER);
}

/** Every secret in one file's text, with what dedupes it (in memory only). */
export function scanTextDetailed(file: string, text: string): DetailedFinding[] {
  if (!text) return [];
  const aws = awsCandidates(text);
  const matches = findSecrets(text);
  if (matches.length === 0 && aws.length === 0) return [];
  const code = CODE_EXTENSIONS.has(extensionOf(file));
  const candidates: Candidate[] = [...aws];
  for (const match of matches) {
    const c = classify(match, text, code);
    // An assignment wrapped around a key id or STS token is that key, reported once.
    if (c && !aws.some((a) => a.start < c.end && c.start < a.end)) candidates.push(c);
  }
  candidates.sort((x, y) => x.start - y.start);
  // Mask everything either detector saw, so an excerpt never shows a neighbouring value.
  const masks = [...matches.map((m) => ({ start: m.start, end: m.end })), ...candidates].sort((x, y) => x.start - y.start);
  const starts = lineStarts(text);
  const out: DetailedFinding[] = [];
  for (const c of candidates) {
    const lineIndex = lineIndexOf(starts, c.start);
    if (allowed(text, starts, lineIndex, c.rule)) continue;
    const line = lineIndex + 1;
    const excerpt = excerptFor(text, starts, lineIndex, masks, c.rule);
    const { what, next } = RULE_TEXT[c.rule];
    out.push({
      finding: {
        severity: 'high',
        kind: 'secret',
        file,
        line,
        rule: c.rule,
        message: `${what} in ${file}:${line}: ${excerpt}. ${next}. If it is a deliberate test fixture, add "${ALLOW_MARKER}" to the line.`,
        excerpt,
      },
      fingerprint: createHash('sha256').update(`${c.rule}\0${text.slice(c.start, c.end)}`).digest('hex'),
    });
  }
  return out;
}

/** Every secret in one file's text: `{severity, kind, file, line, rule, message, excerpt}`. */
export function scanText(file: string, text: string): SecretFinding[] {
  return scanTextDetailed(file, text).map((d) => d.finding);
}

/** Whether a buffer is binary (a NUL byte in its first 8 KB, as git decides). */
export function isBinary(content: Buffer): boolean {
  return content.subarray(0, 8192).includes(0);
}

/**
 * The lines a patch adds, per file, from `git log -p` output with `--format=commit %H`: each
 * added line with its line number in the new file. Removed and context lines are dropped.
 */
export interface AddedLines {
  commit: string;
  file: string;
  lines: { line: number; text: string }[];
}

export function parseAddedLines(patch: string): AddedLines[] {
  const out: AddedLines[] = [];
  let commit = '';
  let current: AddedLines | null = null;
  let newLine = 0;
  let inHunk = false;
  for (const raw of patch.split('\n')) {
    if (raw.startsWith('commit ') && /^commit [0-9a-f]{7,64}$/.test(raw)) {
      commit = raw.slice(7);
      current = null;
      inHunk = false;
      continue;
    }
    if (raw.startsWith('diff --git ')) {
      current = null;
      inHunk = false;
      continue;
    }
    if (!inHunk && raw.startsWith('+++ ')) {
      const target = raw.slice(4);
      if (target === '/dev/null') {
        current = null;
        continue;
      }
      const file = target.startsWith('b/') ? target.slice(2) : target;
      current = { commit, file: unquoteGitPath(file), lines: [] };
      out.push(current);
      continue;
    }
    const hunk = /^@@ -\d+(?:,\d+)? \+(\d+)(?:,\d+)? @@/.exec(raw);
    if (hunk) {
      newLine = Number(hunk[1]);
      inHunk = current !== null;
      continue;
    }
    if (!inHunk || !current) continue;
    if (raw.startsWith('+')) {
      current.lines.push({ line: newLine, text: raw.slice(1) });
      newLine++;
    } else if (raw.startsWith(' ')) {
      newLine++;
    } else if (raw.startsWith('-') || raw.startsWith('\\')) {
      // removed line / "\ No newline at end of file"
    } else {
      inHunk = false;
    }
  }
  return out.filter((a) => a.lines.length > 0);
}

/** git quotes unusual paths as C strings ("a\tb"). */
function unquoteGitPath(p: string): string {
  if (!(p.startsWith('"') && p.endsWith('"'))) return p;
  try {
    return JSON.parse(p.replace(/\\([0-7]{3})/g, (_, o: string) => `\\u00${parseInt(o, 8).toString(16).padStart(2, '0')}`)) as string;
  } catch {
    return p.slice(1, -1);
  }
}

/**
 * Scans the lines a set of commits added. Contiguous added lines are scanned together (so a PEM
 * block added in one hunk is seen whole); findings carry the line number in that commit's file.
 */
export function scanAddedLines(added: AddedLines): DetailedFinding[] {
  const text = added.lines.map((l) => l.text).join('\n');
  return scanTextDetailed(added.file, text).map((d) => {
    const line = added.lines[d.finding.line - 1]?.line ?? d.finding.line;
    const short = added.commit.slice(0, 10);
    const finding = {
      ...d.finding,
      line,
      message: d.finding.message.replace(`${added.file}:${d.finding.line}`, `${added.file}:${line} (added in commit ${short}, still in the branch history)`),
    };
    return { finding, fingerprint: d.fingerprint };
  });
}
