/**
 * Fixtures for the phase 4 / 7 tests: a task in a region of its own (moto's queued Lambda results
 * are shared per account + region), a live function with alias `live` on version 1, a versioned
 * bucket with an object already in it.
 */
import fs from 'node:fs';
import path from 'node:path';
import * as lambdasdk from '@aws-sdk/client-lambda';
import * as s3sdk from '@aws-sdk/client-s3';
import { expect } from 'vitest';
import { BASE_CONFIG, forcePhase, startHarness, type Harness } from './mcp.js';
import { createAlias, createBucket, createFunction, createRole, fixtureClients, makeZip, motoEndpoint, publishVersion, uniqueName } from './aws-fixtures.js';

export function regionConfig(region: string, extra: Record<string, unknown> = {}) {
  return { ...BASE_CONFIG, environments: { staging: { accountId: '123456789012', region } }, ...extra };
}

export interface TaskOptions {
  region: string;
  phase?: number;
  components?: string[];
  harness?: Parameters<typeof startHarness>[0];
}

/** A task for component `components[0]`, its plan recorded in phase 1, then moved to `phase`. */
export async function taskIn(opts: TaskOptions): Promise<{ h: Harness; taskId: number }> {
  const h = await startHarness({ config: regionConfig(opts.region), ...(opts.harness ?? {}) });
  const components = opts.components ?? ['app'];
  const started = await h.call('start-deployment', { title: 'Release', environment: 'staging', component: uniqueName('c') });
  expect(started.isError, JSON.stringify(started.content)).toBeFalsy();
  const taskId = started.structuredContent.taskId as number;
  const plan = await h.call('record-plan', {
    components,
    order: components,
    infrastructureChanges: [],
    rollbackStrategy: 'Point the live alias back to the previous version; copy previous object versions back.',
    expectedDowntime: 'none (alias shift)',
  });
  expect(plan.isError, JSON.stringify(plan.content)).toBeFalsy();
  await forcePhase(h.srv, taskId, opts.phase ?? 4);
  return { h, taskId };
}

export function lambdaClient(region: string) {
  return fixtureClients(motoEndpoint(), region).lambda;
}

export function s3Client(region = 'us-east-1') {
  return fixtureClients(motoEndpoint(), region).s3;
}

let roleArn: string | undefined;

/** A function with code "v1", published as version 1, alias `live` → 1. */
export async function liveFunction(region: string, name = uniqueName('fn')): Promise<string> {
  roleArn ??= await createRole(uniqueName('deploy-role'));
  await createFunction({ name, roleArn, region, zip: makeZip({ 'index.py': 'def handler(event, context):\n    return {"v": 1}\n' }) });
  expect(await publishVersion(name, { region })).toBe('1');
  await createAlias({ functionName: name, name: 'live', functionVersion: '1', region });
  return name;
}

export async function aliasOf(region: string, fn: string, alias = 'live') {
  const out = await lambdaClient(region).send(new lambdasdk.GetAliasCommand({ FunctionName: fn, Name: alias }));
  return { version: out.FunctionVersion, weights: { ...(out.RoutingConfig?.AdditionalVersionWeights ?? {}) } };
}

export async function versionsOf(region: string, fn: string): Promise<string[]> {
  const out = await lambdaClient(region).send(new lambdasdk.ListVersionsByFunctionCommand({ FunctionName: fn }));
  return (out.Versions ?? []).map((v) => v.Version!).filter((v) => v !== '$LATEST');
}

/** Writes `files` under `dir` (relative to the project root); returns the directory's relative path. */
export function writeTree(root: string, dir: string, files: Record<string, string | Buffer>): string {
  for (const [name, content] of Object.entries(files)) {
    const file = path.join(root, dir, name);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, content);
  }
  return dir;
}

/** A versioned bucket holding `key` with `content`; returns that first version id. */
export async function versionedObject(bucket: string, key: string, content: string, region = 'us-east-1'): Promise<string> {
  await createBucket({ name: bucket, versioning: 'Enabled', region });
  const out = await s3Client(region).send(new s3sdk.PutObjectCommand({ Bucket: bucket, Key: key, Body: content }));
  return out.VersionId!;
}

export async function objectText(bucket: string, key: string, region = 'us-east-1'): Promise<{ text: string; versionId?: string }> {
  const out = await s3Client(region).send(new s3sdk.GetObjectCommand({ Bucket: bucket, Key: key }));
  return { text: await out.Body!.transformToString(), versionId: out.VersionId };
}

export const HANDLER_V2 = { 'index.py': 'def handler(event, context):\n    return event\n', 'lib/util.py': 'VALUE = 2\n' };

/** The text block of a tool result (what the agent reads). */
export function textOf(r: { content: unknown[] }): string {
  return (r.content[0] as { text: string }).text;
}
