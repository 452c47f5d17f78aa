export * from './schema.js';
export * from './load.js';
export { CommandSyntaxError } from './command.js';
export { starterConfig, projectName } from './starter.js';
export { configJsonSchema, CONFIG_SCHEMA_ID } from './json-schema.js';
export { parseJsonc, stripJsonComments, JsonSyntaxError } from './jsonc.js';
export { formatPath, describeValue, looksSecret } from './messages.js';
