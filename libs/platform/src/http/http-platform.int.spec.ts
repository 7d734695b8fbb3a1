import 'reflect-metadata';
import { Body, ConflictException, Controller, Get, HttpCode, Module, NotFoundException, Post, Req, Res, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ApiProperty } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsIn, IsNotEmpty, IsObject, IsString, Matches, ValidateNested } from 'class-validator';
import { ThrottlerException } from '@nestjs/throttler';
import { PinoLogger } from 'nestjs-pino';
import {
  ApiError,
  configureHttpApp,
  currentRequestContext,
  CurrentPrincipal,
  hashApiKey,
  PlatformHttpModule,
  principalName,
  Public,
  RequireScopes,
  type ApiKeyRecord,
  type ErrorMapper,
  type Principal,
  type RequestContext,
} from './index';

/**
 * The platform over real HTTP: a small Nest app on an ephemeral port, called with fetch, so
 * the Express stack, the body parser, Nest's guards and filters all run as in production.
 */

const WRITER_KEY = 'lk_writer-key-for-tests-0123456789abcdefghijklmn';
const READER_KEY = 'lk_reader-key-for-tests-0123456789abcdefghijklmn';
const apiKeys: ApiKeyRecord[] = [
  { id: 'writer', hash: hashApiKey(WRITER_KEY), scopes: ['ledger:write', 'ledger:read'] },
  { id: 'reader', hash: hashApiKey(READER_KEY), scopes: ['ledger:read'] },
];

class DestinationDto {
  @ApiProperty() @IsIn(['bank_account']) type!: string;
  @ApiProperty() @IsString() @IsNotEmpty() accountNumber!: string;
  @ApiProperty() @IsString() @IsNotEmpty() bankCode!: string;
  @ApiProperty() @IsString() @IsNotEmpty() holderName!: string;
}

class RequestWithdrawalDto {
  @ApiProperty() @IsString() @IsNotEmpty() accountId!: string;
  @ApiProperty({ example: '1050' }) @Matches(/^(0|[1-9][0-9]*)$/) amount!: string;
  @ApiProperty() @IsString() @IsNotEmpty() currency!: string;
  @ApiProperty({ type: () => DestinationDto }) @IsObject() @ValidateNested() @Type(() => DestinationDto) destination!: DestinationDto;
}

class InsufficientFunds extends Error {
  constructor(readonly available: bigint) {
    super('insufficient funds');
  }
}

const mapDomainErrors: ErrorMapper = (error) =>
  error instanceof InsufficientFunds
    ? new ApiError(422, 'insufficient_funds', 'The account has too little available.', { available: error.available.toString() })
    : undefined;

@Controller('v1')
class LedgerController {
  constructor(private readonly logger: PinoLogger) {}

  @Post('withdrawals')
  @HttpCode(202)
  @RequireScopes('ledger:write')
  async request(
    @Body() body: RequestWithdrawalDto,
    @CurrentPrincipal() principal: Principal,
    @Req() req: { rawBody?: Buffer },
  ): Promise<Record<string, unknown>> {
    this.logger.info({ destination: body.destination }, 'withdrawal requested');
    await new Promise((resolve) => setTimeout(resolve, 5));
    return {
      isDto: body instanceof RequestWithdrawalDto && body.destination instanceof DestinationDto,
      principal: principalName(principal),
      rawBody: req.rawBody?.toString('utf8'),
      context: currentRequestContext(),
    };
  }

  @Get('context')
  @RequireScopes('ledger:read')
  async context(): Promise<RequestContext | undefined> {
    // After an await, the context must still be there: AsyncLocalStorage, not a global.
    await new Promise((resolve) => setImmediate(resolve));
    return currentRequestContext();
  }

  @Get('forgotten')
  forgotten(): string {
    return 'this must never be answered';
  }

  @Get('boom')
  @RequireScopes('ledger:read')
  boom(): never {
    throw new Error('connect to postgres://ledger:hunter2@db failed');
  }

  @Get('rejected')
  @RequireScopes('ledger:read')
  rejected(): never {
    throw new InsufficientFunds(1050n);
  }

  @Get('withdrawals/missing')
  @RequireScopes('ledger:read')
  missing(): never {
    throw new NotFoundException('No withdrawal missing.');
  }

  @Get('throttled')
  @RequireScopes('ledger:read')
  throttled(@Res({ passthrough: true }) res: { setHeader(name: string, value: string): void }): never {
    // What @nestjs/throttler's guard does: set Retry-After, then throw.
    res.setHeader('Retry-After', '7');
    throw new ThrottlerException();
  }

  @Get('conflict')
  @RequireScopes('ledger:read')
  conflict(): never {
    throw new ConflictException('The withdrawal is already settled.');
  }
}

@Controller('v1/ops')
@RequireScopes('ledger:read')
class OpsController {
  @Post('freeze')
  @RequireScopes('ops')
  freeze(): { frozen: true } {
    return { frozen: true };
  }
}

@Public()
@Controller('health')
class HealthController {
  @Get('live')
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }
}

@Module({})
class TestAppModule {}

interface Running {
  app: INestApplication;
  url: string;
  logs: Record<string, unknown>[];
}

async function start(rateLimit: { perSecond: number; burst: number }): Promise<Running> {
  const logs: Record<string, unknown>[] = [];
  const destination = { write: (line: string) => void logs.push(JSON.parse(line) as Record<string, unknown>) };
  const app = await NestFactory.create(
    {
      module: TestAppModule,
      imports: [PlatformHttpModule.forRoot({ apiKeys, rateLimit, logLevel: 'info', logDestination: destination, errorMappers: [mapDomainErrors] })],
      controllers: [LedgerController, OpsController, HealthController],
    },
    { logger: false },
  );
  configureHttpApp(app, { bodyLimitBytes: 2048, swagger: { title: 'Ledger test', version: '1' }, shutdownHooks: false });
  await app.listen(0, '127.0.0.1');
  return { app, url: (await app.getUrl()).replace('[::1]', '127.0.0.1'), logs };
}

const validWithdrawal = {
  accountId: 'acc-1',
  amount: '1050',
  currency: 'EUR',
  destination: { type: 'bank_account', accountNumber: 'DE89370400440532013000', bankCode: 'COBADEFFXXX', holderName: 'Ada' },
};

interface ErrorBody {
  error: { code: string; message: string; details: Record<string, unknown> };
  requestId: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('HTTP platform over real HTTP', () => {
  let running: Running;
  beforeAll(async () => {
    running = await start({ perSecond: 1000, burst: 1000 });
  });
  afterAll(async () => {
    await running.app.close();
  });

  const call = (path: string, init: RequestInit & { key?: string } = {}) => {
    const headers = new Headers(init.headers);
    if (init.key) headers.set('authorization', `Bearer ${init.key}`);
    return fetch(`${running.url}${path}`, { ...init, headers });
  };
  const postJson = (path: string, body: unknown, key = WRITER_KEY, headers: Record<string, string> = {}) =>
    call(path, { method: 'POST', key, headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });

  async function expectError(response: Response, status: number, code: string): Promise<ErrorBody> {
    const text = await response.text();
    expect({ status: response.status, text }).toMatchObject({ status });
    const body = JSON.parse(text) as ErrorBody;
    expect(Object.keys(body).sort()).toEqual(['error', 'requestId']);
    expect(Object.keys(body.error).sort()).toEqual(['code', 'details', 'message']);
    expect(body.error.code).toBe(code);
    expect(body.requestId).toMatch(UUID);
    expect(response.headers.get('x-request-id')).toBe(body.requestId);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    expect(response.headers.get('cache-control')).toBe('no-store');
    return body;
  }

  describe('authentication', () => {
    it('answers 401 with WWW-Authenticate when the key is missing', async () => {
      const response = await call('/v1/context');
      const body = await expectError(response, 401, 'unauthenticated');
      expect(response.headers.get('www-authenticate')).toBe('Bearer');
      expect(body.error.details).toEqual({});
    });

    it('gives forged and malformed keys the very same answer, without echoing them', async () => {
      const attempts = [
        { authorization: 'Bearer lk_forged-key-0123456789abcdefghijklmnopqrstu' },
        { authorization: `Basic ${Buffer.from(`user:${WRITER_KEY}`).toString('base64')}` },
        { authorization: 'Bearer' },
        { authorization: `Bearer ${WRITER_KEY} extra` },
        { authorization: `Bearer ${WRITER_KEY}x` },
        { authorization: `Token ${WRITER_KEY}` },
        { authorization: `Bearer ${'a'.repeat(5000)}` },
      ];
      const answers = [];
      for (const headers of attempts) {
        const response = await call('/v1/context', { headers });
        const text = await response.clone().text();
        expect(text).not.toContain(WRITER_KEY);
        expect(text).not.toContain('forged');
        const body = await expectError(response, 401, 'unauthenticated');
        expect(response.headers.get('www-authenticate')).toBe('Bearer');
        answers.push(body.error);
      }
      expect(new Set(answers.map((answer) => JSON.stringify(answer))).size).toBe(1);
    });

    it('accepts a valid key, case-insensitive scheme included', async () => {
      const response = await call('/v1/context', { headers: { authorization: `bearer ${READER_KEY}` } });
      expect(response.status).toBe(200);
      const context = (await response.json()) as RequestContext;
      expect(context.principal).toEqual({ keyId: 'reader', scopes: ['ledger:read'] });
    });

    it('answers 403 insufficient_scope with the required scopes', async () => {
      const response = await postJson('/v1/withdrawals', validWithdrawal, READER_KEY);
      const body = await expectError(response, 403, 'insufficient_scope');
      expect(body.error.details).toEqual({ required: ['ledger:write'] });
      expect(response.headers.get('www-authenticate')).toBe('Bearer error="insufficient_scope", scope="ledger:write"');
    });

    it('adds up controller and method scopes: ops needs ledger:read and ops', async () => {
      const response = await call('/v1/ops/freeze', { method: 'POST', key: WRITER_KEY });
      const body = await expectError(response, 403, 'insufficient_scope');
      expect(body.error.details).toEqual({ required: ['ops', 'ledger:read'] });
    });

    it('refuses a route that declares no scopes, even to a key holding them all', async () => {
      const response = await call('/v1/forgotten', { key: WRITER_KEY });
      const body = await expectError(response, 403, 'forbidden');
      expect(JSON.stringify(body)).not.toContain('never be answered');
    });

    it('still asks for a key on an undeclared route, so it does not reveal itself', async () => {
      await expectError(await call('/v1/forgotten'), 401, 'unauthenticated');
    });

    it('lets anyone reach @Public routes', async () => {
      const response = await call('/health/live');
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({ status: 'ok' });
    });
  });

  describe('request bodies', () => {
    it('passes a valid body as a DTO instance, with the raw bytes kept', async () => {
      const raw = JSON.stringify(validWithdrawal);
      const response = await postJson('/v1/withdrawals', raw);
      expect(response.status).toBe(202);
      const body = (await response.json()) as { isDto: boolean; principal: string; rawBody: string; context: RequestContext };
      expect(body).toMatchObject({ isDto: true, principal: 'api-key:writer', rawBody: raw });
      // The body parser reads the socket in callbacks of its own; the context survives it.
      expect(body.context).toMatchObject({ requestId: response.headers.get('x-request-id'), principal: { keyId: 'writer' } });
    });

    it('answers malformed JSON with 400 malformed_json, without quoting the body', async () => {
      const response = await postJson('/v1/withdrawals', '{"accountId": "acc-1", secret-stuff');
      const body = await expectError(response, 400, 'malformed_json');
      expect(JSON.stringify(body)).not.toContain('secret-stuff');
    });

    it('rejects JSON that is not an object or array (strict parsing)', async () => {
      await expectError(await postJson('/v1/withdrawals', '"just a string"'), 400, 'malformed_json');
    });

    it('answers a body over the limit with 413 payload_too_large', async () => {
      const response = await postJson('/v1/withdrawals', { ...validWithdrawal, padding: 'x'.repeat(4096) });
      const body = await expectError(response, 413, 'payload_too_large');
      expect(body.error.details).toEqual({ limitBytes: 2048 });
    });

    it('answers a body that is not JSON with 415 unsupported_media_type', async () => {
      const response = await call('/v1/withdrawals', {
        method: 'POST',
        key: WRITER_KEY,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'accountId=acc-1&amount=1050',
      });
      await expectError(response, 415, 'unsupported_media_type');
    });

    it('answers validation failures with every field, nested paths included', async () => {
      const response = await postJson('/v1/withdrawals', {
        accountId: '',
        amount: 10.5,
        currency: 'EUR',
        destination: { type: 'bank_account', accountNumber: '', bankCode: 7, holderName: 'Ada' },
      });
      const body = await expectError(response, 400, 'validation_failed');
      const fields = body.error.details.fields as Array<{ field: string; rule: string; message: string }>;
      expect(fields).toEqual(
        expect.arrayContaining([
          { field: 'accountId', rule: 'isNotEmpty', message: 'accountId should not be empty' },
          expect.objectContaining({ field: 'amount', rule: 'matches' }),
          expect.objectContaining({ field: 'destination.accountNumber', rule: 'isNotEmpty' }),
          expect.objectContaining({ field: 'destination.bankCode', rule: 'isString' }),
        ]),
      );
      expect(fields.every((f) => typeof f.message === 'string' && f.message.length > 0)).toBe(true);
    });

    it('answers unknown fields, at any depth, with 400 unknown_field', async () => {
      const response = await postJson('/v1/withdrawals', {
        ...validWithdrawal,
        chanel: 'sepa',
        destination: { ...validWithdrawal.destination, iban: 'x' },
      });
      const body = await expectError(response, 400, 'validation_failed');
      expect(body.error.details.fields).toEqual(
        expect.arrayContaining([
          { field: 'chanel', rule: 'unknown_field', message: 'property chanel should not exist' },
          { field: 'destination.iban', rule: 'unknown_field', message: 'property iban should not exist' },
        ]),
      );
    });

    it('treats a missing body as an empty one: every required field is reported', async () => {
      const response = await call('/v1/withdrawals', { method: 'POST', key: WRITER_KEY });
      const body = await expectError(response, 400, 'validation_failed');
      const fields = (body.error.details.fields as Array<{ field: string }>).map((f) => f.field);
      expect(fields).toEqual(expect.arrayContaining(['accountId', 'amount', 'currency', 'destination']));
    });
  });

  describe('errors', () => {
    it('answers an unexpected error with a generic 500 and logs its stack', async () => {
      const response = await call('/v1/boom', { key: READER_KEY });
      const text = await response.clone().text();
      expect(text).not.toContain('hunter2');
      expect(text).not.toContain('postgres');
      const body = await expectError(response, 500, 'internal_error');
      expect(body.error.details).toEqual({});
      const logged = running.logs.find((line) => line.context === 'ApiExceptionFilter' && String(line.msg).includes(body.requestId));
      expect(logged).toMatchObject({ level: 50 });
      expect((logged!.err as { stack: string }).stack).toContain('hunter2');
    });

    it('maps domain rejections through the configured mappers', async () => {
      const body = await expectError(await call('/v1/rejected', { key: READER_KEY }), 422, 'insufficient_funds');
      expect(body.error).toEqual({ code: 'insufficient_funds', message: 'The account has too little available.', details: { available: '1050' } });
    });

    it('maps Nest HTTP exceptions to stable codes and keeps their message', async () => {
      const body = await expectError(await call('/v1/conflict', { key: READER_KEY }), 409, 'conflict');
      expect(body.error.message).toBe('The withdrawal is already settled.');
    });

    it('answers a ThrottlerException as 429 rate_limited, keeping its Retry-After', async () => {
      const response = await call('/v1/throttled', { key: READER_KEY });
      await expectError(response, 429, 'rate_limited');
      expect(response.headers.get('retry-after')).toBe('7');
    });

    it('keeps an application 404 apart from an unknown route', async () => {
      const body = await expectError(await call('/v1/withdrawals/missing', { key: READER_KEY }), 404, 'not_found');
      expect(body.error.message).toBe('No withdrawal missing.');
    });

    it('answers an unknown route with 404 route_not_found, without the query string', async () => {
      const response = await call('/v1/nowhere?api_key=lk_secret', { key: READER_KEY });
      const body = await expectError(response, 404, 'route_not_found');
      expect(body.error.message).toBe('No route for GET /v1/nowhere.');
    });
  });

  describe('request context', () => {
    it('gives every request a fresh id, ignoring one sent by the client', async () => {
      const first = await call('/health/live', { headers: { 'x-request-id': 'chosen-by-client' } });
      const second = await call('/health/live');
      expect(first.headers.get('x-request-id')).toMatch(UUID);
      expect(second.headers.get('x-request-id')).toMatch(UUID);
      expect(first.headers.get('x-request-id')).not.toBe(second.headers.get('x-request-id'));
    });

    it('propagates a sane correlation id and traceparent into the handler', async () => {
      const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
      const response = await call('/v1/context', { key: READER_KEY, headers: { 'x-correlation-id': 'batch-42:item-7', traceparent } });
      const context = (await response.json()) as RequestContext;
      expect(context).toEqual({
        requestId: response.headers.get('x-request-id'),
        correlationId: 'batch-42:item-7',
        traceparent,
        principal: { keyId: 'reader', scopes: ['ledger:read'] },
      });
      expect(response.headers.get('x-correlation-id')).toBe('batch-42:item-7');
    });

    it('falls back to the request id and a new trace for insane or invalid headers', async () => {
      const response = await call('/v1/context', {
        key: READER_KEY,
        headers: { 'x-correlation-id': 'has spaces; and more', traceparent: '00-00000000000000000000000000000000-00f067aa0ba902b7-01' },
      });
      const context = (await response.json()) as RequestContext;
      expect(context.correlationId).toBe(context.requestId);
      expect(context.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
      expect(context.traceparent).not.toContain('00000000000000000000000000000000');
    });

    it('has no context outside a request', () => {
      expect(currentRequestContext()).toBeUndefined();
    });
  });

  describe('logs', () => {
    it('writes one request line with the ids and the principal, key redacted, account number masked', async () => {
      const response = await postJson('/v1/withdrawals', validWithdrawal, WRITER_KEY, { 'x-correlation-id': 'corr-logs-1', 'idempotency-key': 'idem-1' });
      expect(response.status).toBe(202);
      const requestId = response.headers.get('x-request-id');
      await new Promise((resolve) => setTimeout(resolve, 20));

      const mine = running.logs.filter((line) => line.requestId === requestId);
      const requestLines = mine.filter((line) => line.msg === 'request completed');
      expect(requestLines).toHaveLength(1);
      expect(requestLines[0]).toMatchObject({
        level: 30,
        requestId,
        correlationId: 'corr-logs-1',
        traceparent: expect.stringMatching(/^00-/),
        principal: 'api-key:writer',
        req: { method: 'POST', url: '/v1/withdrawals', headers: { authorization: '[redacted]', 'idempotency-key': 'idem-1' } },
        res: { statusCode: 202 },
      });

      const appLine = mine.find((line) => line.msg === 'withdrawal requested');
      expect(appLine).toMatchObject({ destination: { accountNumber: '****3000', bankCode: 'COBADEFFXXX' } });

      const everything = JSON.stringify(running.logs);
      expect(everything).not.toContain(WRITER_KEY);
      expect(everything).not.toContain(READER_KEY);
      expect(everything).not.toContain('DE89370400440532013000');
    });

    it('logs requests the body parser refuses, at warn', async () => {
      const response = await postJson('/v1/withdrawals', '{nope');
      const requestId = response.headers.get('x-request-id');
      await new Promise((resolve) => setTimeout(resolve, 20));
      const line = running.logs.find((l) => l.requestId === requestId && l.msg === 'request completed');
      expect(line).toMatchObject({ level: 40, res: { statusCode: 400 } });
    });
  });

  describe('OpenAPI', () => {
    it('serves the document publicly, with bearer auth and scopes per operation', async () => {
      const response = await call('/docs-json');
      expect(response.status).toBe(200);
      const document = (await response.json()) as {
        components: { securitySchemes: Record<string, unknown>; schemas: Record<string, unknown> };
        paths: Record<string, Record<string, { security?: unknown; 'x-required-scopes'?: string[] }>>;
      };
      expect(document.components.securitySchemes['api-key']).toMatchObject({ type: 'http', scheme: 'bearer' });
      expect(document.paths['/v1/withdrawals']!.post).toMatchObject({ security: [{ 'api-key': [] }], 'x-required-scopes': ['ledger:write'] });
      expect(document.paths['/v1/ops/freeze']!.post!['x-required-scopes']!.sort()).toEqual(['ledger:read', 'ops']);
      expect(document.paths['/health/live']!.get!.security).toBeUndefined();
      expect(document.components.schemas).toHaveProperty('RequestWithdrawalDto');
      expect(document.components.schemas).toHaveProperty('ApiErrorResponse');
      expect((await call('/docs')).status).toBe(200);
    });
  });
});

describe('configureHttpApp, misused', () => {
  it('says what is missing when PlatformHttpModule is not imported', async () => {
    // Without abortOnError: false, Nest turns the failed lookup into process.exit(1).
    const app = await NestFactory.create({ module: TestAppModule }, { logger: false, abortOnError: false });
    try {
      expect(() => configureHttpApp(app)).toThrow('needs PlatformHttpModule.forRoot');
    } finally {
      await app.close();
    }
  });

  it('refuses to run after init, when its middleware would come too late', async () => {
    const app = await NestFactory.create(
      { module: TestAppModule, imports: [PlatformHttpModule.forRoot({ apiKeys, rateLimit: { perSecond: 1, burst: 1 }, logLevel: 'silent' })] },
      { logger: false, abortOnError: false },
    );
    try {
      await app.init();
      expect(() => configureHttpApp(app)).toThrow('must run before app.init()');
    } finally {
      await app.close();
    }
  });
});

describe('rate limiting over real HTTP', () => {
  let running: Running;
  beforeAll(async () => {
    running = await start({ perSecond: 0.5, burst: 2 });
  });
  afterAll(async () => {
    await running.app.close();
  });

  const get = (path: string, key?: string) =>
    fetch(`${running.url}${path}`, { headers: key ? { authorization: `Bearer ${key}` } : {} });

  it('answers 429 rate_limited with Retry-After once a key has used its burst, per key', async () => {
    expect((await get('/v1/context', READER_KEY)).status).toBe(200);
    expect((await get('/v1/context', READER_KEY)).status).toBe(200);
    const limited = await get('/v1/context', READER_KEY);
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('2');
    const body = (await limited.json()) as ErrorBody;
    expect(body.error).toEqual({
      code: 'rate_limited',
      message: 'Too many requests; retry after the time in the Retry-After header.',
      details: { retryAfterSeconds: 2 },
    });
    // Another key has its own bucket.
    expect((await get('/v1/context', WRITER_KEY)).status).toBe(200);
  });

  it('limits failed authentication per client address, and never public routes', async () => {
    expect((await get('/v1/context', 'lk_wrong-1')).status).toBe(401);
    expect((await get('/v1/context', 'lk_wrong-2')).status).toBe(401);
    const limited = await get('/v1/context', 'lk_wrong-3');
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    for (let i = 0; i < 5; i++) expect((await get('/health/live')).status).toBe(200);
  });
});
