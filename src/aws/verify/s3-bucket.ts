import type { AwsClients } from '../clients.js';
import { assembleResult } from './compare.js';
import { InspectionBuilder, errorName } from './inspection.js';
import type { Inspection, VerifyResult } from './types.js';

/** GetBucketLocation's answer for a region: us-east-1 is reported as empty, eu-west-1 once as `EU`. */
export function bucketRegionFromLocation(constraint: string | null | undefined): string {
  if (!constraint) return 'us-east-1';
  if (constraint === 'EU') return 'eu-west-1';
  return constraint;
}

export async function inspectBucket(clients: AwsClients, name: string): Promise<Inspection> {
  const s3sdk = await import('@aws-sdk/client-s3');
  const s3 = await clients.s3();
  const b = new InspectionBuilder(clients);
  const resource = `arn:aws:s3:::${name}`;

  try {
    const location = await s3.send(new s3sdk.GetBucketLocationCommand({ Bucket: name }));
    b.actual.region = bucketRegionFromLocation(location.LocationConstraint);
  } catch (err) {
    if (errorName(err) === 'NoSuchBucket') return b.absent();
    // Without s3:GetBucketLocation the bucket may still be visible through HeadBucket.
    try {
      const head = await s3.send(new s3sdk.HeadBucketCommand({ Bucket: name }));
      if (head.BucketRegion) b.actual.region = head.BucketRegion;
      else b.fail(['region'], err, { action: 's3:GetBucketLocation', resource });
    } catch (headErr) {
      return b.existenceFailed(headErr, { action: 's3:ListBucket', resource });
    }
  }

  await Promise.all([
    b.read(['versioning'], { action: 's3:GetBucketVersioning', resource }, async () => {
      const out = await s3.send(new s3sdk.GetBucketVersioningCommand({ Bucket: name }));
      b.actual.versioning = out.Status ?? 'Disabled';
    }),

    b.read(
      ['encryption', 'kmsKeyId'],
      { action: 's3:GetEncryptionConfiguration', resource },
      async () => {
        const out = await s3.send(new s3sdk.GetBucketEncryptionCommand({ Bucket: name }));
        const rule = out.ServerSideEncryptionConfiguration?.Rules?.[0]?.ApplyServerSideEncryptionByDefault;
        b.actual.encryption = rule?.SSEAlgorithm ?? 'none';
        b.actual.kmsKeyId = rule?.KMSMasterKeyID ?? null;
        return true;
      },
      (err) => {
        // Real S3 has encrypted every bucket with SSE-S3 since 2023; emulators answer 404.
        if (errorName(err) !== 'ServerSideEncryptionConfigurationNotFoundError') return undefined;
        b.actual.encryption = 'none';
        b.actual.kmsKeyId = null;
        return true;
      },
    ),

    b.read(
      ['publicAccessBlock'],
      { action: 's3:GetBucketPublicAccessBlock', resource },
      async () => {
        const out = await s3.send(new s3sdk.GetPublicAccessBlockCommand({ Bucket: name }));
        const c = out.PublicAccessBlockConfiguration ?? {};
        const settings = {
          blockPublicAcls: c.BlockPublicAcls === true,
          ignorePublicAcls: c.IgnorePublicAcls === true,
          blockPublicPolicy: c.BlockPublicPolicy === true,
          restrictPublicBuckets: c.RestrictPublicBuckets === true,
        };
        b.actual.publicAccessBlock = Object.values(settings).every(Boolean);
        b.actual.publicAccessBlockSettings = settings;
        return true;
      },
      (err) => {
        if (errorName(err) !== 'NoSuchPublicAccessBlockConfiguration') return undefined;
        b.actual.publicAccessBlock = false;
        b.actual.publicAccessBlockSettings = null;
        return true;
      },
    ),

    b.read(
      ['lifecycleRules'],
      { action: 's3:GetLifecycleConfiguration', resource },
      async () => {
        const out = await s3.send(new s3sdk.GetBucketLifecycleConfigurationCommand({ Bucket: name }));
        b.actual.lifecycleRules = out.Rules?.length ?? 0;
        return true;
      },
      (err) => {
        if (errorName(err) !== 'NoSuchLifecycleConfiguration') return undefined;
        b.actual.lifecycleRules = 0;
        return true;
      },
    ),

    b.read(
      ['replication'],
      { action: 's3:GetReplicationConfiguration', resource },
      async () => {
        const out = await s3.send(new s3sdk.GetBucketReplicationCommand({ Bucket: name }));
        b.actual.replication = (out.ReplicationConfiguration?.Rules?.length ?? 0) > 0;
        return true;
      },
      (err) => {
        if (errorName(err) !== 'ReplicationConfigurationNotFoundError') return undefined;
        b.actual.replication = false;
        return true;
      },
    ),

    b.read(
      ['tags'],
      { action: 's3:GetBucketTagging', resource },
      async () => {
        const out = await s3.send(new s3sdk.GetBucketTaggingCommand({ Bucket: name }));
        b.actual.tags = Object.fromEntries((out.TagSet ?? []).map((t) => [t.Key ?? '', t.Value ?? '']));
        return true;
      },
      (err) => {
        if (errorName(err) !== 'NoSuchTagSet') return undefined;
        b.actual.tags = {};
        return true;
      },
    ),
  ]);

  if (b.actual.publicAccessBlock === false) {
    b.flag('publicAccessBlock', 'medium', `Bucket ${name} does not block public access with all four public access block settings`);
  }
  return b.done();
}

export async function verifyBucket(clients: AwsClients, name: string, expect: Record<string, unknown> = {}): Promise<VerifyResult> {
  return assembleResult('s3-bucket', name, expect, await inspectBucket(clients, name));
}
