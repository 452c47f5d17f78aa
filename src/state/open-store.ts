/**
 * Picks the task store the config asks for: the local directory (default) or S3 (`state.backend:
 * "s3"`). The S3 store, and with it the AWS SDK, is loaded only when it is used.
 */
import type { DeployConfig } from '../config/index.js';
import { LocalTaskStore } from './local-store.js';
import type { TaskStore } from './task-store.js';

export interface OpenStoreOptions {
  /** Where lost locks and background write failures are reported. */
  warn?: (message: string) => void;
  env?: NodeJS.ProcessEnv;
}

export async function openTaskStore(config: DeployConfig | null, stateDir: string, opts: OpenStoreOptions = {}): Promise<TaskStore> {
  const state = config?.state;
  if (state?.backend !== 's3') return new LocalTaskStore(stateDir);
  if (!state.bucket) throw new Error('state.backend is "s3" but state.bucket is not set in deploy-mcp.config.json.');
  const env = opts.env ?? process.env;
  // The state bucket's client region: the environment's AWS_REGION, else the first configured
  // environment's region (S3 follows a redirect when the bucket lives elsewhere).
  const firstRegion = Object.values(config?.environments ?? {})[0]?.region;
  const { S3TaskStore } = await import('./s3-store.js');
  return new S3TaskStore({
    bucket: state.bucket,
    prefix: state.prefix,
    region: env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? firstRegion,
    warn: opts.warn,
    env: opts.env,
  });
}
