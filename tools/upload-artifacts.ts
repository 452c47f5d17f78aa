import { z } from 'zod';
import { DEFAULT_PART_SIZE, bucketVersioning, collectArtifacts, uploadArtifacts } from '../src/deploy/s3-upload.js';
import { defineTool } from '../src/tool.js';
import { TaskIdInput } from '../src/tool-schemas.js';

export default defineTool({
  name: 'upload-artifacts',
  title: 'Upload artifacts to S3',
  description:
    "Uploads files and directories from the project (processing scripts, bundles, packages) to s3://bucket/prefix/: a file keeps its name, a directory contributes its contents by relative path. Each object gets its SHA-256 (sent as ChecksumSHA256 so S3 verifies it, and stored as x-amz-meta-sha256); files above the multipart threshold go up in parts. An object whose sha256 and size are already there is not uploaded again (reported as unchanged, so an identical re-upload is a no-op). The version id each upload replaced is recorded: that is what rollback restores. Give `component` (the plan's component name) so the phase-4 criterion counts this upload.",
  phases: [4],
  aws: true,
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  input: z
    .object({
      taskId: TaskIdInput,
      bucket: z
        .string()
        .trim()
        .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'an S3 bucket name'),
      prefix: z.string().max(900).describe('Key prefix, e.g. "pipeline/scripts/" ("" for the bucket root)'),
      paths: z.array(z.string().trim().min(1).max(1024)).min(1).max(200).describe('Files or directories, relative to the project root'),
      component: z.string().trim().min(1).max(120).optional().describe('The plan component these artifacts belong to'),
      contentType: z.string().trim().min(1).max(200).optional().describe('Content-Type for every object (default: by extension)'),
      multipartThresholdMb: z.number().int().min(5).max(5000).optional().describe('Files at least this large go up in parts (default 16)'),
    })
    .strict(),
  output: z.object({
    bucket: z.string(),
    prefix: z.string(),
    component: z.string().optional(),
    versioning: z.enum(['Enabled', 'Suspended', 'Disabled']),
    objects: z.array(
      z.object({
        bucket: z.string(),
        key: z.string(),
        versionId: z.string().optional(),
        previousVersionId: z.string().optional(),
        existed: z.boolean(),
        sha256: z.string(),
        bytes: z.number(),
        uploaded: z.boolean(),
        multipart: z.boolean(),
        source: z.string(),
      }),
    ),
    uploadedCount: z.number(),
    unchangedCount: z.number(),
    totalBytes: z.number(),
    noop: z.boolean().describe('Every object was already there with the same content'),
    warnings: z.array(z.string()),
  }),
  summarize: (o) =>
    [
      o.noop
        ? `s3://${o.bucket}/${o.prefix}: all ${o.objects.length} object(s) already up to date — nothing uploaded (no-op)`
        : `s3://${o.bucket}/${o.prefix}: ${o.uploadedCount} uploaded, ${o.unchangedCount} unchanged (${o.totalBytes} bytes)`,
      ...o.objects.map((x) => `  ${x.uploaded ? '↑' : '='} ${x.key} sha256 ${x.sha256.slice(0, 12)}… ${x.versionId ? `version ${x.versionId}` : '(no version id)'}${x.previousVersionId ? ` (was ${x.previousVersionId})` : ''}`),
      ...o.warnings.map((w) => `  ! ${w}`),
    ].join('\n'),
  async run(input, ctx) {
    const files = collectArtifacts(ctx.projectRoot, input.paths, input.prefix);
    const clients = ctx.aws();
    const versioning = await bucketVersioning(clients, input.bucket, ctx.signal);
    await ctx.progress(0, files.length, `uploading ${files.length} file(s) to s3://${input.bucket}/${input.prefix}`);
    const objects = await uploadArtifacts(clients, input.bucket, files, {
      multipartThresholdBytes: (input.multipartThresholdMb ?? 16) * 1024 * 1024,
      partSizeBytes: DEFAULT_PART_SIZE,
      contentType: input.contentType,
      signal: ctx.signal,
      progress: (done, total, message) => ctx.progress(done, total, message),
    });
    const warnings: string[] = [];
    if (versioning !== 'Enabled') {
      const overwritten = objects.filter((o) => o.uploaded && o.existed).length;
      warnings.push(
        `Versioning is ${versioning} on ${input.bucket}: ${overwritten ? `the previous content of ${overwritten} overwritten object(s) cannot be restored by rollback` : 'objects uploaded here cannot be rolled back by version id'}. Ask the human to enable versioning before the next upload.`,
      );
    }
    if (!input.component) warnings.push('No component given: this upload does not count towards "every planned component deployed".');
    const uploaded = objects.filter((o) => o.uploaded);
    return {
      bucket: input.bucket,
      prefix: input.prefix,
      ...(input.component ? { component: input.component } : {}),
      versioning,
      objects,
      uploadedCount: uploaded.length,
      unchangedCount: objects.length - uploaded.length,
      totalBytes: uploaded.reduce((n, o) => n + o.bytes, 0),
      noop: uploaded.length === 0,
      warnings,
    };
  },
});
