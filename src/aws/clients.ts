/**
 * AWS client factory (SPEC §8). One `AwsClients` per target environment; each service client is
 * created on first use through a dynamic import, so a tool that only talks to S3 never loads the
 * EC2 SDK (the SDK packages are large and slow to load on a cold start).
 */
import type { STSClient } from '@aws-sdk/client-sts';
import type { S3Client } from '@aws-sdk/client-s3';
import type { LambdaClient } from '@aws-sdk/client-lambda';
import type { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import type { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import type { IAMClient } from '@aws-sdk/client-iam';
import type { EC2Client } from '@aws-sdk/client-ec2';
import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { CostExplorerClient } from '@aws-sdk/client-cost-explorer';
import type { SNSClient } from '@aws-sdk/client-sns';
import { AwsError, describeAwsError, type AwsErrorContext, type AwsProblem } from './errors.js';

export interface AwsTarget {
  region: string;
  profile?: string;
}

export type AwsServiceName = 'sts' | 's3' | 'lambda' | 'logs' | 'cloudwatch' | 'iam' | 'ec2' | 'eventbridge' | 'costExplorer' | 'sns';

export interface AwsClientsOptions {
  /** Overrides `AWS_ENDPOINT_URL` (moto, LocalStack, a test proxy). */
  endpoint?: string;
  /** Total attempts per call including the first (standard retry mode). Default 3. */
  maxAttempts?: number;
  /**
   * Environment to read `AWS_ENDPOINT_URL` from (default `process.env`). When an explicit env is
   * given and it carries `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY` (and no profile is
   * targeted), those keys are used instead of the default credential chain.
   */
  env?: NodeJS.ProcessEnv;
  /** Milliseconds to wait for a TCP connection before failing (default 5000). */
  connectionTimeoutMs?: number;
  /** Milliseconds a request may stay without a response (default: no limit, Lambda invokes can be long). */
  requestTimeoutMs?: number;
}

interface ServiceClientMap {
  sts: STSClient;
  s3: S3Client;
  lambda: LambdaClient;
  logs: CloudWatchLogsClient;
  cloudwatch: CloudWatchClient;
  iam: IAMClient;
  ec2: EC2Client;
  eventbridge: EventBridgeClient;
  costExplorer: CostExplorerClient;
  sns: SNSClient;
}

type AnyServiceClient = ServiceClientMap[AwsServiceName];

/** The config every service client shares; the S3 client adds `forcePathStyle`. */
export interface SharedClientConfig {
  region: string;
  profile?: string;
  endpoint?: string;
  maxAttempts: number;
  retryMode: 'standard';
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  requestHandler: { connectionTimeout: number; requestTimeout?: number; throwOnRequestTimeout?: boolean };
}

export class AwsClients {
  readonly target: AwsTarget;
  /** The endpoint override in force, if any (from options or `AWS_ENDPOINT_URL`). */
  readonly endpoint: string | undefined;
  readonly maxAttempts: number;
  private readonly config: SharedClientConfig;
  private readonly cache = new Map<AwsServiceName, Promise<AnyServiceClient>>();
  private readonly created = new Map<AwsServiceName, AnyServiceClient>();
  private destroyed = false;

  constructor(target: AwsTarget, opts: AwsClientsOptions = {}) {
    if (!target.region) throw new Error('AwsClients needs a region (set it on the environment in deploy-mcp.config.json)');
    this.target = { ...target };
    const env = opts.env ?? process.env;
    this.endpoint = normaliseEndpoint(opts.endpoint ?? env.AWS_ENDPOINT_URL);
    this.maxAttempts = opts.maxAttempts ?? 3;
    this.config = {
      region: target.region,
      maxAttempts: this.maxAttempts,
      retryMode: 'standard',
      requestHandler: {
        connectionTimeout: opts.connectionTimeoutMs ?? 5000,
        ...(opts.requestTimeoutMs !== undefined ? { requestTimeout: opts.requestTimeoutMs, throwOnRequestTimeout: true } : {}),
      },
    };
    if (target.profile) this.config.profile = target.profile;
    if (this.endpoint) this.config.endpoint = this.endpoint;
    if (opts.env && !target.profile && env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY) {
      this.config.credentials = {
        accessKeyId: env.AWS_ACCESS_KEY_ID,
        secretAccessKey: env.AWS_SECRET_ACCESS_KEY,
        ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}),
      };
    }
  }

  sts(): Promise<STSClient> {
    return this.get('sts', async (c) => new (await import('@aws-sdk/client-sts')).STSClient(c));
  }

  s3(): Promise<S3Client> {
    // Path-style addressing: emulators and proxies do not resolve <bucket>.<host> names.
    // Region redirects: buckets of one account live in many regions, the client targets one.
    return this.get('s3', async (c) =>
      new (await import('@aws-sdk/client-s3')).S3Client({ ...c, forcePathStyle: c.endpoint !== undefined, followRegionRedirects: true }),
    );
  }

  lambda(): Promise<LambdaClient> {
    return this.get('lambda', async (c) => new (await import('@aws-sdk/client-lambda')).LambdaClient(c));
  }

  logs(): Promise<CloudWatchLogsClient> {
    return this.get('logs', async (c) => new (await import('@aws-sdk/client-cloudwatch-logs')).CloudWatchLogsClient(c));
  }

  cloudwatch(): Promise<CloudWatchClient> {
    return this.get('cloudwatch', async (c) => new (await import('@aws-sdk/client-cloudwatch')).CloudWatchClient(c));
  }

  iam(): Promise<IAMClient> {
    return this.get('iam', async (c) => new (await import('@aws-sdk/client-iam')).IAMClient(c));
  }

  ec2(): Promise<EC2Client> {
    return this.get('ec2', async (c) => new (await import('@aws-sdk/client-ec2')).EC2Client(c));
  }

  eventbridge(): Promise<EventBridgeClient> {
    return this.get('eventbridge', async (c) => new (await import('@aws-sdk/client-eventbridge')).EventBridgeClient(c));
  }

  costExplorer(): Promise<CostExplorerClient> {
    return this.get('costExplorer', async (c) => new (await import('@aws-sdk/client-cost-explorer')).CostExplorerClient(c));
  }

  sns(): Promise<SNSClient> {
    return this.get('sns', async (c) => new (await import('@aws-sdk/client-sns')).SNSClient(c));
  }

  /** Services whose client has been created so far (for diagnostics and tests). */
  loadedServices(): AwsServiceName[] {
    return [...this.created.keys()];
  }

  /** The config handed to each SDK client (credentials omitted). */
  describeConfig(): Omit<SharedClientConfig, 'credentials'> & { staticCredentials: boolean } {
    const { credentials, ...rest } = this.config;
    return { ...rest, staticCredentials: credentials !== undefined };
  }

  /** `describeAwsError` with this target's endpoint, region and profile filled in. */
  problem(err: unknown, ctx: AwsErrorContext): AwsProblem {
    return describeAwsError(err, { endpoint: this.endpoint, region: this.target.region, profile: this.target.profile, ...ctx });
  }

  /** Wraps an error into an `AwsError` carrying the translated problem. */
  error(err: unknown, ctx: AwsErrorContext): AwsError {
    return new AwsError(this.problem(err, ctx), err);
  }

  destroy(): void {
    this.destroyed = true;
    for (const client of this.created.values()) client.destroy();
    this.created.clear();
    this.cache.clear();
    for (const [key, value] of sharedClients) if (value === this) sharedClients.delete(key);
  }

  private get<K extends AwsServiceName>(name: K, create: (config: SharedClientConfig) => Promise<ServiceClientMap[K]>): Promise<ServiceClientMap[K]> {
    if (this.destroyed) return Promise.reject(new Error('AwsClients was destroyed; create a new one with clientsFor()'));
    let pending = this.cache.get(name) as Promise<ServiceClientMap[K]> | undefined;
    if (!pending) {
      pending = create({ ...this.config }).then((client) => {
        if (this.destroyed) {
          client.destroy();
          throw new Error('AwsClients was destroyed while the client was loading');
        }
        this.created.set(name, client);
        return client;
      });
      // A failed import must not poison the cache: the next call tries again.
      pending.catch(() => this.cache.delete(name));
      this.cache.set(name, pending);
    }
    return pending;
  }
}

function normaliseEndpoint(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed ? trimmed.replace(/\/+$/, '') : undefined;
}

const sharedClients = new Map<string, AwsClients>();

/**
 * One `AwsClients` per (region, profile, endpoint), shared across tools so connections and
 * resolved credentials are reused. Options other than the endpoint only apply on first creation.
 */
export function clientsFor(target: AwsTarget, opts: AwsClientsOptions = {}): AwsClients {
  const endpoint = normaliseEndpoint(opts.endpoint ?? (opts.env ?? process.env).AWS_ENDPOINT_URL) ?? '';
  const key = JSON.stringify([target.region, target.profile ?? '', endpoint]);
  let clients = sharedClients.get(key);
  if (!clients) {
    clients = new AwsClients(target, opts);
    sharedClients.set(key, clients);
  }
  return clients;
}
