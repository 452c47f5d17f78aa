/**
 * measure-performance against a queued-result Lambda in moto and a local HTTP server, and
 * cost-check against Cost Explorer results queued through moto's API, and with Cost Explorer
 * denied, not enabled or unsupported — through a real MCP client.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { InvokeCommand } from '@aws-sdk/client-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BASE_CONFIG, readEvents } from './helpers/mcp.js';
import { createFunction, createRole, fixtureClients, motoEndpoint, queueLambdaResults, uniqueName } from './helpers/aws-fixtures.js';
import { startFaultProxy, type FaultProxy } from './helpers/fault-proxy.js';
import { criteria, taskInPhase } from './helpers/phase-fixtures.js';

// moto's queued Lambda results are shared per account and region: this file keeps its own region.
const PERF_REGION = 'eu-north-1';

describe('measure-performance', () => {
  describe('against a Lambda function', () => {
    const fn = uniqueName('perf-fn');
    beforeAll(async () => {
      const roleArn = await createRole(uniqueName('perf-role'));
      await createFunction({ name: fn, roleArn, region: PERF_REGION });
    });

    it('invokes it N times at the given concurrency, reports percentiles and progress, and meets the criterion', async () => {
      const config = {
        ...BASE_CONFIG,
        environments: { staging: { accountId: '123456789012', region: PERF_REGION } },
        performance: { p95Ms: 5000, maxErrorRate: 0.05 },
      };
      const { h, taskId } = await taskInPhase(5, { config });
      try {
        await queueLambdaResults(motoEndpoint(), Array.from({ length: 20 }, (_, i) => ({ ok: true, n: i })), { region: PERF_REGION });
        const progress: { progress: number; total?: number }[] = [];
        const r = (await h.client.callTool(
          { name: 'measure-performance', arguments: { target: { kind: 'lambda', function: fn, payload: { ping: true } }, requests: 20, concurrency: 4 } },
          undefined,
          { onprogress: (p) => progress.push({ progress: p.progress, total: p.total }) },
        )) as any;
        expect(r.isError, JSON.stringify(r.content)).toBeFalsy();
        const o = r.structuredContent;
        expect(o).toMatchObject({ target: `lambda ${fn}`, requests: 20, concurrency: 4, completed: 20, succeeded: 20, failed: 0, errorRate: 0, withinThresholds: true, truncated: false, violations: [] });
        expect(o.p50Ms).toBeGreaterThan(0);
        expect(o.p50Ms).toBeLessThanOrEqual(o.p95Ms);
        expect(o.p95Ms).toBeLessThanOrEqual(o.p99Ms);
        expect(o.p99Ms).toBeLessThanOrEqual(o.maxMs);
        expect(o.thresholds).toEqual({ p95Ms: 5000, maxErrorRate: 0.05 });
        expect(progress.length).toBeGreaterThanOrEqual(10);
        expect(progress.at(-1)).toEqual({ progress: 20, total: 20 });
        // The 20 queued results were consumed by real invocations: the next one echoes its payload.
        const lambda = fixtureClients(motoEndpoint(), PERF_REGION).lambda;
        const echo = await lambda.send(new InvokeCommand({ FunctionName: fn, Payload: new TextEncoder().encode('{"echo":1}') }));
        expect(new TextDecoder().decode(echo.Payload)).toBe('{"echo":1}');
        expect((await criteria(h, taskId))['performance-ok']).toBe(true);
      } finally {
        await h.close();
      }
    });

    it('stops with the AWS error when the function does not exist, instead of measuring errors', async () => {
      const { h } = await taskInPhase(5, { config: { ...BASE_CONFIG, environments: { staging: { accountId: '123456789012', region: PERF_REGION } } } });
      try {
        const r = await h.call('measure-performance', { target: { kind: 'lambda', function: uniqueName('no-such-fn') }, requests: 5 });
        expect(r.isError).toBe(true);
        expect(r.structuredContent.error).toBe('aws:ResourceNotFoundException');
        expect(r.structuredContent.message).toContain('lambda:GetFunctionConfiguration');
      } finally {
        await h.close();
      }
    });
  });

  describe('against an HTTP endpoint', () => {
    let server: http.Server;
    let url: string;
    let served = 0;
    let inFlight = 0;
    let maxInFlight = 0;
    beforeAll(async () => {
      server = http.createServer((req, res) => {
        served += 1;
        inFlight += 1;
        maxInFlight = Math.max(maxInFlight, inFlight);
        const n = served;
        const slow = req.url?.startsWith('/slow');
        setTimeout(() => {
          inFlight -= 1;
          // Every tenth request fails on /flaky.
          const status = req.url?.startsWith('/flaky') && n % 10 === 0 ? 500 : 200;
          res.writeHead(status, { 'content-type': 'text/plain' }).end(status === 200 ? 'ok' : 'boom');
        }, slow ? 300 : 20);
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    afterAll(async () => new Promise<void>((resolve) => server.close(() => resolve())));

    const config = { ...BASE_CONFIG, performance: { p50Ms: 2000, p95Ms: 3000, maxErrorRate: 0.05 } };

    it('keeps to the concurrency, counts non-2xx answers as errors and fails the thresholds on the error rate', async () => {
      const { h, taskId } = await taskInPhase(5, { config });
      try {
        served = 0;
        maxInFlight = 0;
        const r = await h.call('measure-performance', { target: { kind: 'http', url: `${url}/flaky` }, requests: 50, concurrency: 5, warmup: 2 });
        expect(r.isError, JSON.stringify(r.content)).toBeFalsy();
        const o = r.structuredContent;
        expect(served).toBe(52);
        expect(maxInFlight).toBeLessThanOrEqual(5);
        expect(maxInFlight).toBeGreaterThan(1);
        expect(o).toMatchObject({ target: `GET ${url}/flaky`, completed: 50, warmup: 2, withinThresholds: false, thresholdsConfigured: true });
        // Requests 10, 20, … 50 of 52 failed; two of them were warm-up requests, not counted.
        expect(o.failed).toBe(5);
        expect(o.errorRate).toBe(0.1);
        expect(o.errorSamples).toEqual(['HTTP 500']);
        expect(o.violations).toEqual(['error rate 10.00% is above the threshold of 5.00%']);
        expect(o.p50Ms).toBeGreaterThanOrEqual(19);
        expect((await criteria(h, taskId))['performance-ok']).toBe(false);
        const journal = await h.srv.deployments!.renderJournal(taskId);
        expect(journal).toContain('outside thresholds (error rate 10.00%');
      } finally {
        await h.close();
      }
    });

    it('is bounded in time: stops starting requests at maxDurationSec and says so', async () => {
      const { h } = await taskInPhase(5, { config });
      try {
        const started = Date.now();
        const r = await h.call('measure-performance', { target: { kind: 'http', url: `${url}/slow` }, requests: 1000, concurrency: 2, maxDurationSec: 1 });
        expect(Date.now() - started).toBeLessThan(5000);
        const o = r.structuredContent;
        expect(o.truncated).toBe(true);
        expect(o.completed).toBeGreaterThan(0);
        expect(o.completed).toBeLessThan(20);
        expect(o.withinThresholds).toBe(false);
        expect(o.violations.at(-1)).toMatch(/^only \d+ of 1000 requests were sent within the 1 s limit$/);
      } finally {
        await h.close();
      }
    });

    it('rejects loads above its bounds before sending anything', async () => {
      const { h } = await taskInPhase(5, { config });
      try {
        served = 0;
        const r = await h.call('measure-performance', { target: { kind: 'http', url }, requests: 5000, concurrency: 500 });
        expect(r.isError).toBe(true);
        expect(served).toBe(0);
      } finally {
        await h.close();
      }
    });
  });
});

describe('cost-check', () => {
  // Cost Explorer results queued in moto are per account: this file's account keeps them its own.
  const COST_ACCOUNT = '210987654321';
  let accountProxy: FaultProxy;
  beforeAll(async () => {
    accountProxy = await startFaultProxy(motoEndpoint(), [
      {
        match: () => true,
        rewrite: (req) => {
          req.headers['x-moto-account-id'] = COST_ACCOUNT;
          return {};
        },
      },
    ]);
  });
  afterAll(async () => accountProxy?.close());

  async function queueCost(results: unknown[]): Promise<void> {
    const res = await fetch(`${motoEndpoint()}/moto-api/static/ce/cost-and-usage-results`, {
      method: 'POST',
      body: JSON.stringify({ results, account_id: COST_ACCOUNT }),
    });
    expect(res.status).toBe(201);
  }

  it('sums GetCostAndUsage by service and by the cost allocation tag, and compares with the budget', async () => {
    const config = { ...BASE_CONFIG, budgetUsd: 10, costAllocationTag: 'project' };
    const { h, taskId } = await taskInPhase(5, { config, harness: { awsEndpoint: accountProxy.url } });
    try {
      const group = (service: string, tag: string, amount: string) => ({ Keys: [service, `project$${tag}`], Metrics: { UnblendedCost: { Amount: amount, Unit: 'USD' } } });
      await queueCost([
        {
          ResultsByTime: [
            { TimePeriod: { Start: '2026-01-01', End: '2026-01-02' }, Groups: [group('AWS Lambda', 'demo', '1.25'), group('Amazon S3', 'demo', '0.50'), group('Amazon S3', '', '0.25')], Estimated: false },
            { TimePeriod: { Start: '2026-01-02', End: '2026-01-03' }, Groups: [group('AWS Lambda', 'demo', '10.00')], Estimated: true },
          ],
          DimensionValueAttributes: [],
        },
      ]);
      const r = await h.call('cost-check');
      expect(r.isError, JSON.stringify(r.content)).toBeFalsy();
      const day = new Date().toISOString().slice(0, 10);
      expect(r.structuredContent).toMatchObject({
        available: true,
        totalUsd: 12,
        byService: { 'AWS Lambda': 11.25, 'Amazon S3': 0.75 },
        byTag: { demo: 11.75, '(untagged)': 0.25 },
        tagKey: 'project',
        currency: 'USD',
        estimated: true,
        budgetUsd: 10,
        overBudget: true,
        budgetUsedPercent: 120,
        period: { start: day },
      });
      expect(Object.keys(r.structuredContent.byService)).toEqual(['AWS Lambda', 'Amazon S3']);
      // What Cost Explorer was asked: this task's period, grouped by service and tag.
      const sent = accountProxy.requests.filter((q) => q.action === 'GetCostAndUsage').at(-1)!;
      const body = JSON.parse(sent.body.toString());
      expect(body.TimePeriod.Start).toBe(day);
      expect(body.GroupBy).toEqual([{ Type: 'DIMENSION', Key: 'SERVICE' }, { Type: 'TAG', Key: 'project' }]);
      expect((await criteria(h, taskId))['cost-checked']).toBe(true);
    } finally {
      await h.close();
    }
  });

  it('reports zero, not a guess, when Cost Explorer has nothing for the period; budget from the input', async () => {
    const { h } = await taskInPhase(3, { harness: { awsEndpoint: accountProxy.url } });
    try {
      const r = await h.call('cost-check', { since: '2020-01-01', budget: 50 });
      expect(r.structuredContent).toMatchObject({ available: true, totalUsd: 0, byService: {}, budgetUsd: 50, overBudget: false, budgetUsedPercent: 0, period: { start: '2020-01-01' } });
      const future = await h.call('cost-check', { since: '2999-01-01' });
      expect(future.structuredContent).toMatchObject({ error: 'invalid-since' });
    } finally {
      await h.close();
    }
  });

  describe('when Cost Explorer is unavailable', () => {
    let proxy: FaultProxy;
    beforeAll(async () => {
      proxy = await startFaultProxy(motoEndpoint());
    });
    afterAll(async () => proxy?.close());

    const cases = [
      { name: 'not permitted', fault: { kind: 'access-denied' } as const, code: 'AccessDenied', reason: /not permitted.*ce:GetCostAndUsage/ },
      { name: 'not enabled', fault: { kind: 'error', status: 400, code: 'DataUnavailableException', message: 'Data is not available.' } as const, code: 'DataUnavailableException', reason: /not enabled for this account/ },
      { name: 'not implemented by the endpoint', fault: { kind: 'html', status: 500 } as const, code: 'UnsupportedOperation', reason: /not available at this endpoint/ },
    ];
    for (const c of cases) {
      it(`records available: false with the reason (${c.name}) and still meets the criterion`, async () => {
        proxy.clearRules();
        proxy.addRule({ match: (req) => req.action === 'GetCostAndUsage', fault: c.fault });
        const config = { ...BASE_CONFIG, budgetUsd: 10 };
        const { h, taskId } = await taskInPhase(5, { config, harness: { awsEndpoint: proxy.url, awsMaxAttempts: 1 } });
        try {
          const r = await h.call('cost-check');
          expect(r.isError, JSON.stringify(r.content)).toBeFalsy();
          const o = r.structuredContent;
          expect(o.available).toBe(false);
          expect(o.reasonCode).toBe(c.code);
          expect(o.reason).toMatch(c.reason);
          expect(o).not.toHaveProperty('totalUsd');
          expect(o).not.toHaveProperty('overBudget');
          expect(readEvents(h.root, taskId).at(-1)).toMatchObject({ type: 'tool.succeeded', data: { tool: 'cost-check', summary: expect.stringMatching(/^Cost unavailable: /) } });
          expect((await criteria(h, taskId))['cost-checked']).toBe(true);
        } finally {
          await h.close();
        }
      });
    }
  });
});
