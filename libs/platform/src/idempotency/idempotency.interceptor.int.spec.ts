import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import {
  Body,
  Controller,
  HttpCode,
  Module,
  Post,
  Req,
  Res,
  ServiceUnavailableException,
  UnprocessableEntityException,
  type INestApplication,
} from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Pool } from 'pg';
import { createTestDatabase, type TestDatabase } from '@ledger/test-support';
import { idempotencyOf } from './context';
import { deriveId } from './derive-id';
import { requestFingerprint } from './fingerprint';
import { IdempotencyModule } from './idempotency.module';
import { IdempotencyStore } from './idempotency-store';
import { Idempotent } from './idempotent.decorator';
import type { IdempotencyModuleOptions, IdempotencyRequest } from './options';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface ThingBody {
  name?: string;
  delayMs?: number;
  outcome?: 'insufficient_funds' | 'crash_once' | 'unavailable_once';
}

/** How often the handler ran, per `${scope}/${key}`: the number the tests are about. */
const executions = new Map<string, number>();
const executionsOf = (scope: string, key: string) => executions.get(`${scope}/${key}`) ?? 0;

@Controller('things')
class ThingsController {
  @Post()
  @Idempotent()
  async create(
    @Body() body: ThingBody,
    @Req() request: object,
    @Res({ passthrough: true }) response: { setHeader(name: string, value: string): void },
  ): Promise<unknown> {
    const { scope, key } = idempotencyOf(request);
    const execution = executionsOf(scope, key) + 1;
    executions.set(`${scope}/${key}`, execution);
    if (body.delayMs) await sleep(body.delayMs);
    if (body.outcome === 'insufficient_funds') {
      throw new UnprocessableEntityException({
        error: { code: 'insufficient_funds', message: 'The account lacks funds.', details: { available: '0' } },
      });
    }
    if (body.outcome === 'crash_once' && execution === 1) throw new Error('the database went away');
    if (body.outcome === 'unavailable_once' && execution === 1) {
      throw new ServiceUnavailableException({ error: { code: 'event_store_unavailable', message: 'Try again.' } });
    }
    const thingId = deriveId(scope, key, 'thing');
    response.setHeader('Location', `/things/${thingId}`);
    return { thingId, name: body.name, execution };
  }

  @Post('accepted')
  @HttpCode(202)
  @Idempotent()
  accept(@Req() request: object): unknown {
    const { scope, key } = idempotencyOf(request);
    executions.set(`${scope}/${key}`, executionsOf(scope, key) + 1);
    return { acceptedId: deriveId(scope, key, 'acceptance'), status: 'requested' };
  }
}

/** Boots the app the way ledger-api will: auth first (here faked from a header), then us. */
async function startApp(options: IdempotencyModuleOptions): Promise<{ app: INestApplication; url: string }> {
  @Module({ imports: [IdempotencyModule.forRoot(options)], controllers: [ThingsController] })
  class TestAppModule {}

  const app = await NestFactory.create(TestAppModule, { logger: false, forceCloseConnections: true });
  app.use((request: IdempotencyRequest, _response: unknown, next: () => void) => {
    const apiKey = request.headers['x-api-key'];
    if (typeof apiKey === 'string') request.principal = { keyId: apiKey, scopes: ['ledger:write'] };
    next();
  });
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address() as AddressInfo;
  return { app, url: `http://127.0.0.1:${port}` };
}

interface Sent {
  status: number;
  text: string;
  body: { error?: { code?: string } } & Record<string, unknown>;
  replayed: string | null;
  location: string | null;
}

function client(baseUrl: string) {
  return async (
    path: string,
    options: { key?: string; apiKey?: string | null; body?: unknown; headers?: Record<string, string> },
  ): Promise<Sent> => {
    const headers: Record<string, string> = { 'content-type': 'application/json', ...options.headers };
    if (options.key !== undefined) headers['idempotency-key'] = options.key;
    const apiKey = options.apiKey === undefined ? 'key_a' : options.apiKey;
    if (apiKey !== null) headers['x-api-key'] = apiKey;
    const response = await fetch(`${baseUrl}${path}`, {
      method: 'POST',
      headers,
      body: typeof options.body === 'string' ? options.body : JSON.stringify(options.body ?? {}),
    });
    const text = await response.text();
    return {
      status: response.status,
      text,
      body: text ? JSON.parse(text) : {},
      replayed: response.headers.get('idempotent-replayed'),
      location: response.headers.get('location'),
    };
  };
}

describe('@Idempotent() over HTTP', () => {
  let database: TestDatabase;
  let app: INestApplication;
  let post: ReturnType<typeof client>;
  let store: IdempotencyStore;

  beforeAll(async () => {
    database = await createTestDatabase('idempotency_http');
    const started = await startApp({ pool: database.url });
    app = started.app;
    post = client(started.url);
    store = app.get(IdempotencyStore);
  });
  afterAll(async () => {
    await app?.close();
    await database?.drop();
  });

  const newKey = () => `key-${randomUUID()}`;

  it('runs the handler once and replays the identical answer with Idempotent-Replayed', async () => {
    const key = newKey();
    const first = await post('/things', { key, body: { name: 'first' } });
    expect(first.status).toBe(201);
    expect(first.replayed).toBeNull();
    expect(first.body).toEqual({ thingId: deriveId('key_a', key, 'thing'), name: 'first', execution: 1 });
    expect(first.location).toBe(`/things/${deriveId('key_a', key, 'thing')}`);

    const again = await post('/things', { key, body: { name: 'first' } });
    expect(again.status).toBe(201);
    expect(again.text).toBe(first.text);
    expect(again.location).toBe(first.location);
    expect(again.replayed).toBe('true');
    expect(executionsOf('key_a', key)).toBe(1);
  });

  it('replays the route status too', async () => {
    const key = newKey();
    const first = await post('/things/accepted', { key });
    const again = await post('/things/accepted', { key });
    expect([first.status, again.status]).toEqual([202, 202]);
    expect(again.text).toBe(first.text);
    expect(again.replayed).toBe('true');
    expect(executionsOf('key_a', key)).toBe(1);
  });

  it('runs 20 concurrent identical requests once; the others get 409 or the replay', async () => {
    const key = newKey();
    const body = { name: 'crowd', delayMs: 200 };
    const sent = await Promise.all(
      Array.from({ length: 20 }, (_unused, i) => sleep(i * 30).then(() => post('/things', { key, body }))),
    );
    expect(executionsOf('key_a', key)).toBe(1);
    const original = sent.filter((s) => s.status === 201 && s.replayed === null);
    expect(original).toHaveLength(1);
    const inUse = sent.filter((s) => s.status === 409);
    const replays = sent.filter((s) => s.replayed === 'true');
    expect(inUse.length + replays.length).toBe(19);
    expect(inUse.length).toBeGreaterThan(0);
    for (const response of inUse) expect(response.body.error?.code).toBe('idempotency_key_in_use');
    for (const response of replays) expect([response.status, response.text]).toEqual([201, original[0]!.text]);

    const later = await post('/things', { key, body });
    expect([later.status, later.text, later.replayed]).toEqual([201, original[0]!.text, 'true']);
  });

  it('refuses the key for another body with 422 idempotency_key_reused', async () => {
    const key = newKey();
    await post('/things', { key, body: { name: 'a' } });
    const reused = await post('/things', { key, body: { name: 'b' } });
    expect(reused.status).toBe(422);
    expect(reused.body.error?.code).toBe('idempotency_key_reused');
    expect(executionsOf('key_a', key)).toBe(1);
  });

  it('refuses the key for another path', async () => {
    const key = newKey();
    await post('/things', { key, body: {} });
    const reused = await post('/things/accepted', { key, body: {} });
    expect(reused.status).toBe(422);
    expect(reused.body.error?.code).toBe('idempotency_key_reused');
  });

  it('ignores key order and whitespace of the body', async () => {
    const key = newKey();
    const first = await post('/things', { key, body: '{"name":"x","delayMs":1}' });
    const again = await post('/things', { key, body: '{\n  "delayMs": 1,\n  "name": "x"\n}' });
    expect(again.replayed).toBe('true');
    expect(again.text).toBe(first.text);
  });

  it('scopes keys per API key: the same key under two API keys runs twice', async () => {
    const key = newKey();
    const a = await post('/things', { key, apiKey: 'key_a', body: { name: 'same' } });
    const b = await post('/things', { key, apiKey: 'key_b', body: { name: 'same' } });
    expect([a.status, b.status]).toEqual([201, 201]);
    expect([a.replayed, b.replayed]).toEqual([null, null]);
    expect(a.body.thingId).not.toBe(b.body.thingId);
    expect([executionsOf('key_a', key), executionsOf('key_b', key)]).toEqual([1, 1]);
  });

  it('answers 400 idempotency_key_missing without a key, and does not run the handler', async () => {
    const before = executions.size;
    const sent = await post('/things', { body: { name: 'no key' } });
    expect(sent.status).toBe(400);
    expect(sent.body).toEqual({
      error: {
        code: 'idempotency_key_missing',
        message: expect.any(String),
        details: { header: 'Idempotency-Key' },
      },
    });
    expect(executions.size).toBe(before);
  });

  it('answers 400 idempotency_key_malformed for a malformed key', async () => {
    for (const key of ['has space', 'x'.repeat(256)]) {
      const sent = await post('/things', { key, body: {} });
      expect(sent.status).toBe(400);
      expect(sent.body.error?.code).toBe('idempotency_key_malformed');
    }
  });

  it('answers 401 when authentication did not set a principal', async () => {
    const key = newKey();
    const sent = await post('/things', { key, apiKey: null, body: {} });
    expect(sent.status).toBe(401);
    expect(sent.body.error?.code).toBe('unauthenticated');
  });

  it('stores a 4xx outcome and replays it identically', async () => {
    const key = newKey();
    const body = { outcome: 'insufficient_funds' };
    const first = await post('/things', { key, body });
    expect(first.status).toBe(422);
    expect(first.body.error?.code).toBe('insufficient_funds');
    const again = await post('/things', { key, body });
    expect([again.status, again.text, again.replayed]).toEqual([422, first.text, 'true']);
    expect(executionsOf('key_a', key)).toBe(1);
  });

  it('abandons the key on an unexpected exception, so the retry runs', async () => {
    const key = newKey();
    const body = { name: 'flaky', outcome: 'crash_once' };
    expect((await post('/things', { key, body })).status).toBe(500);
    const retry = await post('/things', { key, body });
    expect([retry.status, retry.replayed, retry.body.execution]).toEqual([201, null, 2]);
    // The retry derives the same id the crashed attempt would have used.
    expect(retry.body.thingId).toBe(deriveId('key_a', key, 'thing'));
    expect((await post('/things', { key, body })).replayed).toBe('true');
    expect(executionsOf('key_a', key)).toBe(2);
  });

  it('abandons the key on a 5xx HttpException, so the retry runs', async () => {
    const key = newKey();
    const body = { outcome: 'unavailable_once' };
    expect((await post('/things', { key, body })).status).toBe(503);
    const retry = await post('/things', { key, body });
    expect([retry.status, retry.replayed]).toEqual([201, null]);
    expect(executionsOf('key_a', key)).toBe(2);
  });

  it('takes over a key whose process crashed in flight once its lease runs out', async () => {
    const key = newKey();
    const body = { name: 'orphan' };
    // Another instance began this request and died before completing it.
    const crashed = await store.begin('key_a', key, requestFingerprint('POST', '/things', body), 200);
    expect(crashed.kind).toBe('started');

    const tooSoon = await post('/things', { key, body });
    expect(tooSoon.status).toBe(409);
    expect(tooSoon.body.error?.code).toBe('idempotency_key_in_use');
    expect(executionsOf('key_a', key)).toBe(0);

    await sleep(250);
    const retry = await post('/things', { key, body });
    expect([retry.status, retry.replayed]).toEqual([201, null]);
    expect(executionsOf('key_a', key)).toBe(1);
    expect((await post('/things', { key, body })).text).toBe(retry.text);
  });
});

describe('IdempotencyModule options', () => {
  let database: TestDatabase;
  let pool: Pool;
  let app: INestApplication | undefined;
  let post: ReturnType<typeof client>;

  beforeAll(async () => {
    database = await createTestDatabase('idempotency_options');
    pool = new Pool({ connectionString: database.url });
    // An idle client cut by the server must not crash the run; the next query reconnects.
    pool.on('error', () => undefined);
    const started = await startApp({
      pool,
      allowAnonymous: true,
      scopeOf: (request) => {
        const tenant = request.headers['x-tenant'];
        return typeof tenant === 'string' ? tenant : undefined;
      },
    });
    app = started.app;
    post = client(started.url);
  });
  afterAll(async () => {
    await app?.close();
    await pool?.end();
    await database?.drop();
  });

  it('uses the configured scope', async () => {
    const key = `key-${randomUUID()}`;
    const a = await post('/things', { key, apiKey: null, headers: { 'x-tenant': 't1' }, body: {} });
    const b = await post('/things', { key, apiKey: null, headers: { 'x-tenant': 't2' }, body: {} });
    expect([a.replayed, b.replayed]).toEqual([null, null]);
    expect([executionsOf('t1', key), executionsOf('t2', key)]).toEqual([1, 1]);
  });

  it('falls back to the anonymous scope only when allowed', async () => {
    const key = `key-${randomUUID()}`;
    const first = await post('/things', { key, apiKey: null, body: {} });
    const again = await post('/things', { key, apiKey: null, body: {} });
    expect([first.status, again.replayed]).toEqual([201, 'true']);
    expect(executionsOf('anonymous', key)).toBe(1);
  });

  it('refuses a TTL below the 7 days the API promises', () => {
    expect(() => IdempotencyModule.forRoot({ pool, ttlHours: 24 })).toThrow(RangeError);
    expect(() => IdempotencyModule.forRoot({ pool, ttlHours: 168 })).not.toThrow();
  });

  it('leaves a pool it was handed open when the app closes: its owner closes it', async () => {
    const closing = app;
    app = undefined;
    await closing?.close();
    await expect(pool.query('select 1')).resolves.toBeDefined();
  });
});
