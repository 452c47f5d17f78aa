import type { AwsClients } from '../clients.js';
import { describeAwsError } from '../errors.js';
import type { Flag, Inspection, PropertyProblem } from './types.js';

const SEVERITY_ORDER = { high: 0, medium: 1, low: 2 } as const;

/**
 * Collects what an inspector reads. Each property read is its own call wrapped by `read`, so an
 * AccessDenied on one property becomes a problem for that field while the others are still read.
 */
export class InspectionBuilder {
  existence: Inspection['existence'] = 'present';
  readonly actual: Record<string, unknown> = {};
  readonly problems: PropertyProblem[] = [];
  readonly flags: Flag[] = [];

  constructor(private readonly clients: AwsClients) {}

  /**
   * Runs one read. On failure records a problem for every field the read feeds (unless
   * `onError` handles the error by returning a value, e.g. "not configured" 404s) and returns
   * undefined.
   */
  async read<T>(
    fields: readonly string[],
    ctx: { action: string; resource?: string },
    call: () => Promise<T>,
    onError?: (err: unknown) => T | undefined,
  ): Promise<T | undefined> {
    try {
      return await call();
    } catch (err) {
      const handled = onError?.(err);
      if (handled !== undefined) return handled;
      this.fail(fields, err, ctx);
      return undefined;
    }
  }

  /** Records a failed read for `fields`. */
  fail(fields: readonly string[], err: unknown, ctx: { action: string; resource?: string }): void {
    const problem = this.clients.problem(err, ctx);
    for (const field of fields) {
      this.problems.push({ field, code: problem.code, message: problem.message, nextStep: problem.nextStep });
    }
  }

  /**
   * The existence read failed: absent on a not-found error, unknown (with a problem) otherwise.
   */
  existenceFailed(err: unknown, ctx: { action: string; resource?: string }): Inspection {
    if (describeAwsError(err, ctx).kind === 'not-found') this.existence = 'absent';
    else {
      this.existence = 'unknown';
      this.fail(['exists'], err, ctx);
    }
    return this.done();
  }

  absent(): Inspection {
    this.existence = 'absent';
    return this.done();
  }

  flag(field: string, severity: Flag['severity'], message: string): void {
    this.flags.push({ field, severity, message });
  }

  done(): Inspection {
    // Reads run in parallel: sort the keys so the same resource always reads back the same.
    const actual = Object.fromEntries(Object.keys(this.actual).sort().map((key) => [key, this.actual[key]]));
    const problems = [...this.problems].sort((a, b) => a.field.localeCompare(b.field));
    const flags = [...this.flags].sort((a, b) => SEVERITY_ORDER[a.severity] - SEVERITY_ORDER[b.severity] || a.field.localeCompare(b.field) || a.message.localeCompare(b.message));
    return { existence: this.existence, actual, problems, flags };
  }
}

/** The AWS error code of `err` (`name` for SDK service errors). */
export function errorName(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const e = err as { name?: unknown; Code?: unknown };
  if (typeof e.Code === 'string') return e.Code;
  return typeof e.name === 'string' ? e.name : undefined;
}
