/**
 * Phase 2 as a whole: the four tools produce exactly the evidence the phase-2 exit criteria read,
 * on a real repository (bare origin), real check processes and moto.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createBucket, uniqueName } from './helpers/aws-fixtures.js';
import { createRepo } from './helpers/git-repo.js';
import { BASE_CONFIG, forcePhase, startHarness, type Harness } from './helpers/mcp.js';

const open: Harness[] = [];
afterEach(async () => {
  while (open.length) await open.pop()!.close();
});

const unmetIds = async (h: Harness) =>
  ((await h.call('deployment-status', {})).structuredContent.criteria as { id: string; met: boolean }[]).filter((c) => !c.met).map((c) => c.id);

describe('phase 2 exit criteria', () => {
  it('are met by create-branch, run-checks, check-config and backup-state', async () => {
    const bucket = `${uniqueName('p2')}-staging`;
    await createBucket({ name: bucket, versioning: 'Enabled' });
    const repo = createRepo({
      origin: true,
      config: {
        ...BASE_CONFIG,
        checks: { quality: 'node -e 0', test: ['node', '-e', "console.log('42 tests passed')"], integration: 'node -e 0' },
        resources: [{ type: 's3-bucket', name: bucket }],
      },
    });
    const h = await startHarness({ root: repo.root });
    open.push(h);
    const taskId = (await h.call('start-deployment', { title: 'Phase 2', environment: 'staging', component: 'api' })).structuredContent.taskId;
    await forcePhase(h.srv, taskId, 2);
    expect(await unmetIds(h)).toEqual(['branch-created', 'checks-passed', 'config-clean', 'backup-taken']);

    expect((await h.call('create-branch', { push: true })).structuredContent).toMatchObject({ created: true, pushed: true });
    expect((await h.call('run-checks', {})).structuredContent).toMatchObject({ allPassed: true });
    expect((await h.call('check-config', {})).structuredContent).toMatchObject({ clean: true });
    expect((await h.call('backup-state', {})).structuredContent.backups).toHaveLength(1);
    expect(await unmetIds(h)).toEqual([]);

    const journal = await h.srv.deployments!.renderJournal(taskId);
    expect(journal).toContain('42 tests passed');
    expect(journal).toMatch(/`backup-state` ✔ Backed up 1 resource/);
  });

  it('a greenfield plan needs no backup', async () => {
    const repo = createRepo();
    const h = await startHarness({ root: repo.root });
    open.push(h);
    const taskId = (await h.call('start-deployment', { title: 'Greenfield', environment: 'staging', component: 'new' })).structuredContent.taskId;
    const plan = await h.call('record-plan', {
      components: ['new'],
      order: ['new'],
      infrastructureChanges: ['create everything'],
      rollbackStrategy: 'delete the stack',
      expectedDowntime: 'none',
      greenfield: true,
    });
    expect(plan.isError, JSON.stringify(plan.structuredContent)).toBeFalsy();
    await forcePhase(h.srv, taskId, 2);
    expect(await unmetIds(h)).not.toContain('backup-taken');
  });
});
