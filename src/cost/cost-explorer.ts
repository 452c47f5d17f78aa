/**
 * Cost since a date from Cost Explorer (GetCostAndUsage), by service and optionally by a cost
 * allocation tag. When Cost Explorer cannot answer — not enabled, not permitted, unreachable —
 * the answer is "unavailable, because …": a cost figure is never guessed.
 */
import type { AwsClients } from '../aws/clients.js';

export interface CostQuery {
  /** First day included, YYYY-MM-DD (UTC). */
  start: string;
  /** First day not included, YYYY-MM-DD (UTC). */
  end: string;
  tagKey?: string;
}

export type CostResult =
  | {
      available: true;
      totalUsd: number;
      byService: Record<string, number>;
      byTag?: Record<string, number>;
      currency: string;
      estimated: boolean;
      days: number;
    }
  | { available: false; reason: string; code: string };

export function utcDay(date: Date): string {
  return date.toISOString().slice(0, 10);
}

export function addDays(day: string, n: number): string {
  const d = new Date(`${day}T00:00:00.000Z`);
  d.setUTCDate(d.getUTCDate() + n);
  return utcDay(d);
}

const money = (n: number): number => Math.round(n * 10_000) / 10_000;

interface ResultByTime {
  Total?: Record<string, { Amount?: string; Unit?: string }>;
  Groups?: { Keys?: string[]; Metrics?: Record<string, { Amount?: string; Unit?: string }> }[];
  Estimated?: boolean;
}

/** Sums GetCostAndUsage pages into totals by service and by tag value. Pure. */
export function summariseCost(results: readonly ResultByTime[], metric: string, tagKey?: string): Omit<Extract<CostResult, { available: true }>, 'available' | 'days'> {
  const byService: Record<string, number> = {};
  const byTag: Record<string, number> = {};
  let total = 0;
  let currency = 'USD';
  let estimated = false;
  for (const period of results) {
    if (period.Estimated) estimated = true;
    if (period.Groups && period.Groups.length > 0) {
      for (const group of period.Groups) {
        const m = group.Metrics?.[metric];
        const amount = Number(m?.Amount ?? 0);
        if (!Number.isFinite(amount)) continue;
        if (m?.Unit) currency = m.Unit;
        total += amount;
        const [service, tag] = group.Keys ?? [];
        const serviceName = service ?? 'unknown';
        byService[serviceName] = (byService[serviceName] ?? 0) + amount;
        if (tagKey && tag !== undefined) {
          // Tag group keys come back as `key$value`; an empty value means "untagged".
          const value = tag.includes('$') ? tag.slice(tag.indexOf('$') + 1) : tag;
          const label = value === '' ? '(untagged)' : value;
          byTag[label] = (byTag[label] ?? 0) + amount;
        }
      }
    } else if (period.Total?.[metric]) {
      const amount = Number(period.Total[metric].Amount ?? 0);
      if (Number.isFinite(amount)) total += amount;
      if (period.Total[metric].Unit) currency = period.Total[metric].Unit!;
    }
  }
  const sorted = (r: Record<string, number>) => Object.fromEntries(Object.entries(r).sort((a, b) => b[1] - a[1]).map(([k, v]) => [k, money(v)]));
  return { totalUsd: money(total), byService: sorted(byService), ...(tagKey ? { byTag: sorted(byTag) } : {}), currency, estimated };
}

export const COST_METRIC = 'UnblendedCost';

export async function costSince(clients: AwsClients, query: CostQuery): Promise<CostResult> {
  const ce = await import('@aws-sdk/client-cost-explorer');
  let client;
  try {
    client = await clients.costExplorer();
  } catch (err) {
    return { available: false, code: 'ClientUnavailable', reason: `The Cost Explorer client could not be loaded: ${(err as Error).message}.` };
  }
  const groupBy = [{ Type: 'DIMENSION' as const, Key: 'SERVICE' }, ...(query.tagKey ? [{ Type: 'TAG' as const, Key: query.tagKey }] : [])];
  const results: ResultByTime[] = [];
  try {
    let token: string | undefined;
    let pages = 0;
    do {
      const out = await client.send(
        new ce.GetCostAndUsageCommand({
          TimePeriod: { Start: query.start, End: query.end },
          Granularity: 'DAILY',
          Metrics: [COST_METRIC],
          GroupBy: groupBy,
          ...(token ? { NextPageToken: token } : {}),
        }),
      );
      results.push(...((out.ResultsByTime ?? []) as ResultByTime[]));
      token = out.NextPageToken;
      pages += 1;
    } while (token && pages < 100);
  } catch (err) {
    return { available: false, ...unavailableReason(clients, err) };
  }
  const days = Math.max(1, Math.round((Date.parse(query.end) - Date.parse(query.start)) / 86_400_000));
  return { available: true, ...summariseCost(results, COST_METRIC, query.tagKey), days };
}

function unavailableReason(clients: AwsClients, err: unknown): { code: string; reason: string } {
  const problem = clients.problem(err, { action: 'ce:GetCostAndUsage' });
  const code = problem.code;
  if (problem.kind === 'access-denied') {
    return { code, reason: `Cost Explorer is not permitted for these credentials (${code}): the deploy identity needs ce:GetCostAndUsage.` };
  }
  if (code === 'DataUnavailableException' || code === 'OptInRequired' || /not enabled|opt.?in/i.test(problem.message)) {
    return { code, reason: `Cost Explorer is not enabled for this account or has no data yet (${code}); enable it in the Billing console — data appears within 24 hours.` };
  }
  if (problem.kind === 'unreachable') return { code, reason: `Cost Explorer is unreachable: ${problem.message}` };
  if (problem.kind === 'unsupported') return { code, reason: `Cost Explorer is not available at this endpoint: ${problem.message}` };
  return { code, reason: `Cost Explorer did not answer: ${problem.message}` };
}
