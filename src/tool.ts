/**
 * A tool is data plus one function. The file in `tools/` says what the tool does; guarding,
 * journaling, redaction and transport happen once, around every tool, in `src/server.ts`.
 */
import type { z } from 'zod';
import type { PhaseNumber } from './workflow/phases.js';
import type { ToolContext } from './tool-context.js';

/** `always`: runs with or without a task. `any`: every phase of an active task. */
export type ToolPhases = 'always' | 'any' | readonly PhaseNumber[];

export interface ToolAnnotations {
  readOnlyHint: boolean;
  destructiveHint: boolean;
  idempotentHint: boolean;
  openWorldHint: boolean;
}

export interface ToolDefinition<I extends z.ZodObject = z.ZodObject, O extends z.ZodObject = z.ZodObject> {
  name: string;
  title: string;
  /** Shown to the agent. The phases are appended automatically, so do not repeat them. */
  description: string;
  phases: ToolPhases;
  annotations: ToolAnnotations;
  input: I;
  output: O;
  /** Makes AWS calls: the guard checks account pinning before it runs. */
  aws?: boolean;
  /** Runs without a task (only meaningful with phases `always`). */
  taskless?: boolean;
  /** Still allowed while a transition request waits for the human. */
  allowWhilePending?: boolean;
  /** Still allowed after the task ended (complete / rolled-back / abandoned). */
  allowWhenEnded?: boolean;
  /**
   * Outcome is not written to the event log. Only for read-only tools that are polled
   * (status, listings); refusals are always recorded.
   */
  skipAudit?: boolean;
  /** A one-line text summary of the result for the `content` block the agent reads. */
  summarize?: (output: z.infer<O>) => string;
  run: (input: z.infer<I>, ctx: ToolContext) => Promise<z.infer<O>>;
}

export type AnyToolDefinition = ToolDefinition<z.ZodObject, z.ZodObject>;

export function defineTool<I extends z.ZodObject, O extends z.ZodObject>(def: ToolDefinition<I, O>): AnyToolDefinition {
  return def as unknown as AnyToolDefinition;
}

/**
 * An error a tool throws to say what happened and what to do next. The wrapper turns it into an
 * `isError` result with `structuredContent: { error: code, message, nextStep, details }`.
 */
export class ToolError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly nextStep?: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'ToolError';
  }
}
