/**
 * run-checks with real child processes: pass, fail, timeout (process group killed, SIGKILL after
 * the grace period), cancellation through the SDK client's AbortSignal, 50 MB of output with a
 * bounded tail, shell metacharacters staying literal arguments, missing scripts, commands that
 * do not exist, the phase-5 default, and the exit criterion fed by the latest result per check.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { OutputTail, TAIL_BYTES, TAIL_LINES, TAIL_WINDOW_BYTES, formatArgv, packageScriptOf } from '../src/checks/run-check.js';
import { SecretFactory } from './fixtures/secrets-corpus.js';
import { BASE_CONFIG, forcePhase, readEvents, startHarness, tempProject, type Harness } from './helpers/mcp.js';

const SCRIPTS: Record<string, string> = {
  'scripts/ok.cjs': "console.log('all good');\n",
  'scripts/fail.cjs': "for (let i = 1; i <= 100; i++) console.log('line ' + i);\nconsole.error('FAILURE: 2 tests failed');\nprocess.exit(3);\n",
  'scripts/hang.cjs': [
    "const { spawn } = require('node:child_process');",
    "const fs = require('node:fs');",
    "if (process.argv[3] === 'stubborn') process.on('SIGTERM', () => console.log('ignoring SIGTERM'));",
    "const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });",
    'fs.writeFileSync(process.argv[2], JSON.stringify({ parent: process.pid, child: child.pid }));',
    "console.log('started');",
    'setInterval(() => {}, 1000);',
    '',
  ].join('\n'),
  'scripts/huge.cjs': [
    "const line = 'x'.repeat(1023) + '\\n';",
    'const block = line.repeat(1024);',
    'let left = 50;',
    'function write() {',
    '  while (left > 0) {',
    '    left--;',
    '    if (!process.stdout.write(block)) return process.stdout.once("drain", write);',
    '  }',
    "  process.stdout.write('THE-END-MARKER\\n');",
    '}',
    'write();',
    '',
  ].join('\n'),
  'scripts/argv.cjs': "require('node:fs').writeFileSync('argv.json', JSON.stringify(process.argv.slice(2)));\nconsole.log('argv recorded');\n",
};

const CONFIG = {
  ...BASE_CONFIG,
  checks: {
    quality: 'node scripts/ok.cjs',
    test: 'node scripts/fail.cjs',
    build: ['node', 'scripts/ok.cjs'],
    integration: 'node scripts/ok.cjs',
  },
};

function project(config: unknown = CONFIG, files: Record<string, string> = {}): string {
  const root = tempProject(config);
  for (const [f, c] of Object.entries({ ...SCRIPTS, ...files })) {
    fs.mkdirSync(path.dirname(path.join(root, f)), { recursive: true });
    fs.writeFileSync(path.join(root, f), c);
  }
  return root;
}

const open: Harness[] = [];
afterEach(async () => {
  while (open.length) await open.pop()!.close();
});

async function inPhase(root: string, phase = 2): Promise<{ h: Harness; taskId: number }> {
  const h = await startHarness({ root });
  open.push(h);
  const r = await h.call('start-deployment', { title: 'Checks', environment: 'staging', component: 'api' });
  const taskId = r.structuredContent.taskId as number;
  await forcePhase(h.srv, taskId, phase);
  return { h, taskId };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function until<T>(fn: () => T | undefined | null | false, timeoutMs = 15_000): Promise<T> {
  const started = Date.now();
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() - started > timeoutMs) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

const criterion = async (h: Harness, id: string) =>
  ((await h.call('deployment-status', {})).structuredContent.criteria as { id: string; met: boolean; evidence: string }[]).find((c) => c.id === id)!;

describe('run-checks', () => {
  it('runs every check but integration in phase 2, reports pass and fail with tails, progress and a journal entry', async () => {
    const { h, taskId } = await inPhase(project());
    const progress: { progress: number; total?: number; message?: string }[] = [];
    const r = (await h.client.callTool({ name: 'run-checks', arguments: {} }, undefined, { onprogress: (p) => progress.push(p) })) as any;
    expect(r.isError, JSON.stringify(r.structuredContent)).toBeFalsy();
    const out = r.structuredContent;
    expect(out.results.map((x: any) => [x.name, x.status, x.exitCode, x.passed])).toEqual([
      ['quality', 'passed', 0, true],
      ['test', 'failed', 3, false],
      ['build', 'passed', 0, true],
    ]);
    expect(out.allPassed).toBe(false);
    const failed = out.results[1];
    expect(failed.command).toBe('node scripts/fail.cjs');
    expect(failed.outputTail).toContain('FAILURE: 2 tests failed');
    expect(failed.outputTail.split('\n').length).toBeLessThanOrEqual(TAIL_LINES);
    expect(failed.outputTail).not.toContain('line 1\n');
    expect(out.results[0].outputTail).toBe('all good');
    expect(r.content[0].text).toContain('2/3 checks passed');

    expect(progress.map((p) => p.progress)).toEqual([0, 1, 2, 3]);
    expect(progress.every((p) => p.total === 3)).toBe(true);
    expect(progress[1]!.message).toContain('test (2/3)');

    const events = readEvents(h.root, taskId);
    const entry = events.find((e) => e.type === 'journal.entry' && String(e.data.activity).startsWith('Checks:'));
    expect(entry.data.content).toContain('FAILURE: 2 tests failed');
    const journal = fs.readFileSync((await h.srv.deployments!.flushJournal(taskId))!, 'utf8');
    expect(journal).toContain('FAILURE: 2 tests failed');
    expect(journal).toMatch(/`run-checks` ✔ 2\/3 checks passed/);

    expect(await criterion(h, 'checks-passed')).toMatchObject({ met: false });
    // The criterion reads the latest result of each check across runs: fixing and re-running `test` alone is enough.
    fs.writeFileSync(path.join(h.root, 'scripts/fail.cjs'), "console.log('fixed');\n");
    const again = await h.call('run-checks', { checks: ['test'] });
    expect(again.structuredContent.results).toHaveLength(1);
    expect(again.structuredContent.allPassed).toBe(true);
    const c = await criterion(h, 'checks-passed');
    expect(c.met, c.evidence).toBe(true);
  });

  it('kills the whole process group on timeout, escalating to SIGKILL', async () => {
    const root = project({ ...CONFIG, checks: { slow: 'node scripts/hang.cjs pids.json', stubborn: 'node scripts/hang.cjs pids2.json stubborn' } });
    const { h } = await inPhase(root);
    const r = await h.call('run-checks', { checks: ['slow', 'stubborn'], timeoutSeconds: 1 });
    const [slow, stubborn] = r.structuredContent.results;
    expect(slow).toMatchObject({ status: 'timed-out', passed: false, exitCode: null, signal: 'SIGTERM' });
    expect(slow.durationMs).toBeGreaterThanOrEqual(1000);
    expect(slow.outputTail).toContain('timed out after 1 s');
    expect(stubborn).toMatchObject({ status: 'timed-out', passed: false, signal: 'SIGKILL' });
    expect(stubborn.outputTail).toContain('ignoring SIGTERM');
    expect(stubborn.durationMs).toBeGreaterThanOrEqual(3500);
    for (const file of ['pids.json', 'pids2.json']) {
      const pids = JSON.parse(fs.readFileSync(path.join(root, file), 'utf8'));
      await until(() => !alive(pids.parent) && !alive(pids.child), 5000);
    }
  });

  it('stops the check when the client cancels the request, and records it as cancelled', async () => {
    const root = project({ ...CONFIG, checks: { slow: 'node scripts/hang.cjs pids.json', after: 'node scripts/ok.cjs' } });
    const { h, taskId } = await inPhase(root);
    const controller = new AbortController();
    const call = h.client.callTool({ name: 'run-checks', arguments: { checks: ['slow', 'after'] } }, undefined, { signal: controller.signal });
    const pidFile = path.join(root, 'pids.json');
    await until(() => fs.existsSync(pidFile) && fs.readFileSync(pidFile, 'utf8').length > 0);
    const pids = JSON.parse(fs.readFileSync(pidFile, 'utf8'));
    expect(alive(pids.parent)).toBe(true);
    controller.abort('user pressed stop');
    await expect(call).rejects.toThrow();
    const outcome = await until(() => readEvents(h.root, taskId).find((e) => e.type === 'tool.succeeded' && e.data.tool === 'run-checks'));
    expect(outcome.data.output.cancelled).toBe(true);
    expect(outcome.data.output.results).toEqual([expect.objectContaining({ name: 'slow', status: 'cancelled', passed: false })]);
    await until(() => !alive(pids.parent) && !alive(pids.child), 5000);
  });

  it('keeps a bounded tail of 50 MB of output', async () => {
    const { h } = await inPhase(project({ ...CONFIG, checks: { huge: 'node scripts/huge.cjs' } }));
    const r = await h.call('run-checks', { checks: ['huge'] });
    const [huge] = r.structuredContent.results;
    expect(huge.status).toBe('passed');
    expect(huge.outputBytes).toBe(50 * 1024 * 1024 + 'THE-END-MARKER\n'.length);
    expect(Buffer.byteLength(huge.outputTail)).toBeLessThanOrEqual(TAIL_BYTES);
    expect(huge.outputTail.split('\n').length).toBeLessThanOrEqual(TAIL_LINES);
    expect(huge.outputTail.endsWith('THE-END-MARKER')).toBe(true);
  });

  it('never lets the tail buffer hold more than twice its window', () => {
    const tail = new OutputTail();
    const chunk = Buffer.alloc(64 * 1024, 'y');
    let peak = 0;
    for (let i = 0; i < 800; i++) {
      tail.push(chunk);
      peak = Math.max(peak, tail.retainedBytes);
    }
    tail.push(Buffer.alloc(5 * 1024 * 1024, 'z'));
    peak = Math.max(peak, tail.retainedBytes);
    expect(tail.totalBytes).toBe(800 * 64 * 1024 + 5 * 1024 * 1024);
    expect(peak).toBeLessThanOrEqual(2 * TAIL_WINDOW_BYTES);
  });

  it('passes `; rm -rf` and other shell syntax as literal arguments', async () => {
    const root = project({
      ...CONFIG,
      checks: {
        split: 'node scripts/argv.cjs ; rm -rf victim',
        quoted: `node scripts/argv.cjs "; rm -rf victim" '$(touch pwned)' '|' cat && echo \`id\``,
      },
    });
    fs.mkdirSync(path.join(root, 'victim'));
    fs.writeFileSync(path.join(root, 'victim', 'keep.txt'), 'still here');
    const { h } = await inPhase(root);
    const first = await h.call('run-checks', { checks: ['split'] });
    expect(first.structuredContent.results[0].status).toBe('passed');
    expect(JSON.parse(fs.readFileSync(path.join(root, 'argv.json'), 'utf8'))).toEqual([';', 'rm', '-rf', 'victim']);
    expect(first.structuredContent.results[0].command).toBe("node scripts/argv.cjs ';' rm -rf victim");
    const second = await h.call('run-checks', { checks: ['quoted'] });
    expect(second.structuredContent.results[0].status).toBe('passed');
    expect(JSON.parse(fs.readFileSync(path.join(root, 'argv.json'), 'utf8'))).toEqual(['; rm -rf victim', '$(touch pwned)', '|', 'cat', '&&', 'echo', '`id`']);
    expect(fs.readFileSync(path.join(root, 'victim', 'keep.txt'), 'utf8')).toBe('still here');
    expect(fs.existsSync(path.join(root, 'pwned'))).toBe(false);
  });

  it('reports a default check whose package.json script is missing as missing, without running it', async () => {
    const config = { project: 'demo', environments: BASE_CONFIG.environments };
    const root = project(config, {
      'package.json': JSON.stringify({ name: 'demo', version: '1.0.0', private: true, scripts: { build: 'node scripts/ok.cjs' } }),
      'package-lock.json': JSON.stringify({ name: 'demo', version: '1.0.0', lockfileVersion: 3, requires: true, packages: { '': { name: 'demo', version: '1.0.0' } } }),
    });
    const { h } = await inPhase(root);
    const r = await h.call('run-checks', {});
    const byName = Object.fromEntries(r.structuredContent.results.map((x: any) => [x.name, x]));
    expect(byName.quality).toMatchObject({ status: 'missing', passed: false, exitCode: null, command: 'npm run quality:check', source: 'default', durationMs: 0 });
    expect(byName.quality.outputTail).toContain('package.json has no "quality:check" script');
    expect(byName.test).toMatchObject({ status: 'missing', passed: false, command: 'npm test' });
    expect(byName.build).toMatchObject({ status: 'passed', passed: true, exitCode: 0, command: 'npm run build' });
    expect(byName.build.outputTail).toContain('all good');
    const c = await criterion(h, 'checks-passed');
    expect(c.met).toBe(false);
    expect(c.evidence).toContain('quality');
  });

  it('reports a command that does not exist as not-found', async () => {
    const { h } = await inPhase(project({ ...CONFIG, checks: { lint: 'definitely-not-a-real-program-7f3a --check' } }));
    const r = await h.call('run-checks', {});
    expect(r.structuredContent.results[0]).toMatchObject({ name: 'lint', status: 'not-found', passed: false, exitCode: null });
    expect(r.structuredContent.results[0].outputTail).toContain('definitely-not-a-real-program-7f3a was not found');
  });

  it('runs only integration by default in phase 5, and that meets the phase-5 criterion', async () => {
    const { h } = await inPhase(project(), 5);
    const r = await h.call('run-checks', {});
    expect(r.structuredContent.results.map((x: any) => x.name)).toEqual(['integration']);
    expect(r.structuredContent).toMatchObject({ allPassed: true, phase: 5 });
    expect(await criterion(h, 'integration-passed')).toMatchObject({ met: true });
  });

  it('names the configured checks when asked for an unknown one', async () => {
    const { h } = await inPhase(project());
    const r = await h.call('run-checks', { checks: ['lint'] });
    expect(r.structuredContent).toMatchObject({ error: 'unknown-check' });
    expect(r.structuredContent.nextStep).toContain('quality, test, build, integration');
  });

  it('redacts secrets a check prints, in the result, the event log and the journal', async () => {
    const key = new SecretFactory(42).accessKeyId();
    const { h, taskId } = await inPhase(project({ ...CONFIG, checks: { leaky: ['node', '-e', `console.log('using key ' + ${JSON.stringify(key)}); process.exit(1)`] } }));
    const r = await h.call('run-checks', {});
    expect(r.structuredContent.results[0].outputTail).toContain('[REDACTED:aws-access-key-id]');
    const journal = fs.readFileSync((await h.srv.deployments!.flushJournal(taskId))!, 'utf8');
    for (const text of [JSON.stringify(r), fs.readFileSync(path.join(h.root, '.deploy-mcp/tasks', String(taskId), 'events.jsonl'), 'utf8'), journal]) {
      expect(text.includes(key)).toBe(false);
    }
  });
});

describe('check helpers', () => {
  it('finds the package.json script a package-manager command runs', () => {
    expect(packageScriptOf(['npm', 'test'])).toBe('test');
    expect(packageScriptOf(['npm', 'run', 'build'])).toBe('build');
    expect(packageScriptOf(['pnpm', 'quality:check'])).toBe('quality:check');
    expect(packageScriptOf(['yarn', 'build'])).toBe('build');
    expect(packageScriptOf(['npm', 'exec', 'tsc'])).toBeNull();
    expect(packageScriptOf(['node', 'x.js'])).toBeNull();
  });

  it('shows an argv the way a person would type it', () => {
    expect(formatArgv(['node', 'a b', ';', "it's", ''])).toBe(`node 'a b' ';' 'it'\\''s' ''`);
  });
});
