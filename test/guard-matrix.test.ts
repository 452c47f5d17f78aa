/**
 * Every registered tool × every phase (and no task): allowed exactly where its definition says,
 * refused everywhere else with SPEC §2's structured refusal, and a refusal changes nothing but
 * the audit trail. Generated from the definitions, so a new tool is covered automatically.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALL_TOOLS } from '../tools/index.js';
import { allowedPhaseNumbers } from '../src/workflow/guard.js';
import { PHASES } from '../src/workflow/phases.js';
import { forcePhase, readEvents, startHarness, type Harness } from './helpers/mcp.js';
import { sampleFor } from './helpers/sample-input.js';

const phases = PHASES.map((p) => p.number);

describe('guard matrix', () => {
  let h: Harness;
  /** One task per phase, each for its own component, so calls do not disturb each other. */
  const taskInPhase = new Map<number, number>();

  beforeAll(async () => {
    h = await startHarness();
    for (const phase of phases) {
      const r = await h.call('start-deployment', { title: `Matrix phase ${phase}`, environment: 'staging', component: `matrix-${phase}` });
      expect(r.isError, JSON.stringify(r.content)).toBeFalsy();
      const taskId = r.structuredContent.taskId as number;
      await forcePhase(h.srv, taskId, phase);
      taskInPhase.set(phase, taskId);
    }
  });
  afterAll(async () => h?.close());

  it('registers every tool with a title, annotations and both schemas', async () => {
    const listed = await h.client.listTools();
    expect(listed.tools.map((t) => t.name).sort()).toEqual(ALL_TOOLS.map((t) => t.name).sort());
    for (const tool of listed.tools) {
      expect(tool.title, tool.name).toBeTruthy();
      expect(tool.outputSchema, tool.name).toBeTruthy();
      expect(tool.inputSchema.type).toBe('object');
      expect(tool.annotations?.readOnlyHint, tool.name).toBeTypeOf('boolean');
      expect(tool.annotations?.destructiveHint, tool.name).toBeTypeOf('boolean');
      expect(tool.description, tool.name).toMatch(/Phases: /);
    }
  });

  for (const tool of ALL_TOOLS) {
    const allowed = new Set(allowedPhaseNumbers(tool.phases));
    for (const phase of phases) {
      const expectAllowed = allowed.has(phase);
      it(`${tool.name} in phase ${phase}: ${expectAllowed ? 'allowed' : 'refused'}`, async () => {
        const taskId = taskInPhase.get(phase)!;
        const before = readEvents(h.root, taskId).length;
        const args = { ...(sampleFor(tool.input) as Record<string, unknown>) };
        if ('taskId' in tool.input.shape && !tool.taskless) args.taskId = taskId;
        const r = await h.call(tool.name, args);
        if (expectAllowed) {
          expect(r.structuredContent?.refused, JSON.stringify(r.structuredContent)).not.toBe(true);
        } else {
          expect(r.isError).toBe(true);
          const s = r.structuredContent;
          expect(s).toMatchObject({ refused: true, reason: 'phase', tool: tool.name, taskId, currentPhase: { number: phase } });
          expect(s.allowedPhases.map((p: { number: number }) => p.number)).toEqual([...allowed]);
          expect(s.nextStep).toBeTruthy();
          // The refusal is audited, and it is the only thing that happened.
          const after = readEvents(h.root, taskId);
          expect(after.length).toBe(before + 1);
          expect(after.at(-1)).toMatchObject({ type: 'tool.refused', data: { tool: tool.name, reason: 'phase' } });
        }
      });
    }
  }

  describe('with no task open', () => {
    let empty: Harness;
    beforeAll(async () => {
      empty = await startHarness();
    });
    afterAll(async () => empty?.close());

    // Taskless tools last: start-deployment opens a task.
    for (const tool of [...ALL_TOOLS].sort((a, b) => Number(!!a.taskless) - Number(!!b.taskless))) {
      it(`${tool.name}: ${tool.taskless ? 'runs' : 'refused with no-task'}`, async () => {
        const args = sampleFor(tool.input) as Record<string, unknown>;
        const r = await empty.call(tool.name, args);
        if (tool.taskless) {
          expect(r.structuredContent?.refused).not.toBe(true);
        } else {
          expect(r.structuredContent).toMatchObject({ refused: true, reason: 'no-task', tool: tool.name, taskId: null, currentPhase: null });
          const audit = fs.readFileSync(path.join(empty.root, '.deploy-mcp', 'audit.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
          expect(audit.at(-1)).toMatchObject({ type: 'tool.refused', data: { tool: tool.name, reason: 'no-task' } });
        }
      });
    }
  });

  describe('read-only mode', () => {
    let ro: Harness;
    let taskId: number;
    beforeAll(async () => {
      const rw = await startHarness();
      taskId = (await rw.call('start-deployment', { title: 'Read-only', environment: 'staging', component: 'ro' })).structuredContent.taskId;
      await rw.close();
      ro = await startHarness({ root: rw.root, readOnly: true });
    });
    afterAll(async () => ro?.close());

    for (const tool of ALL_TOOLS) {
      const refused = !tool.annotations.readOnlyHint;
      it(`${tool.name} ${refused ? 'is refused' : 'still runs'} read-only`, async () => {
        const args = { ...(sampleFor(tool.input) as Record<string, unknown>) };
        if ('taskId' in tool.input.shape && !tool.taskless) args.taskId = taskId;
        const r = await ro.call(tool.name, args);
        if (refused) expect(r.structuredContent).toMatchObject({ refused: true, reason: 'read-only', tool: tool.name });
        else expect(r.structuredContent?.reason ?? 'ran').not.toBe('read-only');
      });
    }
  });
});
