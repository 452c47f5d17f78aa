/**
 * The redactor (SPEC §4). Every text the server writes to the event log, the journal, reports
 * and tool output passes through it. Regexes are linear (no nested quantifiers), so adversarial
 * input cannot stall it.
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

export interface SecretMatch {
  rule: SecretRule;
  start: number;
  end: number;
}

/** AWS documentation placeholders: not secrets, never redacted. */
export const PLACEHOLDER_SECRETS: ReadonlySet<string> = new Set([
  'AKIAIOSFODNN7EXAMPLE',
  'ASIAIOSFODNN7EXAMPLE',
  'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
  'je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY',
]);

/** Values that stand for a secret rather than being one: references, masks, empty-ish. */
const NON_SECRET_VALUE = /^(\$\{[^}]*\}|\$[A-Z_][A-Z0-9_]*|\{\{[^}]*\}\}|<[^>]*>|\*+|x{3,}|\[REDACTED[^\]]*\]|null|none|undefined|true|false|changeme|example|placeholder|redacted|your[-_a-z]*|\.\.\.)$/i;

const KEY_NAME =
  '(?:aws_?secret_?access_?key|secret_?access_?key|secretAccessKey|SecretAccessKey|aws_?secret_?key|secret_?key|aws_?session_?token|session_?token|sessionToken|SessionToken|x-amz-security-token|client_?secret|api_?key|apikey|access_?token|auth_?token|refresh_?token|private_?key|passwd|password|pwd|secret|token)';

interface Rule {
  rule: SecretRule;
  re: RegExp;
  /** Index of the capture group holding the secret value (0 = whole match). */
  group: number;
  /** Keep the match only when the value passes. */
  accept?: (value: string, match: RegExpExecArray) => boolean;
}

const looksLikeValue = (v: string) => v.length > 0 && !NON_SECRET_VALUE.test(v) && !PLACEHOLDER_SECRETS.has(v);

const RULES: Rule[] = [
  {
    rule: 'private-key',
    re: /-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----[\s\S]*?(?:-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----|$)/g,
    group: 0,
  },
  {
    rule: 'aws-access-key-id',
    re: /(?<![A-Za-z0-9])((?:AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16})(?![A-Za-z0-9])/g,
    group: 1,
    accept: (v) => !PLACEHOLDER_SECRETS.has(v),
  },
  {
    rule: 'aws-session-token',
    re: /(?<![A-Za-z0-9+/])((?:FwoGZXIvYXdzE|IQoJb3JpZ2luX2Vj)[A-Za-z0-9+/=]{40,})/g,
    group: 1,
  },
  {
    rule: 'aws-session-token',
    re: /(aws_?session_?token|session_?token|sessionToken|SessionToken|x-amz-security-token)(["']?\s*[:=]\s*["']?)([A-Za-z0-9+/=]{16,})/gi,
    group: 3,
    accept: looksLikeValue,
  },
  {
    rule: 'aws-secret-access-key',
    re: /(aws_?secret_?access_?key|secret_?access_?key|secretAccessKey|aws_?secret_?key|secret_?key)(["']?\s*[:=]\s*["']?)([A-Za-z0-9/+]{40})(?![A-Za-z0-9/+])/gi,
    group: 3,
    accept: looksLikeValue,
  },
  {
    rule: 'authorization-header',
    re: /(authorization["']?\s*[:=]\s*["']?(?:Bearer|Basic|Token|AWS4-HMAC-SHA256)\s+)([^\s"',;]+)/gi,
    group: 2,
    accept: looksLikeValue,
  },
  {
    rule: 'url-credentials',
    re: /([a-z][a-z0-9+.-]{1,20}:\/\/[^\s:/@"']{1,128}:)([^\s@/"']{1,256})(@)/gi,
    group: 2,
    accept: looksLikeValue,
  },
  {
    rule: 'credential-assignment',
    // key = value | key: value | "key": "value" | export KEY=value ; names may be prefixed (DB_PASSWORD, github_token)
    re: new RegExp(
      `((?<![A-Za-z0-9])[A-Za-z0-9_.-]{0,40}?${KEY_NAME}(?![A-Za-z0-9])["']?\\s{0,3}(?::|=|:=)\\s{0,3})("[^"\\n]{1,512}"|'[^'\\n]{1,512}'|[^\\s"',;&}\\]]{1,512})`,
      'gi',
    ),
    group: 2,
    accept: (raw) => {
      const v = raw.replace(/^["']|["']$/g, '');
      if (!looksLikeValue(v)) return false;
      // Prose such as "token: expired" or "password: required" is not a credential.
      if (/^[a-z]{2,12}$/.test(v) && COMMON_WORDS.has(v)) return false;
      return true;
    },
  },
];

const COMMON_WORDS = new Set([
  'required',
  'optional',
  'expired',
  'invalid',
  'missing',
  'string',
  'number',
  'boolean',
  'object',
  'present',
  'absent',
  'set',
  'unset',
  'hidden',
  'masked',
  'enabled',
  'disabled',
  'yes',
  'no',
]);

export function findSecrets(text: string): SecretMatch[] {
  if (!text) return [];
  const found: SecretMatch[] = [];
  for (const rule of RULES) {
    rule.re.lastIndex = 0;
    let m: RegExpExecArray | null;
    while ((m = rule.re.exec(text)) !== null) {
      if (m[0].length === 0) {
        rule.re.lastIndex++;
        continue;
      }
      const value = m[rule.group];
      if (value === undefined) continue;
      if (rule.accept && !rule.accept(value, m)) continue;
      let start = m.index;
      if (rule.group > 0) {
        let offset = 0;
        for (let g = 1; g < rule.group; g++) offset += (m[g] ?? '').length;
        start = m.index + offset;
      }
      let end = start + value.length;
      // Quoted values: redact inside the quotes, keep the quotes.
      if (rule.rule === 'credential-assignment' && /^["']/.test(value)) {
        start += 1;
        end -= 1;
      }
      found.push({ rule: rule.rule, start, end });
    }
  }
  // Keep the earliest, then the longest; drop overlaps.
  found.sort((a, b) => a.start - b.start || b.end - a.end);
  const out: SecretMatch[] = [];
  for (const f of found) {
    const last = out.at(-1);
    if (last && f.start < last.end) {
      if (f.end > last.end) last.end = f.end;
      continue;
    }
    out.push({ ...f });
  }
  return out;
}

export function redactText(text: string): string {
  if (typeof text !== 'string' || text.length === 0) return text;
  const matches = findSecrets(text);
  if (matches.length === 0) return text;
  let out = '';
  let pos = 0;
  for (const m of matches) {
    out += text.slice(pos, m.start) + `[REDACTED:${m.rule}]`;
    pos = m.end;
  }
  return out + text.slice(pos);
}

const SECRET_KEY = /^(?:.*[-_.])?(?:password|passwd|pwd|secret|secret[-_]?access[-_]?key|secret[-_]?key|session[-_]?token|access[-_]?token|refresh[-_]?token|auth[-_]?token|id[-_]?token|token|api[-_]?key|apikey|private[-_]?key|client[-_]?secret|credentials?|authorization)$/i;
const CAMEL_SECRET = /(?:Password|Passwd|Secret|SecretAccessKey|SecretKey|SessionToken|AccessToken|RefreshToken|AuthToken|IdToken|Token|ApiKey|PrivateKey|ClientSecret|Credentials?|Authorization)$/;
const NOT_SECRET_KEY = /(?:count|counts|length|max|min|limit|arn|id|ids|name|names|policy|policies|type|hint|url|uri|expiry|expires|expiresat|ttl|hash|enabled|required|rotation|version)$/i;

/** Whether an object key names a secret (its string value will be redacted). */
export function isSecretKeyName(key: string): boolean {
  if (!key) return false;
  if (/^(?:max|min)/i.test(key) || /count$/i.test(key)) return false;
  const snake = key.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase();
  if (NOT_SECRET_KEY.test(snake.replace(/[-_.]/g, '')) && !/(secret|password|token|key)$/i.test(snake.replace(/[-_.]/g, ''))) return false;
  if (/(arn|_id|_name|_url|_policy|_type|_count)$/.test(snake)) return false;
  return SECRET_KEY.test(snake) || CAMEL_SECRET.test(key);
}

const ENV_CONTAINER_KEYS = new Set(['environmentvariables', 'environment', 'variables']);

function isPlainStringMap(value: unknown): value is Record<string, unknown> {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return false;
  return Object.values(value as Record<string, unknown>).every((v) => v === null || ['string', 'number', 'boolean'].includes(typeof v));
}

/** Deep copy with every secret removed; Lambda environment variable values are always removed. */
export function redactValue<T>(value: T): T {
  return walk(value, new WeakSet(), null, null) as T;
}

function walk(value: unknown, seen: WeakSet<object>, key: string | null, parentKey: string | null): unknown {
  if (typeof value === 'string') {
    if (key && isSecretKeyName(key) && value.length > 0 && !NON_SECRET_VALUE.test(value) && !PLACEHOLDER_SECRETS.has(value)) {
      return '[REDACTED:credential-assignment]';
    }
    return redactText(value);
  }
  if (value === null || typeof value !== 'object') return value;
  if (seen.has(value)) return '[Circular]';
  seen.add(value);
  try {
    if (value instanceof Error) {
      return { name: value.name, message: redactText(value.message) };
    }
    if (Array.isArray(value)) return value.map((v) => walk(v, seen, null, key));
    const lowerKey = key?.toLowerCase() ?? '';
    const envMap =
      ((lowerKey === 'variables' && parentKey?.toLowerCase() === 'environment') ||
        (ENV_CONTAINER_KEYS.has(lowerKey) && lowerKey !== 'variables')) &&
      isPlainStringMap(value);
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      if (envMap && typeof v === 'string') out[k] = v.length ? '[REDACTED:lambda-env-value]' : v;
      else out[k] = walk(v, seen, k, key);
    }
    return out;
  } finally {
    seen.delete(value);
  }
}
