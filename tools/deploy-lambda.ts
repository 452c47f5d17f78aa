import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { MAX_INLINE_ZIP_BYTES, deployLambda, type DeploySource } from '../src/deploy/lambda-deploy.js';
import { resolveInsideProject } from '../src/deploy/project-path.js';
import { codeSha256, zipDirectory } from '../src/deploy/zip.js';
import { ToolError, defineTool } from '../src/tool.js';
import { TaskIdInput } from '../src/tool-schemas.js';

const FunctionName = z
  .string()
  .trim()
  .min(1)
  .max(170)
  .regex(/^[A-Za-z0-9_:.-]+$/, 'a function name or ARN')
  .describe('Function name (or ARN)');
const AliasName = z
  .string()
  .trim()
  .min(1)
  .max(128)
  .regex(/^(?![0-9]+$)[A-Za-z0-9_-]+$/, 'an alias name (letters, digits, - and _; not only digits)');

const Step = z.object({ name: z.string(), status: z.enum(['done', 'skipped', 'failed']), detail: z.string(), durationMs: z.number() });
const ConfigSnapshot = z.object({ memorySize: z.number().optional(), timeout: z.number().optional(), environmentVariableNames: z.array(z.string()) });

export default defineTool({
  name: 'deploy-lambda',
  title: 'Deploy a Lambda function behind an alias',
  description:
    'Deploys new code (a zip file, a directory zipped reproducibly, or an S3 object) to an existing function and moves an alias to it, recording the version the alias had before (the rollback target). Steps: record the alias version → UpdateFunctionCode → wait until Successful → UpdateFunctionConfiguration when `configuration` is given (memory, timeout, environment variables merged into the existing ones; values are never recorded) → wait → PublishVersion with CodeSha256 + RevisionId preconditions (refused if the code changed underneath) → point the alias at the new version, optionally in weighted steps (`routing.steps`, e.g. [10, 100]) with a check between steps (the alias read back plus an invoke of the new version). If any step fails the alias is left on the previous version with routing cleared, and the error says so. Identical code and configuration is reported as unchanged. Progress is reported per step.',
  phases: [4],
  aws: true,
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  input: z
    .object({
      taskId: TaskIdInput,
      function: FunctionName,
      zipPath: z.string().trim().min(1).max(1024).optional().describe('A deployment package (.zip), relative to the project root'),
      directory: z.string().trim().min(1).max(1024).optional().describe('A directory to zip reproducibly (sorted entries, fixed timestamps), relative to the project root'),
      s3: z
        .object({
          bucket: z.string().trim().min(3).max(63),
          key: z.string().min(1).max(1024),
          objectVersion: z.string().min(1).max(1024).optional(),
        })
        .strict()
        .optional()
        .describe('A package already in S3 (e.g. uploaded with upload-artifacts)'),
      alias: AliasName.describe('Alias to move to the new version (created when it does not exist yet)'),
      publish: z.boolean().optional().describe('Publish a version and move the alias (default true). false: update $LATEST only, leave the alias'),
      configuration: z
        .object({
          memorySize: z.number().int().min(128).max(10_240).optional(),
          timeout: z.number().int().min(1).max(900).optional(),
          environment: z
            .record(z.string().regex(/^[A-Za-z][A-Za-z0-9_]*$/, 'an environment variable name'), z.string().max(4096))
            .optional()
            .describe('Variables to set (merged into the existing ones). Values are never recorded or returned.'),
        })
        .strict()
        .optional()
        .describe('Configuration that ships with this code, applied before the version is published'),
      routing: z
        .object({
          steps: z.array(z.number().int().min(1).max(100)).min(1).max(10).describe('Percent of traffic on the new version per step, increasing; 100 is added when missing'),
          checkBetween: z
            .object({
              payload: z.unknown().optional().describe('Event for the check invoke of the new version (default {})'),
              expectJson: z.unknown().optional().describe('The response must contain this JSON (subset match)'),
              holdSeconds: z.number().int().min(0).max(900).optional().describe('Wait this long at each weight before checking (default 0)'),
            })
            .strict()
            .optional(),
        })
        .strict()
        .optional()
        .describe('Gradual shift: RoutingConfig weights with a check between steps'),
      component: z.string().trim().min(1).max(120).optional().describe('The plan component this deploys (default: the function name)'),
      description: z.string().max(256).optional().describe('Version description'),
    })
    .strict(),
  output: z.object({
    function: z.string(),
    alias: z.string(),
    component: z.string(),
    previousVersion: z.string().nullable(),
    previousWeights: z.record(z.string(), z.number()),
    newVersion: z.string().nullable(),
    aliasVersion: z.string().nullable(),
    codeSha256: z.string(),
    previousCodeSha256: z.string().nullable(),
    changed: z.boolean(),
    published: z.boolean(),
    aliasCreated: z.boolean(),
    functionArn: z.string().optional(),
    previousConfiguration: ConfigSnapshot.optional(),
    appliedConfiguration: ConfigSnapshot.optional(),
    routing: z.array(z.object({ weight: z.number(), checked: z.boolean(), detail: z.string() })),
    steps: z.array(Step),
    source: z.object({
      kind: z.enum(['zip', 'directory', 's3']),
      path: z.string().optional(),
      bucket: z.string().optional(),
      key: z.string().optional(),
      bytes: z.number().optional(),
      files: z.number().optional(),
    }),
    region: z.string(),
    durationMs: z.number(),
  }),
  summarize: (o) => {
    const head = !o.changed
      ? `${o.function}:${o.alias} unchanged on version ${o.aliasVersion} (code ${o.codeSha256.slice(0, 12)}…)`
      : !o.published
        ? `${o.function} $LATEST updated to code ${o.codeSha256.slice(0, 12)}… (not published; alias ${o.alias} stays on ${o.previousVersion ?? 'none'})`
        : `${o.function}:${o.alias} version ${o.previousVersion ?? '(new alias)'} → ${o.newVersion} (CodeSha256 ${o.previousCodeSha256 ? `${o.previousCodeSha256} → ` : ''}${o.codeSha256})${o.routing.length > 1 ? ` via ${o.routing.map((r) => `${r.weight}%`).join(' → ')}` : ''}`;
    return [head, ...o.steps.map((s) => `  ${s.status === 'done' ? '✔' : s.status === 'skipped' ? '–' : '✘'} ${s.name}: ${s.detail}`)].join('\n');
  },
  async run(input, ctx) {
    const sources = [input.zipPath, input.directory, input.s3].filter((s) => s !== undefined);
    if (sources.length !== 1) {
      throw new ToolError(
        'invalid-source',
        sources.length === 0 ? 'deploy-lambda needs the code: give exactly one of zipPath, directory or s3.' : 'Give exactly one of zipPath, directory or s3, not several.',
        'Call again with one code source.',
      );
    }
    const started = Date.now();
    let source: DeploySource;
    let sourceOut: { kind: 'zip' | 'directory' | 's3'; path?: string; bucket?: string; key?: string; bytes?: number; files?: number };
    if (input.zipPath) {
      const file = resolveInsideProject(ctx.projectRoot, input.zipPath, 'zip file');
      if (!fs.statSync(file).isFile()) throw new ToolError('not-a-file', `${input.zipPath} is not a file.`, 'Give the path of a .zip deployment package.');
      const zip = fs.readFileSync(file);
      if (zip.readUInt32LE(0) !== 0x04034b50) throw new ToolError('not-a-zip', `${input.zipPath} is not a zip archive.`, 'Build the deployment package as a .zip, or pass directory to have it zipped.');
      source = { kind: 'zip', zip, sha256: codeSha256(zip), path: path.relative(ctx.projectRoot, file) };
      sourceOut = { kind: 'zip', path: source.path, bytes: zip.length };
    } else if (input.directory) {
      const dir = resolveInsideProject(ctx.projectRoot, input.directory, 'directory');
      let built;
      try {
        built = zipDirectory(dir);
      } catch (err) {
        throw new ToolError('zip-failed', `Could not zip ${input.directory}: ${(err as Error).message}`, 'Fix the directory contents and call again.');
      }
      source = { kind: 'directory', zip: built.zip, sha256: codeSha256(built.zip), path: path.relative(ctx.projectRoot, dir), files: built.files };
      sourceOut = { kind: 'directory', path: source.path, bytes: built.zip.length, files: built.files };
    } else {
      const s3 = input.s3!;
      source = { kind: 's3', bucket: s3.bucket, key: s3.key, ...(s3.objectVersion ? { objectVersion: s3.objectVersion } : {}) };
      sourceOut = { kind: 's3', bucket: s3.bucket, key: s3.key };
    }
    if (source.kind !== 's3' && source.zip.length > MAX_INLINE_ZIP_BYTES) {
      throw new ToolError(
        'package-too-large',
        `The package is ${(source.zip.length / 1024 / 1024).toFixed(1)} MB; Lambda accepts at most 50 MB inline.`,
        'Upload it with upload-artifacts, then call deploy-lambda with s3: {bucket, key, objectVersion}.',
      );
    }

    const clients = ctx.aws();
    const result = await deployLambda(
      clients,
      {
        functionName: input.function,
        alias: input.alias,
        source,
        publish: input.publish ?? true,
        configuration: input.configuration,
        routing: input.routing ? { steps: input.routing.steps, check: input.routing.checkBetween } : undefined,
        description: input.description,
      },
      { signal: ctx.signal, progress: (done, total, message) => ctx.progress(done, total, message) },
    );
    return {
      ...result,
      component: input.component ?? input.function,
      source: sourceOut,
      region: clients.target.region,
      durationMs: Date.now() - started,
    };
  },
});
