import { describe, it, expect } from 'vitest';
import {
  PLACEHOLDER_SECRETS,
  findSecrets,
  isSecretKeyName,
  redactText,
  redactValue,
  type SecretMatch,
  type SecretRule,
} from '../src/journal/redact.js';
import { CORPUS, type CorpusCase } from './fixtures/redaction-corpus.js';

const positives = CORPUS.filter((c) => c.secrets.length > 0);
const negatives = CORPUS.filter((c) => c.secrets.length === 0);

/** Every piece of `secret` that must not survive: its 8-character windows, or the whole of a shorter one. */
function fragments(secret: string): string[] {
  if (secret.length < 8) return [secret];
  const out: string[] = [];
  for (let i = 0; i + 8 <= secret.length; i++) out.push(secret.slice(i, i + 8));
  return out;
}

function survivingFragment(output: string, secret: string): string | undefined {
  return fragments(secret).find((f) => output.includes(f));
}

/** All occurrences of `value` in `text` as [start, end). */
function occurrences(text: string, value: string): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let i = text.indexOf(value); i >= 0; i = text.indexOf(value, i + 1)) out.push([i, i + value.length]);
  return out;
}

const overlaps = (m: SecretMatch, [s, e]: [number, number]) => m.start < e && s < m.end;

describe('corpus', () => {
  it('is large enough and covers every text rule', () => {
    expect(CORPUS.length).toBeGreaterThanOrEqual(60);
    const rules = new Set(positives.flatMap((c) => c.secrets.map((s) => s.rule)));
    const textRules: SecretRule[] = [
      'aws-access-key-id',
      'aws-secret-access-key',
      'aws-session-token',
      'private-key',
      'credential-assignment',
      'authorization-header',
      'url-credentials',
    ];
    for (const rule of textRules) expect(rules, rule).toContain(rule);
    expect(negatives.length).toBeGreaterThanOrEqual(20);
    // Each expected secret really is in its text.
    for (const c of positives) for (const s of c.secrets) expect(c.text, c.name).toContain(s.value);
  });

  describe('true positives: nothing of the secret survives, the rule is named', () => {
    it.each(positives.map((c) => [c.name, c] as [string, CorpusCase]))('%s', (_name, c) => {
      const out = redactText(c.text);
      for (const s of c.secrets) {
        expect(survivingFragment(out, s.value), `fragment of ${s.rule} secret survived in:\n${out}`).toBeUndefined();
        expect(out).toContain(`[REDACTED:${s.rule}]`);
      }
    });
  });

  describe('true negatives: output equals input', () => {
    it.each(negatives.map((c) => [c.name, c] as [string, CorpusCase]))('%s', (_name, c) => {
      expect(findSecrets(c.text)).toEqual([]);
      expect(redactText(c.text)).toBe(c.text);
    });
  });

  it('is idempotent: redacting twice equals redacting once', () => {
    for (const c of CORPUS) {
      const once = redactText(c.text);
      expect(redactText(once), c.name).toBe(once);
      expect(findSecrets(once), c.name).toEqual([]);
    }
  });

  it('still removes every secret when all cases are joined into one text', () => {
    // Neighbouring cases must not hide each other's secrets (e.g. an unterminated value running on).
    for (const separator of ['\n', '\n\n', ' ; ', '\r\n']) {
      const joined = CORPUS.map((c) => c.text).join(separator);
      const out = redactText(joined);
      const secrets = positives.flatMap((c) => c.secrets.map((s) => ({ name: c.name, value: s.value })));
      // Fragments such as "Credenti" also occur in non-secret text of other cases: only the rest count.
      const nonSecretText = secrets.reduce((text, s) => text.split(s.value).join('\u0000'), joined);
      for (const s of secrets) {
        const leaked = fragments(s.value).find((f) => out.includes(f) && !nonSecretText.includes(f));
        expect(leaked, `${s.name} (joined with ${JSON.stringify(separator)})`).toBeUndefined();
      }
      expect(redactText(out)).toBe(out);
    }
  });

  it('returns sorted, non-overlapping matches inside the text', () => {
    for (const c of CORPUS) {
      const matches = findSecrets(c.text);
      for (let i = 0; i < matches.length; i++) {
        const m = matches[i]!;
        expect(m.start).toBeGreaterThanOrEqual(0);
        expect(m.end).toBeGreaterThan(m.start);
        expect(m.end).toBeLessThanOrEqual(c.text.length);
        if (i > 0) expect(m.start, c.name).toBeGreaterThanOrEqual(matches[i - 1]!.end);
      }
    }
  });

  it('reports precision and recall over the corpus', () => {
    let expected = 0;
    let found = 0;
    let matches = 0;
    let truePositiveMatches = 0;
    for (const c of CORPUS) {
      const got = findSecrets(c.text);
      const out = redactText(c.text);
      const spans = c.secrets.flatMap((s) => occurrences(c.text, s.value));
      matches += got.length;
      truePositiveMatches += got.filter((m) => spans.some((span) => overlaps(m, span))).length;
      for (const s of c.secrets) {
        expected++;
        if (survivingFragment(out, s.value) === undefined && out.includes(`[REDACTED:${s.rule}]`)) found++;
      }
    }
    const precision = matches === 0 ? 1 : truePositiveMatches / matches;
    const recall = expected === 0 ? 1 : found / expected;
    console.log(
      `redaction corpus: ${CORPUS.length} cases (${positives.length} positive, ${negatives.length} negative), ` +
        `${expected} secrets, ${matches} matches — precision ${(precision * 100).toFixed(1)}% (${truePositiveMatches}/${matches}), ` +
        `recall ${(recall * 100).toFixed(1)}% (${found}/${expected})`,
    );
    expect(precision).toBe(1);
    expect(recall).toBe(1);
  });
});

describe('findSecrets offsets', () => {
  it('cover the value only, not the key name', () => {
    const text = 'DB_PASSWORD=s3cr3t-Value-99 next';
    const [m] = findSecrets(text);
    expect(m).toEqual({ rule: 'credential-assignment', start: text.indexOf('s3cr3t'), end: text.indexOf(' next') });
  });

  it('keep the quotes and the scheme name', () => {
    expect(redactText('{"password": "hunter2-but-longer"}')).toBe('{"password": "[REDACTED:credential-assignment]"}');
    expect(redactText('Authorization: Bearer abcdefghijklmnopqrstuvwxyz012345')).toBe('Authorization: Bearer [REDACTED:authorization-header]');
    expect(redactText('postgres://app:Pa55wordXyz@db:5432/app')).toBe('postgres://app:[REDACTED:url-credentials]@db:5432/app');
  });

  it('end an unquoted value at whitespace, quote and comma, and at & or ; only where the next key=value starts', () => {
    for (const end of [' ', '"', "'", ',', '; ']) {
      expect(redactText(`token=abc123XYZ789${end}rest`)).toBe(`token=[REDACTED:credential-assignment]${end}rest`);
    }
    expect(redactText('token=abc123XYZ789&user=bob')).toBe('token=[REDACTED:credential-assignment]&user=bob');
    expect(redactText('token=abc123XYZ789;user=bob')).toBe('token=[REDACTED:credential-assignment];user=bob');
    // & and ; inside a password are part of it: nothing after them may leak.
    for (const secret of ['ho&Xk9pLq2Wz7', 'ho;Xk9pLq2Wz7']) {
      const out = redactText(`DB_PASSWORD=${secret} next`);
      expect(out).toBe('DB_PASSWORD=[REDACTED:credential-assignment] next');
    }
  });

  it('treat key names case-insensitively in camel, snake and kebab case', () => {
    for (const key of ['password', 'PASSWORD', 'Password', 'db_password', 'db-password', 'dbPassword', 'client_secret', 'ClientSecret', 'api-key', 'API_KEY', 'apiKey', 'auth_token', 'AuthToken']) {
      expect(redactText(`${key}=Zq8xWv3rTy6uIo1p`), key).toBe(`${key}=[REDACTED:credential-assignment]`);
    }
  });

  it('leave documentation placeholders alone', () => {
    for (const placeholder of PLACEHOLDER_SECRETS) {
      for (const text of [placeholder, `aws_secret_access_key = ${placeholder}`, `AWS_ACCESS_KEY_ID=${placeholder}`, `"SecretAccessKey": "${placeholder}"`]) {
        expect(redactText(text), text).toBe(text);
      }
    }
  });

  it('redact a secret key that is not exactly 40 characters under the generic rule', () => {
    expect(redactText('aws_secret_access_key=tooShortButStillASecret')).toBe('aws_secret_access_key=[REDACTED:credential-assignment]');
  });

  it('redact two adjacent PEM keys and keep the text between them', () => {
    const key = (body: string) => `-----BEGIN PRIVATE KEY-----\n${body}\n-----END PRIVATE KEY-----`;
    const text = `a\n${key('QUJDREVGR0hJSktMTU5PUFFSU1RVVldY')}\nmiddle\n${key('WVpBQkNERUZHSElKS0xNTk9QUVJTVFVW')}\nz`;
    expect(redactText(text)).toBe('a\n[REDACTED:private-key]\nmiddle\n[REDACTED:private-key]\nz');
  });
});

describe('isSecretKeyName', () => {
  it.each([
    'password',
    'passwd',
    'pwd',
    'secret',
    'secretAccessKey',
    'SecretAccessKey',
    'aws_secret_access_key',
    'sessionToken',
    'SessionToken',
    'x-amz-security-token',
    'token',
    'apiKey',
    'api_key',
    'x-api-key',
    'privateKey',
    'private_key',
    'clientSecret',
    'client-secret',
    'credentials',
    'authorization',
    'Authorization',
    'DB_PASSWORD',
    'MasterUserPassword',
    'access_token',
    'refreshToken',
    'SecretString',
  ])('%s is a secret name', (key) => {
    expect(isSecretKeyName(key)).toBe(true);
  });

  it.each([
    'tokenCount',
    'maxTokens',
    'max_tokens',
    'tokens',
    'secretArn',
    'SecretId',
    'secretName',
    'passwordPolicy',
    'PasswordLastUsed',
    'hash',
    'prev',
    'NextToken',
    'progressToken',
    'ClientToken',
    'AccessKeyId',
    'accessKeyId',
    'AuthorizationType',
    'PWD',
    'OLDPWD',
    'name',
    'environment',
    '',
  ])('%s is not a secret name', (key) => {
    expect(isSecretKeyName(key)).toBe(false);
  });
});

describe('redactValue', () => {
  const KEY_ID = 'AKIA' + 'QZ7XW2VB3NM4LK5J';
  const SECRET = 'Zm9vYmFyYmF6cXV4' + 'cXV1eGNvcmdlZ3JhdWx0Z2FycA'.slice(0, 24);

  it('copies deeply, redacting strings and secret-named keys, leaving other scalars alone', () => {
    const input = {
      task: 7,
      ok: true,
      none: null,
      missing: undefined,
      note: `used ${KEY_ID} to deploy`,
      nested: { deeper: [{ password: 'p4ss-w0rd-xyz', user: 'deploy' }, 'plain', 42, `secret=${SECRET}`] },
      secretAccessKey: SECRET,
    };
    const out = redactValue(input);
    expect(out).toEqual({
      task: 7,
      ok: true,
      none: null,
      missing: undefined,
      note: 'used [REDACTED:aws-access-key-id] to deploy',
      nested: { deeper: [{ password: '[REDACTED:credential-assignment]', user: 'deploy' }, 'plain', 42, 'secret=[REDACTED:credential-assignment]'] },
      secretAccessKey: '[REDACTED:credential-assignment]',
    });
    // The input is untouched and the output shares no objects with it.
    expect(input.nested.deeper[0]).toEqual({ password: 'p4ss-w0rd-xyz', user: 'deploy' });
    expect(out.nested).not.toBe(input.nested);
    expect(out.nested.deeper).not.toBe(input.nested.deeper);
  });

  it('returns scalars as they are', () => {
    expect(redactValue(42)).toBe(42);
    expect(redactValue(false)).toBe(false);
    expect(redactValue(null)).toBe(null);
    expect(redactValue(undefined)).toBe(undefined);
    expect(redactValue('nothing here')).toBe('nothing here');
    expect(redactValue(`key ${KEY_ID}`)).toBe('key [REDACTED:aws-access-key-id]');
  });

  it('applies the key rules: secret names redacted, look-alikes and numbers kept', () => {
    const out = redactValue({
      token: 'tkn-123456789',
      apiKey: 'k-abcdefghijkl',
      'client-secret': 'cs-abcdefghijkl',
      Authorization: 'Bearer xyz',
      credentials: 'user:pass',
      privateKey: 'anything',
      tokenCount: 12,
      maxTokens: 512,
      tokens: 300,
      secretArn: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-AbCdEf',
      passwordPolicy: 'strict',
      hash: 'a'.repeat(64),
      prev: 'b'.repeat(64),
      password: '',
      secret: '${DB_SECRET}',
      passwordEnabled: true,
    });
    expect(out).toEqual({
      token: '[REDACTED:credential-assignment]',
      apiKey: '[REDACTED:credential-assignment]',
      'client-secret': '[REDACTED:credential-assignment]',
      Authorization: '[REDACTED:credential-assignment]',
      credentials: '[REDACTED:credential-assignment]',
      privateKey: '[REDACTED:credential-assignment]',
      tokenCount: 12,
      maxTokens: 512,
      tokens: 300,
      secretArn: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-AbCdEf',
      passwordPolicy: 'strict',
      hash: 'a'.repeat(64),
      prev: 'b'.repeat(64),
      // Empty values and references are not secrets.
      password: '',
      secret: '${DB_SECRET}',
      passwordEnabled: true,
    });
  });

  it('recurses into objects under secret names (STS credentials)', () => {
    const out = redactValue({ Credentials: { AccessKeyId: KEY_ID, SecretAccessKey: SECRET, SessionToken: 'IQoJb3JpZ2luX2Vj' + 'A'.repeat(60), Expiration: 3600 } });
    expect(out).toEqual({
      Credentials: {
        AccessKeyId: '[REDACTED:aws-access-key-id]',
        SecretAccessKey: '[REDACTED:credential-assignment]',
        SessionToken: '[REDACTED:credential-assignment]',
        Expiration: 3600,
      },
    });
  });

  it('redacts every string in an array under a secret name', () => {
    expect(redactValue({ passwords: ['one-long-pass', 'two-long-pass'] })).toEqual({
      passwords: ['[REDACTED:credential-assignment]', '[REDACTED:credential-assignment]'],
    });
  });

  it('replaces Lambda environment variable values and keeps their names', () => {
    const config = {
      FunctionName: 'api',
      Runtime: 'nodejs20.x',
      Environment: { Variables: { DB_HOST: 'db.internal', STAGE: 'prod', STRIPE_KEY: 'sk_live_abc' }, Error: { ErrorCode: 'x', Message: 'y' } },
    };
    expect(redactValue(config)).toEqual({
      FunctionName: 'api',
      Runtime: 'nodejs20.x',
      Environment: {
        Variables: { DB_HOST: '[REDACTED:lambda-env-value]', STAGE: '[REDACTED:lambda-env-value]', STRIPE_KEY: '[REDACTED:lambda-env-value]' },
        Error: { ErrorCode: 'x', Message: 'y' },
      },
    });
    // Nested inside a list of functions too.
    const listed = redactValue({ Functions: [config] });
    expect(listed.Functions[0]!.Environment.Variables.DB_HOST).toBe('[REDACTED:lambda-env-value]');
  });

  it('replaces environmentVariables / environment maps of strings, and ECS name/value lists', () => {
    expect(redactValue({ environmentVariables: { A: '1', B: 'two' } })).toEqual({
      environmentVariables: { A: '[REDACTED:lambda-env-value]', B: '[REDACTED:lambda-env-value]' },
    });
    expect(redactValue({ environment: { LOG_LEVEL: 'debug' } })).toEqual({ environment: { LOG_LEVEL: '[REDACTED:lambda-env-value]' } });
    expect(redactValue({ environment: [{ name: 'DB_HOST', value: 'db.internal' }] })).toEqual({
      environment: [{ name: 'DB_HOST', value: '[REDACTED:lambda-env-value]' }],
    });
    // Not an environment map: a string, or an object with non-string values.
    expect(redactValue({ environment: 'production' })).toEqual({ environment: 'production' });
    expect(redactValue({ environment: { name: 'prod', replicas: 3 } })).toEqual({ environment: { name: 'prod', replicas: 3 } });
    // `Variables` elsewhere is an ordinary key.
    expect(redactValue({ Variables: { region: 'us-east-1' } })).toEqual({ Variables: { region: 'us-east-1' } });
  });

  it('replaces cycles with [Circular] but copies shared references', () => {
    const node: Record<string, unknown> = { name: 'root', password: 'cyclic-secret-1' };
    node.self = node;
    node.children = [node, { up: node }];
    const shared = { value: 'x' };
    const out = redactValue({ node, a: shared, b: shared }) as Record<string, any>;
    expect(out.node.self).toBe('[Circular]');
    expect(out.node.children[0]).toBe('[Circular]');
    expect(out.node.children[1].up).toBe('[Circular]');
    expect(out.node.password).toBe('[REDACTED:credential-assignment]');
    expect(out.a).toEqual({ value: 'x' });
    expect(out.b).toEqual({ value: 'x' });
    expect(() => JSON.stringify(out)).not.toThrow();
  });

  it('copies Error objects with the message redacted', () => {
    const err = Object.assign(new TypeError(`bad key ${KEY_ID}`), { code: 'E_AUTH', token: 'tok-abcdefghijk' });
    const out = redactValue(err);
    expect(out).toBeInstanceOf(TypeError);
    expect(out).not.toBe(err);
    expect(out.message).toBe('bad key [REDACTED:aws-access-key-id]');
    expect(out.stack ?? '').not.toContain(KEY_ID);
    expect((out as unknown as Record<string, unknown>).code).toBe('E_AUTH');
    expect((out as unknown as Record<string, unknown>).token).toBe('[REDACTED:credential-assignment]');
    expect(err.message).toContain(KEY_ID);
    // Inside an object as well.
    const wrapped = redactValue({ error: new Error(`password=${SECRET}`) });
    expect(wrapped.error.message).toBe('password=[REDACTED:credential-assignment]');
  });

  it('copies Dates, Maps and Sets', () => {
    const when = new Date('2024-05-01T10:00:00Z');
    const out = redactValue({ when, m: new Map([['password', 'map-secret-123']]), s: new Set([`id ${KEY_ID}`]) });
    expect(out.when).toEqual(when);
    expect(out.when).not.toBe(when);
    expect(out.m.get('password')).toBe('[REDACTED:credential-assignment]');
    expect([...out.s]).toEqual(['id [REDACTED:aws-access-key-id]']);
  });

  it('is idempotent', () => {
    const value = { password: 'p4ss-w0rd-xyz', Environment: { Variables: { A: 'b' } }, text: `AWS_ACCESS_KEY_ID=${KEY_ID}` };
    const once = redactValue(value);
    expect(redactValue(once)).toEqual(once);
  });
});

describe('performance on adversarial input', () => {
  const MB = 1 << 20;
  const fill = (unit: string) => unit.repeat(Math.ceil(MB / unit.length)).slice(0, MB);

  it('finishes on 1 MB inputs and gives the right answer', () => {
    // Each case: input, expected output.
    const cases: Array<[string, string, (out: string) => void]> = [
      ['password= repeated', fill('password='), (out) => expect(out).toBe('password=[REDACTED:credential-assignment]')],
      ['"password":" repeated', fill('"password":"'), (out) => expect(out.length).toBe(MB)],
      ['long run of [A-Z2-7]', fill('ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'), (out) => expect(out.length).toBe(MB)],
      ['AKIA followed by a long run', 'AKIA' + fill('Q').slice(4), (out) => expect(out.length).toBe(MB)],
      ['secret_access_key with long space runs', fill('aws_secret_access_key' + ' '.repeat(50)), (out) => expect(out.length).toBe(MB)],
      ['dash-separated name run', fill('a-'), (out) => expect(out.length).toBe(MB)],
      ['URL-ish scheme and colon runs', fill('a://a:'), (out) => expect(out.length).toBe(MB)],
      ['colons after a scheme', 'x://' + fill(':').slice(4), (out) => expect(out.length).toBe(MB)],
      ['unterminated PEM BEGIN repeated', fill('-----BEGIN PRIVATE KEY-----\n'), (out) => expect(out).toBe('[REDACTED:private-key]')],
      ['open XML tags', fill('<password>'), (out) => expect(out.length).toBe(MB)],
      ['STS prefix repeated', fill('IQoJb3JpZ2luX2Vj'), (out) => expect(out).toBe('[REDACTED:aws-session-token]')],
      ['unclosed quotes', fill('token="'), (out) => expect(out).not.toContain('token="token')],
      ['Authorization headers on one line', fill('Authorization: Bearer '), (out) => expect(out.startsWith('Authorization: Bearer [REDACTED:authorization-header]')).toBe(true)],
    ];
    for (const [name, input, check] of cases) {
      const out = redactText(input);
      check(out);
      expect(redactText(out), name).toBe(out);
    }
  });

  it('redacts every key id in 1 MB of them', () => {
    const id = 'AKIA' + 'ABCDEFGHIJKLMNOP';
    const n = Math.ceil(MB / (id.length + 1));
    const out = redactText(`${id} `.repeat(n));
    expect(out).toBe('[REDACTED:aws-access-key-id] '.repeat(n));
  });
});
