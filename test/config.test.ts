import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  ConfigError,
  configJsonSchema,
  detectPackageManager,
  effectiveChecks,
  loadConfig,
  parseDuration,
  resolveStateDir,
  splitCommand,
  starterConfig,
  stripJsonComments,
  substituteEnvironment,
  validateConfig,
  type DeployConfig,
} from '../src/config/index.js';

let root: string;

beforeEach(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'deploy-mcp-config-'));
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

const minimal = {
  project: 'orders',
  environments: { prod: { accountId: '123456789012', region: 'us-east-1' } },
};

async function writeConfig(content: string | object, name = 'deploy-mcp.config.json'): Promise<string> {
  const file = path.join(root, name);
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, typeof content === 'string' ? content : JSON.stringify(content, null, 2));
  return file;
}

/** Loads the config and returns the ConfigError it throws. */
async function loadError(content: string | object): Promise<ConfigError> {
  await writeConfig(content);
  try {
    await loadConfig({ projectRoot: root });
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected loadConfig to throw a ConfigError');
}

function issueFor(error: ConfigError, fieldPath: string) {
  const issue = error.issues.find((i) => i.path === fieldPath);
  expect(issue, `an issue for "${fieldPath}" in:\n${error.message}`).toBeDefined();
  return issue!;
}

describe('loadConfig: valid files', () => {
  it('returns null when there is no config at the default path', async () => {
    expect(await loadConfig({ projectRoot: root })).toBeNull();
  });

  it('loads a minimal config and applies the defaults', async () => {
    const file = await writeConfig(minimal);
    const loaded = await loadConfig({ projectRoot: root });
    expect(loaded).not.toBeNull();
    expect(loaded!.path).toBe(file);
    expect(loaded!.config).toEqual({
      ...minimal,
      stateDir: '.deploy-mcp',
      state: { backend: 'local' },
      approval: { expiresAfter: '24h' },
      readOnly: false,
    });
  });

  it('hashes the exact bytes of the file', async () => {
    const text = JSON.stringify(minimal);
    await writeConfig(text);
    const loaded = await loadConfig({ projectRoot: root });
    expect(loaded!.hash).toBe(createHash('sha256').update(text).digest('hex'));
    expect(loaded!.hash).toMatch(/^[0-9a-f]{64}$/);
  });

  it('loads a full config with every field', async () => {
    const full = {
      $schema: './deploy-mcp.schema.json',
      project: 'orders-api',
      environments: {
        staging: { accountId: '111111111111', region: 'eu-west-2', profile: 'orders-staging' },
        prod: { accountId: '222222222222', region: 'us-gov-west-1' },
      },
      checks: { quality: 'pnpm quality:check', integration: ['pnpm', 'test:integration'] },
      resources: [
        {
          type: 's3-bucket',
          name: 'orders-${environment}-artifacts',
          expect: {
            region: 'eu-west-2',
            versioning: 'Enabled',
            encryption: 'aws:kms',
            kmsKeyId: 'alias/orders',
            publicAccessBlock: true,
            lifecycleRules: 1,
            replication: false,
            tags: { project: 'orders' },
          },
        },
        {
          type: 'lambda-function',
          name: 'orders-${environment}-api',
          expect: {
            state: 'Active',
            lastUpdateStatus: 'Successful',
            runtime: 'nodejs20.x',
            handler: 'index.handler',
            memorySize: 512,
            timeout: 30,
            role: 'orders-api-role',
            architectures: ['arm64'],
            environmentVariables: ['TABLE_NAME'],
            tags: {},
            vpcSubnetIds: ['subnet-1'],
            vpcSecurityGroupIds: ['sg-1'],
          },
        },
        { type: 'lambda-alias', name: 'orders-api:live', expect: { functionVersion: '7', routingWeights: { '8': 0.1 } } },
        { type: 'log-group', name: '/aws/lambda/orders-api', expect: { retentionInDays: 30, kmsKeyId: 'arn:aws:kms:x' } },
        {
          type: 'iam-role',
          name: 'orders-api-role',
          expect: { trustedService: 'lambda.amazonaws.com', attachedPolicies: ['AWSLambdaBasicExecutionRole'], noWildcards: true },
        },
        {
          type: 'cloudwatch-alarm',
          name: 'orders-api-errors',
          expect: {
            namespace: 'AWS/Lambda',
            metricName: 'Errors',
            statistic: 'Sum',
            threshold: 1,
            comparisonOperator: 'GreaterThanOrEqualToThreshold',
            alarmActions: ['arn:aws:sns:us-east-1:222222222222:alerts'],
            state: 'OK',
          },
        },
        { type: 'security-group', name: 'sg-0123', expect: { vpcId: 'vpc-1', worldOpenPorts: [443] } },
        { type: 'iam-role', name: 'legacy-role', expect: { exists: false } },
        { type: 'log-group', name: 'no-expectations' },
      ],
      components: [
        { name: 'api', kind: 'lambda', function: 'orders-${environment}-api', alias: 'live' },
        { name: 'web', kind: 's3-artifacts', bucket: 'orders-web', prefix: 'web/' },
      ],
      performance: { p50Ms: 100, p95Ms: 500, p99Ms: 1000, maxErrorRate: 0.01 },
      budgetUsd: 150.5,
      costAllocationTag: 'project',
      stateDir: 'ops/state',
      state: { backend: 's3', bucket: 'orders-state', prefix: 'deploy/' },
      approval: { expiresAfter: '30m' },
      readOnly: true,
      contacts: [{ name: 'Ana', role: 'on-call', email: 'ana@example.com', phone: '+44 20 7946 0000', slack: '@ana' }],
      notify: { snsTopicArn: 'arn:aws:sns:us-east-1:222222222222:deploys', webhookUrl: 'https://hooks.example.com/x' },
    };
    await writeConfig(full);
    const loaded = await loadConfig({ projectRoot: root });
    expect(loaded!.config).toEqual(full);
  });

  it('loads an explicit configPath relative to the project root', async () => {
    const file = await writeConfig(minimal, 'config/deploy.json');
    const loaded = await loadConfig({ projectRoot: root, configPath: 'config/deploy.json' });
    expect(loaded!.path).toBe(file);
    expect(loaded!.config.project).toBe('orders');
  });

  it('accepts webhook URLs on localhost over plain http', () => {
    const config = validateConfig({ ...minimal, notify: { webhookUrl: 'http://localhost:8080/hook' } });
    expect(config.notify?.webhookUrl).toBe('http://localhost:8080/hook');
  });
});

describe('loadConfig: JSONC', () => {
  it('accepts // and /* */ comments and trailing commas', async () => {
    await writeConfig(`// leading comment
{
  /* block
     comment */
  "project": "orders", // trailing comment
  "environments": {
    "prod": { "accountId": "123456789012", "region": "us-east-1", },
  },
  "checks": { "test": ["npm", "test",], },
}
`);
    const loaded = await loadConfig({ projectRoot: root });
    expect(loaded!.config.project).toBe('orders');
    expect(loaded!.config.checks).toEqual({ test: ['npm', 'test'] });
  });

  it('keeps comment markers and commas inside strings', async () => {
    await writeConfig(`{
  "project": "orders",
  "environments": { "prod": { "accountId": "123456789012", "region": "us-east-1" } },
  "checks": {
    "url": "curl https://example.com/a//b /* not a comment */",
    "quote": "echo \\"// still a string,}\\" ,]",
  },
}`);
    const loaded = await loadConfig({ projectRoot: root });
    expect(loaded!.config.checks).toEqual({
      url: 'curl https://example.com/a//b /* not a comment */',
      quote: 'echo "// still a string,}" ,]',
    });
  });

  it('keeps line numbers intact when stripping', () => {
    const text = '{\n/* a\nb */ "x": 1, // c\n}';
    const stripped = stripJsonComments(text);
    expect(stripped.length).toBe(text.length);
    expect(stripped.split('\n').length).toBe(text.split('\n').length);
    expect(JSON.parse(stripped)).toEqual({ x: 1 });
  });

  it('reports invalid JSON with its line and column', async () => {
    const error = await loadError(`{
  "project": "orders"
  "environments": {}
}`);
    expect(error.issues).toHaveLength(1);
    expect(error.issues[0]).toMatchObject({ line: 3, column: 3 });
    expect(error.message).toContain('invalid JSON at line 3, column 3');
    expect(error.message).toContain('is a comma missing?');
  });

  it('reports an unterminated block comment with its position', async () => {
    const error = await loadError('{\n  "project": "orders" /* oops\n}');
    expect(error.message).toContain('line 2, column 23');
    expect(error.message).toContain('unterminated /* comment');
  });

  it('reports single-quoted strings and an empty file', async () => {
    expect((await loadError("{ 'project': 'x' }")).message).toContain('single quote');
    expect((await loadError('  \n')).message).toContain('the file is empty');
  });

  it('reports duplicate keys, which JSON.parse would silently merge', async () => {
    const error = await loadError(`{
  "project": "orders",
  "environments": {
    "prod": { "accountId": "123456789012", "region": "us-east-1" },
    "prod": { "accountId": "210987654321", "region": "us-east-1" }
  }
}`);
    expect(issueFor(error, 'environments.prod').message).toContain('defined twice (lines 4 and 5)');
  });
});

describe('loadConfig: errors name the field', () => {
  it('formats the message as file: path: problem, ending with what to do', async () => {
    const error = await loadError({ ...minimal, environments: { prod: { accountId: '12345', region: 'us-east-1' } } });
    expect(error.message).toBe(
      'deploy-mcp.config.json: environments.prod.accountId: must be a 12-digit AWS account id (got "12345")\n' +
        'Fix the file, or run `deploy-mcp schema` to see every field.',
    );
    expect(error.file).toBe(path.join(root, 'deploy-mcp.config.json'));
    expect(error.issues[0]).toMatchObject({ path: 'environments.prod.accountId', line: 5 });
  });

  it('lists every issue, one a line', async () => {
    const error = await loadError({ project: 'Orders!', environments: {}, readOnly: 'yes' });
    const lines = error.message.split('\n');
    expect(lines).toHaveLength(error.issues.length + 1);
    expect(error.issues.map((i) => i.path).sort()).toEqual(['environments', 'project', 'readOnly']);
    expect(issueFor(error, 'environments').message).toContain('at least one environment');
    expect(issueFor(error, 'project').message).toContain('lowercase letters, digits and hyphens');
  });

  it('reports a missing project', async () => {
    const error = await loadError({ environments: minimal.environments });
    expect(issueFor(error, 'project').message).toBe('is required but missing');
  });

  it('reports wrong types in plain English', async () => {
    const error = await loadError({
      ...minimal,
      environments: { prod: { accountId: 123456789012, region: 'us-east-1' } },
      budgetUsd: '100',
      readOnly: 'yes',
      resources: {},
      performance: { p95Ms: -5, maxErrorRate: 2 },
    });
    expect(issueFor(error, 'environments.prod.accountId').message).toContain('in quotes');
    expect(issueFor(error, 'budgetUsd').message).toBe('must be a number (got "100")');
    expect(issueFor(error, 'readOnly').message).toBe('must be true or false (got "yes")');
    expect(issueFor(error, 'resources').message).toBe('must be a list ([ … ]) (got an object)');
    expect(issueFor(error, 'performance.p95Ms').message).toBe('must be greater than 0 (got -5)');
    expect(issueFor(error, 'performance.maxErrorRate').message).toBe('must be at most 1 (got 2)');
  });

  it('reports a bad region', async () => {
    const error = await loadError({ ...minimal, environments: { prod: { accountId: '123456789012', region: 'us-east' } } });
    expect(issueFor(error, 'environments.prod.region').message).toContain('AWS region such as us-east-1');
  });

  it('reports an unknown top-level key with the allowed keys and a suggestion', async () => {
    const error = await loadError({ ...minimal, readonly: true });
    const issue = issueFor(error, '');
    expect(issue.message).toContain('unknown field "readonly"');
    expect(issue.message).toContain('did you mean "readOnly"?');
    expect(issue.message).toContain('allowed: $schema, project, environments, checks');
    expect(error.message).toContain('deploy-mcp.config.json: unknown field "readonly"');
  });

  it('reports an unknown expect key for the resource type, listing the keys that type allows', async () => {
    const error = await loadError({
      ...minimal,
      resources: [
        { type: 's3-bucket', name: 'a', expect: { versioning: 'Enabled' } },
        { type: 'log-group', name: 'b' },
        { type: 'log-group', name: 'c', expect: { retentionInDays: 30, versioning: 'Enabled' } },
      ],
    });
    expect(issueFor(error, 'resources[2].expect').message).toBe(
      'unknown field "versioning" (allowed: exists, retentionInDays, kmsKeyId)',
    );
  });

  it('checks expect value types per resource type', async () => {
    const error = await loadError({
      ...minimal,
      resources: [
        { type: 's3-bucket', name: 'a', expect: { versioning: 'on', publicAccessBlock: 'yes', lifecycleRules: 1.5 } },
        { type: 'lambda-function', name: 'f', expect: { memorySize: 64, architectures: ['arm'] } },
        { type: 'log-group', name: 'g', expect: { retentionInDays: 2 } },
        { type: 'lambda-alias', name: 'no-colon' },
        { type: 'security-group', name: 's', expect: { worldOpenPorts: [70000] } },
        { type: 'bucket', name: 'x' },
        { name: 'y' },
      ],
    });
    expect(issueFor(error, 'resources[0].expect.versioning').message).toBe(
      'must be one of "Enabled", "Suspended", "Disabled" (got "on")',
    );
    expect(issueFor(error, 'resources[0].expect.publicAccessBlock').message).toContain('true or false');
    expect(issueFor(error, 'resources[0].expect.lifecycleRules').message).toContain('whole number');
    expect(issueFor(error, 'resources[1].expect.memorySize').message).toBe('must be at least 128 (got 64)');
    expect(issueFor(error, 'resources[1].expect.architectures[0]').message).toContain('"x86_64", "arm64"');
    expect(issueFor(error, 'resources[2].expect.retentionInDays').message).toContain('retention period');
    expect(issueFor(error, 'resources[3].name').message).toContain('function:alias');
    expect(issueFor(error, 'resources[4].expect.worldOpenPorts[0]').message).toBe('must be at most 65535 (got 70000)');
    expect(issueFor(error, 'resources[5].type').message).toMatch(/^must be one of "s3-bucket", .* \(got "bucket"\)$/);
    expect(issueFor(error, 'resources[6].type').message).toMatch(/^is required and must be one of/);
  });

  it('requires a bucket for the s3 state backend', async () => {
    const error = await loadError({ ...minimal, state: { backend: 's3' } });
    expect(issueFor(error, 'state.bucket').message).toBe('is required when backend is "s3"');
  });

  it('reports a bad approval duration', async () => {
    const error = await loadError({ ...minimal, approval: { expiresAfter: '1 day' } });
    expect(issueFor(error, 'approval.expiresAfter').message).toContain('"90s", "30m", "24h" or "7d" (got "1 day")');
  });

  it('reports bad check names and unsplittable commands', async () => {
    const error = await loadError({ ...minimal, checks: { 'Unit Tests': 'npm test', lint: 'echo "oops', empty: [] } });
    expect(issueFor(error, 'checks').message).toContain('"Unit Tests": check names must use only lowercase');
    expect(issueFor(error, 'checks.lint').message).toContain('unterminated double quote');
    expect(issueFor(error, 'checks.empty').message).toContain('at least the program');
  });

  it('rejects plain-http webhooks and never echoes them', async () => {
    const url = 'http://hooks.example.com/services/T000/B000/abcdefSECRET123';
    const error = await loadError({ ...minimal, notify: { webhookUrl: url } });
    expect(issueFor(error, 'notify.webhookUrl').message).toContain('https://');
    expect(error.message).not.toContain('SECRET');
  });

  it('never includes secret-looking values and truncates long ones', async () => {
    const error = await loadError({
      ...minimal,
      project: 'AKIAIOSFODNN7EXAMPLE',
      costAllocationTag: 7,
      stateDir: 42,
      environments: { prod: { accountId: 'x'.repeat(100), region: 'us-east-1' } },
    });
    expect(error.message).not.toContain('AKIAIOSFODNN7EXAMPLE');
    expect(error.message).toContain('x'.repeat(40) + '…');
    expect(error.message).not.toContain('x'.repeat(41));
  });

  it('names the field for bad contacts and notify settings', async () => {
    const error = await loadError({
      ...minimal,
      contacts: [{ name: 'Ana', email: 'not-an-email', pager: '123' }],
      notify: { snsTopicArn: 'deploys' },
    });
    expect(issueFor(error, 'contacts[0].email').message).toContain('email address');
    expect(issueFor(error, 'contacts[0]').message).toContain('unknown field "pager"');
    expect(issueFor(error, 'notify.snsTopicArn').message).toContain('SNS topic ARN');
  });

  it('uses bracket notation for keys that are not identifiers', async () => {
    const error = await loadError({ ...minimal, environments: { 'eu-prod': { accountId: '1', region: 'eu-west-1' } } });
    expect(issueFor(error, 'environments["eu-prod"].accountId').message).toContain('12-digit');
  });

  it('requires the file to contain an object', async () => {
    expect((await loadError('[1, 2]')).message).toContain('must contain a JSON object');
  });

  it('throws for an explicit configPath that does not exist', async () => {
    const error = await loadConfig({ projectRoot: root, configPath: 'missing.json' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toContain('file not found');
    expect((error as ConfigError).message).toContain('deploy-mcp init');
  });

  it('throws for a path that cannot be read as a file', async () => {
    await mkdir(path.join(root, 'deploy-mcp.config.json'));
    const error = await loadConfig({ projectRoot: root }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toContain('is a directory');
  });
});

describe('starterConfig', () => {
  it('loads cleanly through loadConfig', async () => {
    await writeConfig(starterConfig('orders-api'));
    const loaded = await loadConfig({ projectRoot: root });
    const config = loaded!.config;
    expect(config.project).toBe('orders-api');
    expect(config.environments).toEqual({
      staging: { accountId: '111111111111', region: 'us-east-1', profile: 'orders-api-staging' },
      prod: { accountId: '222222222222', region: 'us-east-1', profile: 'orders-api-prod' },
    });
    const types = new Set(config.resources!.map((r) => r.type));
    expect(types.size).toBeGreaterThanOrEqual(4);
    expect(config.resources!.every((r) => r.name.includes('${environment}'))).toBe(true);
  });

  it('explains its fields in comments and turns any name into a valid project', async () => {
    const text = starterConfig('@Acme/Orders API');
    expect(text).toContain('"project": "acme-orders-api"');
    for (const field of ['checks', 'budgetUsd', 'state', 'approval', 'readOnly', 'contacts', 'notify', 'performance']) {
      expect(text).toContain(`"${field}"`);
    }
    await writeConfig(text);
    expect((await loadConfig({ projectRoot: root }))!.config.project).toBe('acme-orders-api');
  });
});

describe('configJsonSchema', () => {
  it('is JSON Schema 2020-12 listing the top-level properties with descriptions', () => {
    const schema = JSON.parse(JSON.stringify(configJsonSchema())) as {
      $schema: string;
      $id: string;
      properties: Record<string, { description?: string }>;
      required: string[];
      additionalProperties: boolean;
    };
    expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(schema.$id).toBe('https://deploy-mcp.dev/schema/config.json');
    expect(Object.keys(schema.properties)).toEqual(
      expect.arrayContaining([
        'project', 'environments', 'checks', 'resources', 'components', 'performance', 'budgetUsd',
        'costAllocationTag', 'stateDir', 'state', 'approval', 'readOnly', 'contacts', 'notify',
      ]),
    );
    expect(schema.required.sort()).toEqual(['environments', 'project']);
    expect(schema.additionalProperties).toBe(false);
    expect(schema.properties.project.description).toBeTruthy();
    expect(schema.properties.environments.description).toBeTruthy();
  });
});

describe('parseDuration', () => {
  it('converts seconds, minutes, hours and days to milliseconds', () => {
    expect(parseDuration('90s')).toBe(90_000);
    expect(parseDuration('30m')).toBe(1_800_000);
    expect(parseDuration('24h')).toBe(86_400_000);
    expect(parseDuration('7d')).toBe(604_800_000);
  });

  it('throws on anything else', () => {
    for (const bad of ['', '10', 'h', '1.5h', '-1h', '0h', '1w', '1 h', '1h30m', '24H']) {
      expect(() => parseDuration(bad), bad).toThrow(/invalid duration/);
    }
  });
});

describe('substituteEnvironment', () => {
  it('replaces ${environment} deeply and leaves other placeholders alone', () => {
    const input = {
      name: 'orders-${environment}-api',
      expect: { tags: { env: '${environment}', other: '${region}' }, list: ['${environment}/${environment}', 3, true, null] },
    };
    const output = substituteEnvironment(input, 'prod');
    expect(output).toEqual({
      name: 'orders-prod-api',
      expect: { tags: { env: 'prod', other: '${region}' }, list: ['prod/prod', 3, true, null] },
    });
    expect(input.name).toBe('orders-${environment}-api');
  });
});

describe('resolveStateDir', () => {
  it('is absolute, under the project root by default', () => {
    expect(resolveStateDir(root, null)).toBe(path.join(root, '.deploy-mcp'));
    const config = validateConfig({ ...minimal, stateDir: 'ops/state' });
    expect(resolveStateDir(root, config)).toBe(path.join(root, 'ops', 'state'));
  });
});

describe('detectPackageManager', () => {
  it.each([
    ['pnpm-lock.yaml', 'pnpm'],
    ['yarn.lock', 'yarn'],
    ['package-lock.json', 'npm'],
    ['npm-shrinkwrap.json', 'npm'],
  ])('detects %s as %s', async (lockfile, manager) => {
    await writeFile(path.join(root, lockfile), '');
    expect(detectPackageManager(root)).toBe(manager);
  });

  it('defaults to npm without a lockfile', () => {
    expect(detectPackageManager(root)).toBe('npm');
  });

  it('with several lockfiles, follows package.json packageManager, else pnpm > yarn > npm', async () => {
    await writeFile(path.join(root, 'package-lock.json'), '{}');
    await writeFile(path.join(root, 'yarn.lock'), '');
    expect(detectPackageManager(root)).toBe('yarn');
    await writeFile(path.join(root, 'pnpm-lock.yaml'), '');
    expect(detectPackageManager(root)).toBe('pnpm');
    await writeFile(path.join(root, 'package.json'), JSON.stringify({ packageManager: 'npm@10.2.0' }));
    expect(detectPackageManager(root)).toBe('npm');
  });
});

describe('effectiveChecks', () => {
  it('defaults to quality, test and build for the package manager', async () => {
    expect(effectiveChecks(root, null)).toEqual({
      quality: { argv: ['npm', 'run', 'quality:check'], source: 'default' },
      test: { argv: ['npm', 'test'], source: 'default' },
      build: { argv: ['npm', 'run', 'build'], source: 'default' },
    });
    await writeFile(path.join(root, 'pnpm-lock.yaml'), '');
    expect(effectiveChecks(root, validateConfig(minimal))).toEqual({
      quality: { argv: ['pnpm', 'quality:check'], source: 'default' },
      test: { argv: ['pnpm', 'test'], source: 'default' },
      build: { argv: ['pnpm', 'build'], source: 'default' },
    });
  });

  it('uses the configured checks, split without a shell', () => {
    const config: DeployConfig = validateConfig({
      ...minimal,
      checks: { lint: 'pnpm lint --max-warnings 0; rm -rf /', integration: ['pnpm', 'test:integration'] },
    });
    expect(effectiveChecks(root, config)).toEqual({
      lint: { argv: ['pnpm', 'lint', '--max-warnings', '0;', 'rm', '-rf', '/'], source: 'config' },
      integration: { argv: ['pnpm', 'test:integration'], source: 'config' },
    });
  });

  it('rejects an empty checks object rather than silently running nothing', () => {
    expect(() => validateConfig({ ...minimal, checks: {} })).toThrow(/at least one check/);
  });
});

describe('splitCommand', () => {
  it('keeps shell operators as literal characters', () => {
    expect(splitCommand('echo hello; rm -rf /')).toEqual(['echo', 'hello;', 'rm', '-rf', '/']);
    expect(splitCommand('a | b && c $(d) `e` *.ts > out')).toEqual(['a', '|', 'b', '&&', 'c', '$(d)', '`e`', '*.ts', '>', 'out']);
    expect(splitCommand('echo $HOME ~')).toEqual(['echo', '$HOME', '~']);
  });

  it('honours quotes and escapes', () => {
    expect(splitCommand("sh -c 'a;b'")).toEqual(['sh', '-c', 'a;b']);
    expect(splitCommand('sh -c "a;b"')).toEqual(['sh', '-c', 'a;b']);
    expect(splitCommand('echo "say \\"hi\\"" \'it\'\\\'\'s\' a\\ b')).toEqual(['echo', 'say "hi"', "it's", 'a b']);
    expect(splitCommand('printf "a\\nb" \'\' ""')).toEqual(['printf', 'a\\nb', '', '']);
    expect(splitCommand('  pnpm\t test \n')).toEqual(['pnpm', 'test']);
    expect(splitCommand('--flag="a b"c')).toEqual(['--flag=a bc']);
  });

  it('throws on unterminated quotes, a trailing backslash and an empty command', () => {
    expect(() => splitCommand('echo "hello')).toThrow(/unterminated double quote at character 6/);
    expect(() => splitCommand("echo 'hello")).toThrow(/unterminated single quote/);
    expect(() => splitCommand('echo \\')).toThrow(/lone backslash/);
    expect(() => splitCommand('   ')).toThrow(/no program to run/);
  });
});
