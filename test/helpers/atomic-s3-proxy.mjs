/**
 * A loopback proxy in front of moto that makes S3 writes to one key atomic, as S3 guarantees and
 * moto 5.2.1 does not under concurrency: moto's PutObject checks If-Match / If-None-Match and
 * then writes the key as two steps without a lock (moto/s3/responses.py, put_object), on a
 * threaded server, so two conditional writes that race can both succeed. Serialising the
 * writes per key restores "exactly one of two conditional writes wins". Nothing else changes:
 * every request and answer is moto's. Also counts requests, for the figures tests print.
 *
 * Plain JavaScript so that tests and bench/store.mjs can both use it.
 */
import http from 'node:http';

/**
 * @param {string} upstream moto's URL
 * @returns {Promise<{ url: string, stats: Record<string, number>, close(): Promise<void> }>}
 */
export async function startAtomicS3Proxy(upstream) {
  const target = new URL(upstream);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  /** @type {Map<string, Promise<unknown>>} */
  const writeLocks = new Map();
  const stats = { requests: 0, get: 0, put: 0, conditionalPut: 0, preconditionFailed: 0, list: 0, delete: 0, serverErrors: 0 };

  const forward = (req, body) =>
    new Promise((resolve, reject) => {
      const upstreamReq = http.request(
        { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers, agent },
        (res) => {
          const chunks = [];
          res.on('data', (c) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 502, headers: res.headers, body: Buffer.concat(chunks) }));
          res.on('error', reject);
        },
      );
      upstreamReq.on('error', reject);
      upstreamReq.end(body);
    });

  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', async () => {
      const body = Buffer.concat(chunks);
      const path = (req.url ?? '/').split('?')[0];
      const isWrite = req.method === 'PUT' || req.method === 'DELETE' || req.method === 'POST';
      stats.requests++;
      if (req.method === 'GET') {
        if ((req.url ?? '').includes('list-type=') || path.split('/').filter(Boolean).length <= 1) stats.list++;
        else stats.get++;
      }
      if (req.method === 'PUT') {
        stats.put++;
        if (req.headers['if-match'] || req.headers['if-none-match']) stats.conditionalPut++;
      }
      if (req.method === 'DELETE') stats.delete++;
      try {
        let answer;
        if (isWrite) {
          // One write per key at a time: the conditional check and the write it guards become one step.
          const previous = writeLocks.get(path) ?? Promise.resolve();
          const mine = previous.catch(() => undefined).then(() => forward(req, body));
          writeLocks.set(path, mine);
          try {
            answer = await mine;
          } finally {
            if (writeLocks.get(path) === mine) writeLocks.delete(path);
          }
        } else {
          answer = await forward(req, body);
        }
        if (answer.status === 412) stats.preconditionFailed++;
        if (answer.status >= 500) stats.serverErrors++;
        res.writeHead(answer.status, answer.headers);
        res.end(answer.body);
      } catch (err) {
        stats.serverErrors++;
        res.writeHead(502, { 'content-type': 'text/plain' });
        res.end(`atomic S3 proxy: ${err.message}`);
      }
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = /** @type {import('node:net').AddressInfo} */ (server.address());
  return {
    url: `http://127.0.0.1:${port}`,
    stats,
    async close() {
      server.closeAllConnections?.();
      await new Promise((resolve) => server.close(() => resolve(undefined)));
      agent.destroy();
    },
  };
}
