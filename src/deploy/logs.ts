/**
 * Reads CloudWatch Logs events in a time window and counts those matching error patterns. The
 * patterns are matched here, not with a filterPattern: CloudWatch's filter syntax cannot express
 * `"level":"error"` or `Task timed out` reliably (and emulators ignore most of it).
 */
import type { AwsClients } from '../aws/clients.js';
import { redactText } from '../journal/redact.js';
import { awsCall, isNotFound } from './aws-call.js';

export const DEFAULT_ERROR_PATTERNS = ['ERROR', 'Exception', 'Task timed out', 'Traceback', '"level":"error"'] as const;

export interface LogSample {
  logGroup: string;
  logStream?: string;
  timestamp: string;
  pattern: string;
  message: string;
}

export interface LogGroupScan {
  logGroup: string;
  exists: boolean;
  scanned: number;
  matched: number;
  truncated: boolean;
}

export interface LogScan {
  errorCount: number;
  byPattern: Record<string, number>;
  samples: LogSample[];
  groups: LogGroupScan[];
  eventsScanned: number;
  truncated: boolean;
}

export interface LogScanRequest {
  logGroups: string[];
  startTime: number;
  endTime: number;
  patterns: string[];
  maxSamples?: number;
  /** Per log group; the scan stops there and says so. */
  maxEvents?: number;
  signal?: AbortSignal;
}

const SAMPLE_CHARS = 500;

/** The first pattern `message` contains, or undefined. */
export function matchPattern(message: string, patterns: readonly string[]): string | undefined {
  return patterns.find((p) => message.includes(p));
}

export async function scanLogs(clients: AwsClients, req: LogScanRequest): Promise<LogScan> {
  const { FilterLogEventsCommand } = await import('@aws-sdk/client-cloudwatch-logs');
  const logs = await clients.logs();
  const maxSamples = req.maxSamples ?? 5;
  const maxEvents = req.maxEvents ?? 100_000;
  const byPattern: Record<string, number> = Object.fromEntries(req.patterns.map((p) => [p, 0]));
  const samples: LogSample[] = [];
  const groups: LogGroupScan[] = [];
  let errorCount = 0;
  for (const logGroup of req.logGroups) {
    const scan: LogGroupScan = { logGroup, exists: true, scanned: 0, matched: 0, truncated: false };
    groups.push(scan);
    let nextToken: string | undefined;
    try {
      do {
        const page = await awsCall(clients, 'logs:FilterLogEvents', logGroup, () =>
          logs.send(
            new FilterLogEventsCommand({ logGroupName: logGroup, startTime: req.startTime, endTime: req.endTime, limit: 10_000, ...(nextToken ? { nextToken } : {}) }),
            { abortSignal: req.signal },
          ),
        );
        for (const event of page.events ?? []) {
          scan.scanned++;
          const message = event.message ?? '';
          let first: string | undefined;
          for (const p of req.patterns) {
            if (message.includes(p)) {
              byPattern[p] = (byPattern[p] ?? 0) + 1;
              first ??= p;
            }
          }
          if (first !== undefined) {
            scan.matched++;
            errorCount++;
            // Keep the latest few: they are the ones closest to "now".
            samples.push({
              logGroup,
              ...(event.logStreamName ? { logStream: event.logStreamName } : {}),
              timestamp: new Date(event.timestamp ?? 0).toISOString(),
              pattern: first,
              message: clip(redactText(message.trim())),
            });
            if (samples.length > maxSamples) samples.shift();
          }
        }
        const token = page.nextToken;
        nextToken = token && token !== nextToken ? token : undefined;
        if (scan.scanned >= maxEvents && nextToken) {
          scan.truncated = true;
          nextToken = undefined;
        }
      } while (nextToken);
    } catch (err) {
      if (!isNotFound(err)) throw err;
      scan.exists = false;
    }
  }
  return {
    errorCount,
    byPattern,
    samples,
    groups,
    eventsScanned: groups.reduce((n, g) => n + g.scanned, 0),
    truncated: groups.some((g) => g.truncated),
  };
}

function clip(text: string): string {
  return text.length > SAMPLE_CHARS ? `${text.slice(0, SAMPLE_CHARS)}…` : text;
}
