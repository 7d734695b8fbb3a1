import { randomUUID } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { Pool } from 'pg';
import { get, seedBalance, setAllCheckpoints, setCheckpoint, startReadApi, type ReadHarness } from './testing/read-api-harness';

/** Authentication, health, metrics and the OpenAPI document: what operators and balancers see. */
let api: ReadHarness;

beforeAll(async () => {
  api = await startReadApi({ readyMaxLagEvents: 50 });
});
afterAll(async () => {
  await api?.close();
});
beforeEach(async () => {
  api.head.position = 100n;
  api.head.fail = false;
  await setAllCheckpoints(api.pool, 100);
});

const READ_ROUTES = [
  '/v1/accounts/acc-1/balance',
  '/v1/accounts/acc-1/entries',
  '/v1/withdrawals/w-1',
  '/v1/withdrawals',
  '/v1/reconciliation/bank_one/2026-11-23',
  '/v1/review-queue',
];

/** One sample of a metric from Prometheus text, by its exact label set. */
function sample(text: string, name: string, labels = ''): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name}${labels} `));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

describe('authentication and scopes', () => {
  it.each(READ_ROUTES)('%s: no key is 401, a write-only or ops key is 403, a read key passes', async (path) => {
    const none = await get(api, path, null);
    expect([none.status, none.body.error!.code]).toEqual([401, 'unauthenticated']);
    expect(none.headers.get('www-authenticate')).toBe('Bearer');
    const forged = await get(api, path, 'lk_forgedforgedforgedforgedforgedforgedforged0');
    expect(forged.status).toBe(401);
    const writer = await get(api, path, api.keys.writer);
    expect([writer.status, writer.body.error!.code]).toEqual([403, 'insufficient_scope']);
    expect(writer.body.error!.details).toEqual({ required: ['ledger:read'] });
    const ops = await get(api, path, api.keys.ops);
    expect(ops.status).toBe(403);
    const reader = await get(api, path, api.keys.reader);
    expect([401, 403]).not.toContain(reader.status);
  });

  it('authentication comes before validation: a bad id without a key is 401, not 400', async () => {
    const answer = await get(api, '/v1/accounts/bad%20id/balance', null);
    expect(answer.status).toBe(401);
  });

  it('rate limits per key with 429 and Retry-After', async () => {
    const limited = await startReadApi({ rateLimit: { perSecond: 1, burst: 2 } });
    try {
      const statuses: number[] = [];
      let last;
      for (let i = 0; i < 4; i += 1) {
        last = await get(limited, '/v1/review-queue');
        statuses.push(last.status);
      }
      expect(statuses.slice(0, 2)).toEqual([200, 200]);
      expect(statuses[3]).toBe(429);
      expect(last!.body.error!.code).toBe('rate_limited');
      expect(Number(last!.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      // Health checks are public and never rate limited.
      expect((await get(limited, '/health/live', null)).status).toBe(200);
    } finally {
      await limited.close();
    }
  });

  it('an unknown route is 404 route_not_found in the error format', async () => {
    const answer = await get(api, '/v1/nothing-here');
    expect([answer.status, answer.body.error!.code]).toEqual([404, 'route_not_found']);
  });
});

describe('the HTTP platform on Fastify', () => {
  it('writes one request line with the ids and the principal, and answers with the request id', async () => {
    const lines: Array<Record<string, unknown>> = [];
    const destination = { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) };
    const logged = await startReadApi({ logLevel: 'info', logDestination: destination });
    try {
      await seedBalance(logged.pool, { accountId: 'acc-log', available: '5' });
      const response = await fetch(`${logged.baseUrl}/v1/accounts/acc-log/balance`, {
        headers: { authorization: `Bearer ${logged.keys.reader}`, 'x-correlation-id': 'corr-fastify-1' },
      });
      expect(response.status).toBe(200);
      const requestId = response.headers.get('x-request-id');
      expect(requestId).toMatch(/^[0-9a-f-]{36}$/);
      expect(response.headers.get('x-correlation-id')).toBe('corr-fastify-1');
      await new Promise((resolve) => setTimeout(resolve, 20));
      const requestLines = lines.filter((line) => line.requestId === requestId && line.msg === 'request completed');
      expect(requestLines).toHaveLength(1);
      expect(requestLines[0]).toMatchObject({
        level: 30,
        correlationId: 'corr-fastify-1',
        principal: 'api-key:reader',
        req: { method: 'GET', url: '/v1/accounts/acc-log/balance', headers: { authorization: '[redacted]' } },
        res: { statusCode: 200 },
      });
      expect(JSON.stringify(lines)).not.toContain(logged.keys.reader);
    } finally {
      await logged.close();
    }
  });

  it('refuses a body that is not JSON with 415, and malformed JSON with 400, in the error format', async () => {
    const text = await fetch(`${api.baseUrl}/v1/review-queue`, {
      method: 'POST',
      headers: { authorization: `Bearer ${api.keys.reader}`, 'content-type': 'text/plain' },
      body: 'hello',
    });
    expect(text.status).toBe(415);
    expect(((await text.json()) as { error: { code: string } }).error.code).toBe('unsupported_media_type');
    const malformed = await fetch(`${api.baseUrl}/v1/review-queue`, {
      method: 'POST',
      headers: { authorization: `Bearer ${api.keys.reader}`, 'content-type': 'application/json' },
      body: '{nope',
    });
    expect(malformed.status).toBe(400);
    const body = (await malformed.json()) as { error: { code: string }; requestId: string };
    expect(body.error.code).toBe('malformed_json');
    expect(body.requestId).toBe(malformed.headers.get('x-request-id'));
  });

  it('refuses an unknown Content-Encoding with 415 and a corrupt gzip body with 400, in the error format', async () => {
    const post = (encoding: string, body: Buffer) =>
      fetch(`${api.baseUrl}/v1/review-queue`, {
        method: 'POST',
        headers: { authorization: `Bearer ${api.keys.reader}`, 'content-type': 'application/json', 'content-encoding': encoding },
        body,
      });
    const brotli = await post('br', Buffer.from('{}'));
    expect([brotli.status, ((await brotli.json()) as { error: { code: string } }).error.code]).toEqual([415, 'unsupported_media_type']);
    const corrupt = await post('gzip', Buffer.from('definitely not gzip'));
    expect([corrupt.status, ((await corrupt.json()) as { error: { code: string } }).error.code]).toEqual([400, 'malformed_body']);
    // A good gzip body is inflated and reaches routing: this GET-only path then answers 404.
    const good = await post('gzip', gzipSync(Buffer.from('{"a":1}')));
    expect(good.status).toBe(404);
  });

  it('refuses a body over the limit with 413 payload_too_large', async () => {
    const response = await fetch(`${api.baseUrl}/v1/review-queue`, {
      method: 'POST',
      headers: { authorization: `Bearer ${api.keys.reader}`, 'content-type': 'application/json' },
      body: JSON.stringify({ padding: 'x'.repeat(70 * 1024) }),
    });
    expect(response.status).toBe(413);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('payload_too_large');
  });
});

describe('health', () => {
  it('/health/live is public and 200', async () => {
    const answer = await get(api, '/health/live', null);
    expect([answer.status, answer.body]).toEqual([200, { status: 'ok' }]);
  });

  it('/health/ready is 200 within the lag bound and flips to 503 projections_lagging past it', async () => {
    api.head.position = 150n;
    const ready = await get(api, '/health/ready', null);
    expect(ready.status).toBe(200);
    expect(ready.body).toMatchObject({ status: 'ok', headPosition: '150' });
    expect(ready.body.projections).toEqual(
      expect.arrayContaining([expect.objectContaining({ projection: 'journal', position: '100', lagEvents: '50' })]),
    );

    api.head.position = 151n;
    const lagging = await get(api, '/health/ready', null);
    expect(lagging.status).toBe(503);
    expect(lagging.body.error).toMatchObject({ code: 'projections_lagging', details: { readyMaxLagEvents: '50', headPosition: '151' } });

    // One projection alone past the bound is enough.
    await setAllCheckpoints(api.pool, 151);
    expect((await get(api, '/health/ready', null)).status).toBe(200);
    await setCheckpoint(api.pool, 'withdrawals', 10);
    const one = await get(api, '/health/ready', null);
    expect(one.status).toBe(503);
    expect(one.body.error!.message).toContain('withdrawals');
  });

  it('a projection without a checkpoint counts from zero; an empty event store is ready', async () => {
    await api.pool.query(`delete from read_models.projection_checkpoints where projection = 'journal'`);
    api.head.position = -1n;
    expect((await get(api, '/health/ready', null)).status).toBe(200);
    api.head.position = 51n;
    expect((await get(api, '/health/ready', null)).status).toBe(503);
  });

  it('an event store that does not answer is 503 event_store_unavailable', async () => {
    api.head.fail = true;
    const answer = await get(api, '/health/ready', null);
    expect([answer.status, answer.body.error!.code]).toEqual([503, 'event_store_unavailable']);
  });

  it('a database that does not answer is 503 on ready and on reads, never 500', async () => {
    const deadPool = new Pool({ connectionString: 'postgres://nobody@127.0.0.1:1/none', connectionTimeoutMillis: 1_000 });
    deadPool.on('error', () => undefined);
    const dead = await startReadApi({ pool: deadPool });
    try {
      const ready = await get(dead, '/health/ready', null);
      expect([ready.status, ready.body.error!.code]).toEqual([503, 'database_unavailable']);
      const read = await get(dead, '/v1/accounts/acc-1/balance');
      expect([read.status, read.body.error!.code]).toEqual([503, 'database_unavailable']);
      const waiting = await get(dead, '/v1/accounts/acc-1/balance?minPosition=5');
      expect([waiting.status, waiting.body.error!.code]).toEqual([503, 'database_unavailable']);
      expect((await get(dead, '/health/live', null)).status).toBe(200);
    } finally {
      await dead.close();
      await deadPool.end();
    }
  });

  it('read models that are not migrated are 503 read_models_unavailable', async () => {
    const bare = await startReadApi();
    try {
      await bare.pool.query('drop schema read_models cascade');
      const read = await get(bare, '/v1/withdrawals');
      expect([read.status, read.body.error!.code]).toEqual([503, 'read_models_unavailable']);
      const ready = await get(bare, '/health/ready', null);
      expect([ready.status, ready.body.error!.code]).toEqual([503, 'read_models_unavailable']);
    } finally {
      await bare.close();
    }
  });
});

describe('metrics', () => {
  it('/metrics exposes projection lag in events and seconds per projection, computed at scrape time', async () => {
    api.head.position = 140n;
    await setCheckpoint(api.pool, 'journal', 40, new Date(Date.now() - 30_000));
    const answer = await get(api, '/metrics', null);
    expect(answer.status).toBe(200);
    expect(answer.headers.get('content-type')).toContain('text/plain');
    const text = answer.text;
    expect(sample(text, 'ledger_read_api_projection_lag_events', '{projection="balances"}')).toBe(40);
    expect(sample(text, 'ledger_read_api_projection_lag_events', '{projection="journal"}')).toBe(100);
    expect(sample(text, 'ledger_read_api_projection_lag_events', '{projection="withdrawals"}')).toBe(40);
    // The review queue has no checkpoint of its own: the withdrawals projection writes it.
    expect(sample(text, 'ledger_read_api_projection_lag_events', '{projection="review_queue"}')).toBeUndefined();
    expect(sample(text, 'ledger_read_api_projection_lag_seconds', '{projection="journal"}')).toBeGreaterThanOrEqual(29);
    expect(sample(text, 'ledger_read_api_projection_lag_seconds', '{projection="journal"}')).toBeLessThan(60);
    expect(sample(text, 'ledger_read_api_projection_checkpoint_position', '{projection="journal"}')).toBe(40);
    expect(sample(text, 'ledger_read_api_event_store_head_position')).toBe(140);

    // The projector catches up; the next scrape says so without anything else happening here.
    await setAllCheckpoints(api.pool, 140);
    await new Promise((done) => setTimeout(done, 300));
    const caughtUp = (await get(api, '/metrics', null)).text;
    expect(sample(caughtUp, 'ledger_read_api_projection_lag_events', '{projection="journal"}')).toBe(0);
    expect(sample(caughtUp, 'ledger_read_api_projection_lag_seconds', '{projection="journal"}')).toBe(0);
  });

  it('times requests by route pattern and status, never by raw path', async () => {
    const accountId = `acc-${randomUUID()}`;
    await seedBalance(api.pool, { accountId });
    await get(api, `/v1/accounts/${accountId}/balance`);
    await get(api, `/v1/accounts/${accountId}/balance`, null);
    await get(api, '/no/such/route');
    const text = (await get(api, '/metrics', null)).text;
    const count = (labels: string) => sample(text, 'ledger_read_api_http_request_duration_seconds_count', labels) ?? 0;
    expect(count('{method="GET",route="/v1/accounts/:id/balance",status_code="200"}')).toBeGreaterThanOrEqual(1);
    expect(count('{method="GET",route="/v1/accounts/:id/balance",status_code="401"}')).toBeGreaterThanOrEqual(1);
    expect(count('{method="GET",route="unmatched",status_code="404"}')).toBeGreaterThanOrEqual(1);
    expect(text).not.toContain(accountId);
  });

  it('counts the open review queues at scrape time: withdrawals in manual review and open discrepancies', async () => {
    const before = (await get(api, '/metrics', null)).text;
    const open = (text: string, queue: string) => sample(text, 'ledger_review_queue_open', `{queue="${queue}"}`);
    const withdrawalsBefore = open(before, 'withdrawals')!;
    expect(open(before, 'discrepancies')).toBeGreaterThanOrEqual(0);
    await api.pool.query(
      `insert into read_models.review_queue (withdrawal_id, reason, from_status, requested_at, requested_by, position)
       values ($1, 'three failed attempts', 'requested', now(), 'payout-process-manager', 7),
              ($2, 'conflicting callback', 'processing', now(), 'payout-process-manager', 8)`,
      [`w-${randomUUID()}`, `w-${randomUUID()}`],
    );
    const after = (await get(api, '/metrics', null)).text;
    expect(open(after, 'withdrawals')).toBe(withdrawalsBefore + 2);
  });

  it('without a head position the lag series are absent and readiness checks the database only', async () => {
    const headless = await startReadApi({ headPosition: undefined });
    try {
      const text = (await get(headless, '/metrics', null)).text;
      expect(text).toContain('# TYPE ledger_read_api_projection_lag_events gauge');
      expect(sample(text, 'ledger_read_api_projection_lag_events', '{projection="balances"}')).toBeUndefined();
      const ready = await get(headless, '/health/ready', null);
      expect([ready.status, ready.body.headPosition]).toEqual([200, null]);
    } finally {
      await headless.close();
    }
  });
});

it('serves OpenAPI at /docs-json with every read route and its query parameters', async () => {
  const response = await fetch(`${api.baseUrl}/docs-json`);
  expect(response.status).toBe(200);
  const document = (await response.json()) as { paths: Record<string, { get: { parameters: Array<{ name: string }> } }> };
  expect(Object.keys(document.paths)).toEqual(
    expect.arrayContaining([
      '/v1/accounts/{id}/balance',
      '/v1/accounts/{id}/entries',
      '/v1/withdrawals',
      '/v1/withdrawals/{id}',
      '/v1/reconciliation/{channel}/{date}',
      '/v1/review-queue',
      '/health/live',
      '/health/ready',
    ]),
  );
  const listParameters = document.paths['/v1/withdrawals']!.get.parameters.map((p) => p.name);
  expect(listParameters).toEqual(expect.arrayContaining(['status', 'accountId', 'from', 'to', 'cursor', 'limit', 'minPosition']));
});
