import { createServer } from 'node:http';
import { Pool } from 'pg';

/**
 * The yardstick for `http-balance-reads`: the same indexed lookup behind a bare `node:http`
 * server with no framework, no auth, no validation and no logging. Run as its own process
 * like the read API, it is the ceiling any HTTP read path on this machine is held to.
 */
const pool = new Pool({ connectionString: process.env.DATABASE_URL, max: Number(process.env.POOL_SIZE ?? 16) });
pool.on('error', () => undefined);
const PATH = /^\/v1\/accounts\/([^/]+)\/balance$/;

const server = createServer((req, res) => {
  const match = PATH.exec(req.url ?? '');
  if (!match) {
    res.writeHead(404).end();
    return;
  }
  pool
    .query({
      name: 'balance',
      text: 'select account_id, currency, available::text, pending::text, position::text from read_models.account_balances where account_id = $1',
      values: [decodeURIComponent(match[1]!)],
    })
    .then(
      ({ rows }) => {
        const row = rows[0] as Record<string, string> | undefined;
        if (!row) return void res.writeHead(404).end();
        const body = JSON.stringify({ accountId: row.account_id, currency: row.currency, available: row.available, pending: row.pending, position: row.position });
        res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) }).end(body);
      },
      () => void res.writeHead(500).end(),
    );
});
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  const address = server.address();
  process.stdout.write(`${JSON.stringify({ listening: typeof address === 'object' && address ? address.port : 0 })}\n`);
});
process.on('SIGTERM', () => server.close(() => void pool.end().then(() => process.exit(0))));
