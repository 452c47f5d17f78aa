/** The JSON Schema `deploy-mcp schema` prints, generated from the zod schema so the two never drift. */
import { z } from 'zod';
import { ConfigSchema } from './schema.js';

export const CONFIG_SCHEMA_ID = 'https://deploy-mcp.dev/schema/config.json';

export function configJsonSchema(): object {
  // io "input": what a person writes, so fields with defaults are optional.
  const schema = z.toJSONSchema(ConfigSchema, { target: 'draft-2020-12', io: 'input', unrepresentable: 'any' });
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: CONFIG_SCHEMA_ID,
    title: 'deploy-mcp configuration',
    ...withoutKeys(schema, ['$schema']),
  };
}

function withoutKeys(object: object, keys: string[]): Record<string, unknown> {
  return Object.fromEntries(Object.entries(object).filter(([key]) => !keys.includes(key)));
}
