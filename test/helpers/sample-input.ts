/**
 * Builds a schema-valid input for any tool from its zod schema, so that tests generated from the
 * tool definitions (the guard matrix) cover a new tool without anyone writing its arguments.
 */
import type { z } from 'zod';

const STRING_CANDIDATES = ['staging', 'sample', 'sample value for a test run', 'x', 'tr-000000000000', 'fn:live', '1', 'https://example.com/'];

export function sampleFor(schema: z.ZodType): unknown {
  const def = (schema as any)._zod.def;
  switch (def.type) {
    case 'object': {
      const out: Record<string, unknown> = {};
      for (const [key, field] of Object.entries((schema as any).shape as Record<string, z.ZodType>)) {
        const fdef = (field as any)._zod.def;
        if (fdef.type === 'optional') continue;
        out[key] = sampleFor(field);
      }
      return out;
    }
    case 'string':
      for (const c of STRING_CANDIDATES) if (schema.safeParse(c).success) return c;
      return 'sample';
    case 'number':
    case 'int':
      for (const c of [1, 10, 100, 0]) if (schema.safeParse(c).success) return c;
      return 1;
    case 'boolean':
      return false;
    case 'enum':
      return (schema as any).options[0];
    case 'literal':
      return def.values[0];
    case 'array': {
      const min = def.checks?.find((c: any) => c._zod.def.check === 'min_length')?._zod.def.minimum ?? 0;
      return Array.from({ length: min }, () => sampleFor(def.element));
    }
    case 'record':
      return {};
    case 'optional':
    case 'default':
    case 'nullable':
      return sampleFor(def.innerType);
    case 'union':
      return sampleFor(def.options[0]);
    case 'pipe':
      return sampleFor(def.in);
    default:
      throw new Error(`sampleFor: unsupported zod type ${def.type}`);
  }
}
