/**
 * check-config end to end: environment settings and profile resolution, the naming convention,
 * and the secrets scan of a real repository (tracked files and the branch history), with proof
 * that no secret reaches the tool result, the event log or journal.md.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { namingFindings, profileNames } from '../src/checks/config-check.js';
import { SecretFactory } from './fixtures/secrets-corpus.js';
import { createRepo, type Repo } from './helpers/git-repo.js';
import { BASE_CONFIG, forcePhase, startHarness, type Harness } from './helpers/mcp.js';

const awsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'deploy-mcp-aws-'));
beforeAll(() => {
  // This file runs in its own worker: point the AWS shared files at fixtures.
  fs.writeFileSync(path.join(awsDir, 'config'), '[default]\nregion = us-east-1\n\n[profile deploy-staging]\nregion = us-east-1\nsso_session = corp\n\n[sso-session corp]\nsso_region = us-east-1\n');
  fs.writeFileSync(path.join(awsDir, 'credentials'), '[legacy-keys]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\n');
  process.env.AWS_CONFIG_FILE = path.join(awsDir, 'config');
  process.env.AWS_SHARED_CREDENTIALS_FILE = path.join(awsDir, 'credentials');
});

const open: Harness[] = [];
afterEach(async () => {
  while (open.length) await open.pop()!.close();
});

async function phase2(root: string): Promise<{ h: Harness; taskId: number }> {
  const h = await startHarness({ root });
  open.push(h);
  const r = await h.call('start-deployment', { title: 'Config', environment: 'staging', component: 'api' });
  const taskId = r.structuredContent.taskId as number;
  await forcePhase(h.srv, taskId, 2);
  return { h, taskId };
}

function withEnvironment(env: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  return { ...BASE_CONFIG, environments: { ...BASE_CONFIG.environments, staging: { accountId: '123456789012', region: 'us-east-1', ...env } }, ...extra };
}

const secretFiles = (f: SecretFactory) => ({
  'config/prod.env': `AWS_ACCESS_KEY_ID=${f.accessKeyId()}\nAWS_SECRET_ACCESS_KEY=${f.secretAccessKey()}\n`,
  'src/db.ts': `export const db = { user: 'app', password: '${f.password(18)}' };\n`,
  'deploy/key.pem': ['-----BEGIN RSA PRIVATE KEY-----', ...f.pemBody(4), '-----END RSA PRIVATE KEY-----', ''].join('\n'),
  'docs/setup.md': 'aws_access_key_id = AKIAIOSFODNN7EXAMPLE\n',
  'test/fixture.ts': `export const FAKE = '${f.accessKeyId('ASIA')}'; // deploy-mcp:allow-secret\n`,
});

function everyText(h: Harness, taskId: number, result: unknown): string[] {
  const dir = path.join(h.root, '.deploy-mcp', 'tasks', String(taskId));
  return [JSON.stringify(result), fs.readFileSync(path.join(dir, 'events.jsonl'), 'utf8'), fs.readFileSync(path.join(dir, 'journal.md'), 'utf8')];
}

function expectNoLeak(texts: string[], secrets: string[]): void {
  expect(secrets.length).toBeGreaterThan(0);
  for (const secret of secrets) {
    for (let i = 0; i + 8 <= secret.length; i += 4) {
      const window = secret.slice(i, i + 8);
      if (i === 0 && /^A[KSBC][IC]A/.test(window)) continue; // the key-type prefix is shown on purpose
      for (const text of texts) expect(text.includes(window), `leaked ${window.slice(0, 2)}…`).toBe(false);
    }
  }
}

describe('check-config', () => {
  it('is clean on a clean repository, checks the profile, and meets the criterion', async () => {
    const repo = createRepo({ config: withEnvironment({ profile: 'deploy-staging' }), files: { 'src/app.ts': 'export const token = getToken();\n', 'assets/logo.png': '\u0000PNG binary' } });
    const { h } = await phase2(repo.root);
    const r = await h.call('check-config', {});
    expect(r.isError, JSON.stringify(r.structuredContent)).toBeFalsy();
    const out = r.structuredContent;
    expect(out.clean).toBe(true);
    expect(out.counts.high).toBe(0);
    expect(out.scannedFiles).toBe(4); // config, README, .gitignore, src/app.ts
    expect(out.skippedFiles.binary).toBe(1);
    expect(out.findings).toContainEqual(expect.objectContaining({ severity: 'info', kind: 'environment', rule: 'profile-resolvable', message: expect.stringContaining(process.env.AWS_CONFIG_FILE!) }));
    const status = await h.call('deployment-status', {});
    expect(status.structuredContent.criteria.find((c: any) => c.id === 'config-clean')).toMatchObject({ met: true });
  });

  it('finds secrets in tracked files with file, line, rule and a masked excerpt, and never stores them', async () => {
    const f = new SecretFactory(1234);
    const files = secretFiles(f);
    const repo = createRepo({ files });
    // Not tracked: not scanned. Over 1 MB and binary: skipped.
    repo.write('untracked.env', `KEY=${f.accessKeyId()}\n`);
    const big = `${'#'.repeat(1024 * 1024)}\nKEY=${f.accessKeyId()}\n`;
    repo.commit('large and binary', { 'data/big.txt': big, 'data/blob.bin': `\u0000${f.accessKeyId()}` });
    fs.rmSync(path.join(repo.root, 'untracked.env'));
    const { h, taskId } = await phase2(repo.root);
    const r = await h.call('check-config', {});
    const out = r.structuredContent;
    expect(out.clean).toBe(false);
    const secrets = out.findings.filter((x: any) => x.kind === 'secret');
    expect(secrets.map((x: any) => [x.file, x.line, x.rule, x.severity])).toEqual(
      expect.arrayContaining([
        ['config/prod.env', 1, 'aws-access-key-id', 'high'],
        ['config/prod.env', 2, 'aws-secret-access-key', 'high'],
        ['src/db.ts', 1, 'credential-assignment', 'high'],
        ['deploy/key.pem', 1, 'private-key', 'high'],
      ]),
    );
    expect(secrets).toHaveLength(4);
    expect(secrets.find((x: any) => x.rule === 'aws-access-key-id').excerpt).toBe('AWS_ACCESS_KEY_ID=AKIA****************');
    expect(out.skippedFiles).toMatchObject({ tooLarge: 1, binary: 1 });
    expect(r.content[0].text).toMatch(/Not clean: 4 high/);

    const status = await h.call('deployment-status', {});
    expect(status.structuredContent.criteria.find((c: any) => c.id === 'config-clean')).toMatchObject({ met: false });
    await h.srv.deployments!.flushJournal(taskId);
    expectNoLeak(everyText(h, taskId, r), f.made);
  });

  it('scans the commits since the branch base: a secret committed and then deleted is still found', async () => {
    const f = new SecretFactory(99);
    const repo = createRepo();
    const { h, taskId } = await phase2(repo.root);
    const branch = await h.call('create-branch', {});
    const base = branch.structuredContent.baseCommit as string;
    const key = f.accessKeyId();
    const secret = f.secretAccessKey();
    const added = repo.commit('add deploy creds', { 'deploy/creds.ini': `[default]\naws_access_key_id = ${key}\naws_secret_access_key = ${secret}\n` });
    fs.rmSync(path.join(repo.root, 'deploy/creds.ini'));
    repo.commit('oops, remove creds');
    const r = await h.call('check-config', {});
    const out = r.structuredContent;
    expect(out.diff).toEqual({ base, commits: 2, scannedFiles: 1 });
    expect(out.clean).toBe(false);
    const found = out.findings.filter((x: any) => x.kind === 'secret');
    expect(found.map((x: any) => [x.file, x.line, x.rule])).toEqual([
      ['deploy/creds.ini', 2, 'aws-access-key-id'],
      ['deploy/creds.ini', 3, 'aws-secret-access-key'],
    ]);
    expect(found[0].message).toContain(`added in commit ${added.slice(0, 10)}`);
    await h.srv.deployments!.flushJournal(taskId);
    expectNoLeak(everyText(h, taskId, r), [key, secret]);
  });

  it('reports one finding per secret when it is both in the tree and in the branch history', async () => {
    const f = new SecretFactory(5);
    const repo = createRepo();
    const { h } = await phase2(repo.root);
    await h.call('create-branch', {});
    repo.commit('add key', { 'app/.env': `TOKEN_KEY_ID=${f.accessKeyId()}\n` });
    const out = (await h.call('check-config', {})).structuredContent;
    expect(out.findings.filter((x: any) => x.kind === 'secret')).toHaveLength(1);
    expect(out.diff.commits).toBe(1);
  });

  it('reports a profile that no AWS config file defines as high', async () => {
    const repo = createRepo({ config: withEnvironment({ profile: 'nope-profile' }) });
    const { h } = await phase2(repo.root);
    const out = (await h.call('check-config', {})).structuredContent;
    expect(out.clean).toBe(false);
    const finding = out.findings.find((x: any) => x.rule === 'profile-resolvable');
    expect(finding).toMatchObject({ severity: 'high', kind: 'environment' });
    expect(finding.message).toContain('aws configure --profile nope-profile');
  });

  it('resolves a profile from the shared credentials file too', async () => {
    const repo = createRepo({ config: withEnvironment({ profile: 'legacy-keys' }) });
    const { h } = await phase2(repo.root);
    const out = (await h.call('check-config', {})).structuredContent;
    expect(out.clean).toBe(true);
    expect(out.findings.find((x: any) => x.rule === 'profile-resolvable')).toMatchObject({ severity: 'info', message: expect.stringContaining(process.env.AWS_SHARED_CREDENTIALS_FILE!) });
  });

  it('warns about resource names outside the naming convention without blocking', async () => {
    const config = withEnvironment({}, {
      resources: [
        { type: 'lambda-function', name: 'orders-${environment}' },
        { type: 's3-bucket', name: 'demo-assets' },
        { type: 's3-bucket', name: 'legacy-bucket' },
        { type: 'log-group', name: '/aws/lambda/orders-prod' },
        { type: 'security-group', name: 'sg-0123456789abcdef0' },
        { type: 'lambda-alias', name: 'orders-${environment}:live' },
      ],
      components: [{ name: 'web', kind: 's3-artifacts', bucket: 'static-site' }],
    });
    const repo = createRepo({ config });
    const { h } = await phase2(repo.root);
    const out = (await h.call('check-config', {})).structuredContent;
    expect(out.clean).toBe(true);
    const naming = out.findings.filter((x: any) => x.kind === 'naming');
    expect(naming.map((x: any) => [x.rule, x.severity])).toEqual([
      ['naming-convention', 'warning'],
      ['other-environment', 'warning'],
      ['naming-convention', 'warning'],
    ]);
    expect(naming[0].message).toContain('resources[2]: s3-bucket "legacy-bucket"');
    expect(naming[1].message).toContain('names environment "prod"');
    expect(naming[2].message).toContain('components[0].bucket');
  });

  it('is not clean when the project is not a git repository (the scan could not run)', async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'deploy-mcp-nogit-'));
    fs.writeFileSync(path.join(root, 'deploy-mcp.config.json'), JSON.stringify(BASE_CONFIG));
    const { h } = await phase2(root);
    const out = (await h.call('check-config', {})).structuredContent;
    expect(out.clean).toBe(false);
    expect(out.findings[0]).toMatchObject({ severity: 'high', kind: 'git', rule: 'not-a-repository' });
  });
});

describe('config checks (pure)', () => {
  it('reads profile names from the config and credentials formats', () => {
    const config = '[default]\n[profile a]\n[ profile b ] ; comment\n[sso-session s]\n[c]\n';
    expect([...profileNames(config, 'config')].sort()).toEqual(['a', 'b', 'default']);
    expect([...profileNames('[x]\nkey=1\n[y]\n', 'credentials')].sort()).toEqual(['x', 'y']);
    expect(profileNames(null, 'config').size).toBe(0);
  });

  it('matches environment and project names as delimited parts only', () => {
    const config = { ...BASE_CONFIG, project: 'demo', resources: [{ type: 's3-bucket', name: 'demonstration-staging-x' }, { type: 's3-bucket', name: 'demonstrationstagingx' }] } as any;
    const findings = namingFindings(config, 'staging');
    expect(findings).toHaveLength(1);
    expect(findings[0]!.message).toContain('demonstrationstagingx');
  });
});
