/**
 * Deploys one Lambda function behind an alias, one checked step at a time:
 *
 *   record the alias's version → UpdateFunctionCode → wait until Successful →
 *   UpdateFunctionConfiguration (optional) → wait → PublishVersion with CodeSha256 + RevisionId
 *   preconditions → move the alias (optionally through weighted steps, checked in between).
 *
 * Whatever fails, the alias ends on the version it had before, with routing cleared, and the
 * error says so (or says exactly what to run when even that restore failed).
 */
import type { FunctionConfiguration } from '@aws-sdk/client-lambda';
import type { AwsClients } from '../aws/clients.js';
import { AwsError } from '../aws/errors.js';
import { ToolError } from '../tool.js';
import { awsCall, errorMessage, isNotFound, sleep } from './aws-call.js';
import { createAlias, describeAlias, isUnweightedOn, pointAlias, readAlias, restoreAlias, type AliasState } from './lambda-alias.js';
import { invokeLambda } from './smoke.js';

export type DeploySource =
  | { kind: 'zip' | 'directory'; zip: Buffer; sha256: string; path: string; files?: number }
  | { kind: 's3'; bucket: string; key: string; objectVersion?: string };

export interface ConfigurationChange {
  memorySize?: number;
  timeout?: number;
  /** Merged into the function's variables. Values never leave this module. */
  environment?: Record<string, string>;
}

export interface RoutingPlan {
  /** Percent of traffic on the new version at each step, increasing, ending at 100. */
  steps: number[];
  check?: { payload?: unknown; expectJson?: unknown; holdSeconds?: number };
}

export interface DeployRequest {
  functionName: string;
  alias: string;
  source: DeploySource;
  publish: boolean;
  configuration?: ConfigurationChange;
  routing?: RoutingPlan;
  description?: string;
}

export interface DeployStep {
  name: string;
  status: 'done' | 'skipped' | 'failed';
  detail: string;
  durationMs: number;
}

export interface ConfigurationSnapshot {
  memorySize?: number;
  timeout?: number;
  /** Names only: values are never recorded. */
  environmentVariableNames: string[];
}

export interface DeployResult {
  function: string;
  alias: string;
  previousVersion: string | null;
  /** Routing the alias had before (a stale canary), cleared by this deployment. */
  previousWeights: Record<string, number>;
  newVersion: string | null;
  codeSha256: string;
  previousCodeSha256: string | null;
  changed: boolean;
  published: boolean;
  aliasCreated: boolean;
  aliasVersion: string | null;
  functionArn?: string;
  previousConfiguration?: ConfigurationSnapshot;
  appliedConfiguration?: ConfigurationSnapshot;
  routing: { weight: number; checked: boolean; detail: string }[];
  steps: DeployStep[];
}

export interface DeployHooks {
  signal?: AbortSignal;
  progress?: (done: number, total: number, message: string) => Promise<void>;
  /** Poll interval bounds for "wait until the update is Successful". */
  pollMs?: { first: number; max: number };
  /** Gives up waiting for LastUpdateStatus after this long. */
  waitTimeoutMs?: number;
}

/** Largest package UpdateFunctionCode accepts inline; bigger ones go through S3. */
export const MAX_INLINE_ZIP_BYTES = 50 * 1024 * 1024;

/** Thrown when the code or configuration changed under the deployment. */
const PRECONDITION_CODES = new Set(['PreconditionFailedException', 'PreconditionFailed', 'ResourceConflictException']);

export async function deployLambda(clients: AwsClients, req: DeployRequest, hooks: DeployHooks = {}): Promise<DeployResult> {
  const { signal } = hooks;
  const fn = req.functionName;
  const { GetFunctionConfigurationCommand, UpdateFunctionCodeCommand, UpdateFunctionConfigurationCommand, PublishVersionCommand } = await import('@aws-sdk/client-lambda');
  const lambda = await clients.lambda();
  const steps: DeployStep[] = [];
  const routingSteps = req.publish ? normaliseSteps(req.routing?.steps) : [100];
  const total = 4 + (req.configuration ? 2 : 0) + (req.publish ? 1 + routingSteps.length * 2 : 0) + 1;
  let done = 0;

  let previous: AliasState | null = null;
  let aliasTouched = false;
  /** The alias was read (so `previous` is its real state, null = absent). */
  let aliasKnown = false;
  let currentStep = 'record-previous';
  const result: DeployResult = {
    function: fn,
    alias: req.alias,
    previousVersion: null,
    previousWeights: {},
    newVersion: null,
    codeSha256: req.source.kind === 's3' ? '' : req.source.sha256,
    previousCodeSha256: null,
    changed: true,
    published: false,
    aliasCreated: false,
    aliasVersion: null,
    routing: [],
    steps,
  };

  const step = async <T>(name: string, run: () => Promise<{ value: T; detail: string; skipped?: boolean }>): Promise<T> => {
    currentStep = name;
    const started = Date.now();
    await hooks.progress?.(done, total, `${fn}: ${name}`);
    try {
      const { value, detail, skipped } = await run();
      steps.push({ name, status: skipped ? 'skipped' : 'done', detail, durationMs: Date.now() - started });
      done++;
      return value;
    } catch (err) {
      steps.push({ name, status: 'failed', detail: errorMessage(err), durationMs: Date.now() - started });
      throw err;
    }
  };

  const getConfig = (qualifier?: string) =>
    awsCall(clients, 'lambda:GetFunctionConfiguration', qualifier ? `${fn}:${qualifier}` : fn, () =>
      lambda.send(new GetFunctionConfigurationCommand({ FunctionName: fn, ...(qualifier ? { Qualifier: qualifier } : {}) }), { abortSignal: signal }),
    );

  const waitUntilUpdated = async (what: string): Promise<FunctionConfiguration> => {
    const deadline = Date.now() + (hooks.waitTimeoutMs ?? 10 * 60 * 1000);
    let delay = hooks.pollMs?.first ?? 250;
    for (;;) {
      const config = await getConfig();
      const status = config.LastUpdateStatus ?? 'Successful';
      if (status === 'Successful' && (config.State ?? 'Active') !== 'Pending') return config;
      if (status === 'Failed') {
        throw new ToolError(
          'update-failed',
          `Lambda reports the ${what} of ${fn} as Failed (${config.LastUpdateStatusReasonCode ?? 'no code'}): ${config.LastUpdateStatusReason ?? 'no reason given'}.`,
          'Fix the cause named above (package, handler, role, VPC or layer), then deploy again.',
        );
      }
      if (Date.now() + delay > deadline) {
        throw new ToolError('update-timeout', `The ${what} of ${fn} is still ${status} after ${Math.round((hooks.waitTimeoutMs ?? 600_000) / 1000)} s.`, 'Check the function in the console (its LastUpdateStatusReason), then deploy again.');
      }
      await sleep(delay, signal);
      delay = Math.min(delay * 2, hooks.pollMs?.max ?? 2000);
    }
  };

  try {
    // 1. Where the alias points now: this is the rollback target.
    const recorded = await step('record-previous', async () => {
      let config: FunctionConfiguration;
      try {
        config = await getConfig();
      } catch (err) {
        if (isNotFound(err)) {
          throw new ToolError(
            'function-not-found',
            `The function ${fn} does not exist in ${clients.target.region}. deploy-lambda updates existing functions; creating them is an infrastructure change.`,
            'Ask the human to create the function (phase 3 infrastructure), or check the function name and the environment region.',
          );
        }
        throw err;
      }
      const alias = await readAlias(clients, fn, req.alias, signal);
      result.functionArn = config.FunctionArn;
      result.previousConfiguration = snapshot(config);
      let live: FunctionConfiguration | null = null;
      if (alias) {
        result.previousVersion = alias.functionVersion;
        result.previousWeights = alias.weights;
        live = alias.functionVersion === '$LATEST' ? config : await getConfig(alias.functionVersion);
        result.previousCodeSha256 = live.CodeSha256 ?? null;
        result.previousConfiguration = snapshot(live);
      }
      return { value: { latest: config, alias, live }, detail: `alias ${req.alias}: ${describeAlias(alias)}; $LATEST code ${short(config.CodeSha256)}` };
    });
    const latest = recorded.latest;
    previous = recorded.alias;
    aliasKnown = true;

    // Nothing to do: the live version already has this code and configuration, unweighted.
    if (
      req.source.kind !== 's3' &&
      previous &&
      recorded.live &&
      req.publish &&
      result.previousCodeSha256 === req.source.sha256 &&
      isUnweightedOn(previous, previous.functionVersion) &&
      !configurationDiffers(req.configuration, recorded.live)
    ) {
      result.changed = false;
      result.newVersion = previous.functionVersion;
      result.aliasVersion = previous.functionVersion;
      steps.push({ name: 'compare', status: 'done', detail: `alias ${req.alias} already serves version ${previous.functionVersion} with code ${short(req.source.sha256)} and the requested configuration: nothing to deploy`, durationMs: 0 });
      await hooks.progress?.(total, total, `${fn}: unchanged`);
      return result;
    }

    // 2. New code on $LATEST.
    await step('update-code', async () => {
      const src = req.source;
      const code =
        src.kind === 's3'
          ? { S3Bucket: src.bucket, S3Key: src.key, ...(src.objectVersion ? { S3ObjectVersion: src.objectVersion } : {}) }
          : { ZipFile: src.zip };
      const out = await awsCall(clients, 'lambda:UpdateFunctionCode', fn, () =>
        lambda.send(new UpdateFunctionCodeCommand({ FunctionName: fn, ...code, Publish: false, ...(latest.RevisionId ? { RevisionId: latest.RevisionId } : {}) }), {
          abortSignal: signal,
        }),
      );
      if (src.kind !== 's3' && out.CodeSha256 && out.CodeSha256 !== src.sha256) {
        throw new ToolError('code-mismatch', `Lambda computed CodeSha256 ${out.CodeSha256} for ${fn}, but the package sent has ${src.sha256}: it was altered in transit.`, 'Deploy again; if it repeats, check proxies between here and AWS.');
      }
      result.codeSha256 = out.CodeSha256 ?? result.codeSha256;
      return { value: out, detail: `code ${short(result.codeSha256)} uploaded (${src.kind === 's3' ? `s3://${src.bucket}/${src.key}` : `${src.zip.length} bytes`})` };
    });

    let config = await step('wait-code', async () => {
      const c = await waitUntilUpdated('code update');
      return { value: c, detail: `LastUpdateStatus ${c.LastUpdateStatus ?? 'Successful'}` };
    });

    // 3. Configuration that ships with the code, applied before the version is published.
    if (req.configuration) {
      const change = req.configuration;
      await step('update-configuration', async () => {
        const variables = change.environment ? { ...(config.Environment?.Variables ?? {}), ...change.environment } : undefined;
        await awsCall(clients, 'lambda:UpdateFunctionConfiguration', fn, () =>
          lambda.send(
            new UpdateFunctionConfigurationCommand({
              FunctionName: fn,
              ...(change.memorySize !== undefined ? { MemorySize: change.memorySize } : {}),
              ...(change.timeout !== undefined ? { Timeout: change.timeout } : {}),
              ...(variables ? { Environment: { Variables: variables } } : {}),
              ...(config.RevisionId ? { RevisionId: config.RevisionId } : {}),
            }),
            { abortSignal: signal },
          ),
        );
        const parts = [
          change.memorySize !== undefined ? `memory ${result.previousConfiguration?.memorySize ?? '?'} → ${change.memorySize} MB` : '',
          change.timeout !== undefined ? `timeout ${result.previousConfiguration?.timeout ?? '?'} → ${change.timeout} s` : '',
          change.environment ? `environment variables set: ${Object.keys(change.environment).sort().join(', ')}` : '',
        ].filter(Boolean);
        return { value: undefined, detail: parts.join('; ') };
      });
      config = await step('wait-configuration', async () => {
        const c = await waitUntilUpdated('configuration update');
        result.appliedConfiguration = snapshot(c);
        return { value: c, detail: `LastUpdateStatus ${c.LastUpdateStatus ?? 'Successful'}` };
      });
    }

    if (!req.publish) {
      result.aliasVersion = previous ? previous.functionVersion : null;
      steps.push({ name: 'publish', status: 'skipped', detail: `publish: false — $LATEST updated; alias ${req.alias} unchanged (${describeAlias(previous)})`, durationMs: 0 });
      await hooks.progress?.(total, total, `${fn}: $LATEST updated`);
      return result;
    }

    // 4. Publish exactly what we uploaded: refuse if the code or configuration moved underneath.
    const published = await step('publish', async () => {
      const current = await getConfig();
      if (current.CodeSha256 !== result.codeSha256) {
        throw new ToolError(
          'code-changed',
          `The code of ${fn} changed underneath this deployment: $LATEST now has ${current.CodeSha256}, this deployment uploaded ${result.codeSha256}. Nothing was published.`,
          'Find out who else is deploying this function, then run deploy-lambda again.',
        );
      }
      let out;
      try {
        out = await awsCall(clients, 'lambda:PublishVersion', fn, () =>
          lambda.send(
            new PublishVersionCommand({
              FunctionName: fn,
              CodeSha256: result.codeSha256,
              ...(current.RevisionId ? { RevisionId: current.RevisionId } : {}),
              ...(req.description ? { Description: req.description } : {}),
            }),
            { abortSignal: signal },
          ),
        );
      } catch (err) {
        if (err instanceof AwsError && PRECONDITION_CODES.has(err.problem.code)) {
          throw new ToolError(
            'code-changed',
            `AWS refused to publish ${fn} (${err.problem.code}): its code or configuration changed after this deployment uploaded ${result.codeSha256}. Nothing was published.`,
            'Find out who else is deploying this function, then run deploy-lambda again.',
          );
        }
        throw err;
      }
      // Belt and braces: an endpoint that ignores the precondition must not get our alias.
      if (out.CodeSha256 && out.CodeSha256 !== result.codeSha256) {
        throw new ToolError(
          'code-changed',
          `Version ${out.Version} of ${fn} was published with code ${out.CodeSha256}, not the ${result.codeSha256} this deployment uploaded: the code changed underneath. The alias was not moved to it.`,
          'Find out who else is deploying this function, then run deploy-lambda again.',
        );
      }
      return { value: out, detail: `version ${out.Version} (code ${short(out.CodeSha256)})` };
    });
    result.published = true;
    result.newVersion = published.Version ?? null;
    const newVersion = published.Version!;
    result.appliedConfiguration ??= req.configuration ? snapshot(published) : undefined;

    // 5. Move the alias.
    if (!previous) {
      await step('create-alias', async () => {
        aliasTouched = true;
        await createAlias(clients, fn, req.alias, newVersion, signal);
        result.aliasCreated = true;
        return { value: undefined, detail: `alias ${req.alias} created on version ${newVersion} (it did not exist, so there is no previous version to shift from)` };
      });
    } else if (previous.functionVersion === newVersion) {
      steps.push({ name: 'shift', status: 'skipped', detail: `alias ${req.alias} already on version ${newVersion}`, durationMs: 0 });
      result.changed = Object.keys(previous.weights).length > 0;
      if (result.changed) {
        await step('clear-routing', async () => {
          aliasTouched = true;
          await pointAlias(clients, fn, req.alias, newVersion, {}, signal);
          return { value: undefined, detail: 'stale routing weights cleared' };
        });
      }
    } else {
      const from = previous.functionVersion;
      // Weighted routing needs a published version on both sides: from $LATEST it is one move.
      const shiftSteps = from === '$LATEST' ? [100] : routingSteps;
      if (shiftSteps.length < routingSteps.length) {
        steps.push({ name: 'routing', status: 'skipped', detail: `alias ${req.alias} pointed at $LATEST, which cannot carry routing weights: moving it in one step`, durationMs: 0 });
      }
      for (let i = 0; i < shiftSteps.length; i++) {
        const percent = shiftSteps[i];
        const last = i === shiftSteps.length - 1;
        await step(`shift-${percent}`, async () => {
          aliasTouched = true;
          if (percent >= 100) await pointAlias(clients, fn, req.alias, newVersion, {}, signal);
          else await pointAlias(clients, fn, req.alias, from, { [newVersion]: percent / 100 }, signal);
          return { value: undefined, detail: percent >= 100 ? `alias ${req.alias} → version ${newVersion}, routing cleared` : `${percent}% of ${req.alias} on version ${newVersion}, ${100 - percent}% on ${from}` };
        });
        if (!last) {
          const check = await step(`check-${percent}`, async () => {
            const hold = req.routing?.check?.holdSeconds ?? 0;
            if (hold > 0) await sleep(hold * 1000, signal);
            const seen = await readAlias(clients, fn, req.alias, signal);
            const want = percent / 100;
            if (!seen || seen.functionVersion !== from || Math.abs((seen.weights[newVersion] ?? 0) - want) > 1e-9) {
              throw new ToolError('routing-mismatch', `After setting ${percent}% on version ${newVersion}, alias ${req.alias} reads back as ${describeAlias(seen)}.`, 'Someone else may be changing the alias; find out before deploying again.');
            }
            const smoke = await invokeLambda(clients, { function: fn, qualifier: newVersion, payload: req.routing?.check?.payload, expectJson: req.routing?.check?.expectJson }, signal);
            if (!smoke.passed) {
              throw new ToolError('check-failed', `The check at ${percent}% failed: invoking version ${newVersion} gave ${smoke.detail}.`, 'Look at the new version\'s logs (check-logs), fix forward or leave it; the alias is back on the previous version.');
            }
            return { value: smoke, detail: `alias reads back ${percent}%; invoke of version ${newVersion}: ${smoke.detail}` };
          });
          result.routing.push({ weight: percent, checked: true, detail: check.detail });
        } else {
          result.routing.push({ weight: percent, checked: false, detail: 'final step' });
        }
      }
    }

    // 6. Read it back.
    await step('verify', async () => {
      const seen = await readAlias(clients, fn, req.alias, signal);
      if (!isUnweightedOn(seen, newVersion)) {
        throw new ToolError('verify-failed', `Alias ${req.alias} reads back as ${describeAlias(seen)}, not version ${newVersion} unweighted.`, 'Someone else may be changing the alias; find out before deploying again.');
      }
      result.aliasVersion = newVersion;
      return { value: undefined, detail: `alias ${req.alias} on version ${newVersion}, unweighted` };
    });
    await hooks.progress?.(total, total, `${fn}: deployed version ${newVersion}`);
    return result;
  } catch (err) {
    if ((err as Error)?.name === 'AbortError' && !aliasTouched) throw err;
    throw await failureWithRestore(clients, req, result, aliasKnown ? previous : undefined, aliasTouched, currentStep, err);
  }
}

/** The alias goes back where it was; the error says what failed and where the alias is now. */
async function failureWithRestore(
  clients: AwsClients,
  req: DeployRequest,
  result: DeployResult,
  previous: AliasState | null | undefined,
  aliasTouched: boolean,
  failedStep: string,
  err: unknown,
): Promise<ToolError> {
  const fn = req.functionName;
  let aliasNote: string;
  let aliasRestored: boolean | null = null;
  let aliasState: AliasState | null = previous ?? null;
  if (previous === undefined) {
    // Failed before the alias was read: nothing was changed. Say where it is, if we can tell.
    aliasState = await readAlias(clients, fn, req.alias).catch(() => null);
    aliasRestored = false;
    aliasNote = `Nothing was changed; alias ${req.alias} was not touched${aliasState ? ` (it is on ${describeAlias(aliasState)})` : ''}.`;
  } else if (!previous) {
    aliasNote = result.aliasCreated ? `Alias ${req.alias} was created on version ${result.newVersion} before the failure.` : `Alias ${req.alias} did not exist and was not created.`;
  } else if (!aliasTouched) {
    aliasNote = `Alias ${req.alias} was not changed: it stays on ${describeAlias(previous)}.`;
    aliasRestored = false;
  } else {
    try {
      // No abort signal: a cancelled deployment must still put the alias back.
      const restore = await restoreAlias(clients, fn, req.alias, previous.functionVersion);
      aliasState = restore.after;
      aliasRestored = restore.verified;
      aliasNote = !restore.verified
        ? `ALIAS NOT RESTORED: ${req.alias} reads back as ${describeAlias(restore.after)}.`
        : restore.changed
          ? `Alias ${req.alias} was put back on the previous version ${previous.functionVersion}, routing cleared (verified with GetAlias).`
          : `Alias ${req.alias} is on the previous version ${previous.functionVersion}, unweighted (verified with GetAlias): the failed update did not change it.`;
    } catch (restoreErr) {
      aliasRestored = false;
      aliasState = null;
      aliasNote = `ALIAS NOT RESTORED: putting ${req.alias} back on version ${previous.functionVersion} failed too (${errorMessage(restoreErr)}). Run: aws lambda update-alias --function-name ${fn} --name ${req.alias} --function-version ${previous.functionVersion} --routing-config AdditionalVersionWeights={} --region ${clients.target.region}`;
    }
  }
  const aws = err instanceof AwsError ? err.problem : null;
  const tool = err instanceof ToolError ? err : null;
  const what = tool?.message ?? aws?.message ?? ((err as Error)?.name === 'AbortError' ? 'The deployment was cancelled.' : errorMessage(err));
  const code = tool?.code ?? (aws ? `aws:${aws.code}` : (err as Error)?.name === 'AbortError' ? 'cancelled' : 'deploy-failed');
  const nextStep = tool?.nextStep ?? aws?.nextStep ?? 'Read the message, fix the cause and deploy again.';
  return new ToolError(code, `deploy-lambda ${fn} failed at step ${failedStep}: ${what} ${aliasNote}`, nextStep, {
    function: fn,
    alias: req.alias,
    failedStep,
    previousVersion: result.previousVersion,
    newVersion: result.newVersion,
    codeSha256: result.codeSha256 || undefined,
    aliasRestored,
    aliasVersion: aliasState?.functionVersion ?? null,
    aliasWeights: aliasState?.weights ?? null,
    steps: result.steps,
  });
}

/** Routing steps as given, checked: increasing percentages in 1–100, always ending at 100. */
export function normaliseSteps(steps: number[] | undefined): number[] {
  if (!steps || steps.length === 0) return [100];
  const out: number[] = [];
  for (const s of steps) {
    if (!Number.isFinite(s) || s <= 0 || s > 100) throw new ToolError('invalid-routing', `Routing step ${s} is not a percentage in 1–100.`, 'Give routing.steps as increasing percentages, e.g. [10, 50, 100].');
    if (out.length && s <= out[out.length - 1]) throw new ToolError('invalid-routing', `Routing steps must increase (${steps.join(', ')}).`, 'Give routing.steps as increasing percentages, e.g. [10, 50, 100].');
    out.push(s);
  }
  if (out[out.length - 1] !== 100) out.push(100);
  return out;
}

function snapshot(config: FunctionConfiguration): ConfigurationSnapshot {
  return {
    ...(config.MemorySize !== undefined ? { memorySize: config.MemorySize } : {}),
    ...(config.Timeout !== undefined ? { timeout: config.Timeout } : {}),
    environmentVariableNames: Object.keys(config.Environment?.Variables ?? {}).sort(),
  };
}

/** Whether applying `change` to `current` would change anything. */
function configurationDiffers(change: ConfigurationChange | undefined, current: FunctionConfiguration): boolean {
  if (!change) return false;
  if (change.memorySize !== undefined && change.memorySize !== current.MemorySize) return true;
  if (change.timeout !== undefined && change.timeout !== current.Timeout) return true;
  const vars = current.Environment?.Variables ?? {};
  return Object.entries(change.environment ?? {}).some(([k, v]) => vars[k] !== v);
}

const short = (sha: string | undefined | null) => (sha ? `${sha.slice(0, 12)}…` : '?');
