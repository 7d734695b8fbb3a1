import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  Body,
  Controller,
  Get,
  Headers,
  HttpCode,
  Inject,
  Module,
  Param,
  Post,
  Put,
  Query,
  Res,
  type DynamicModule,
  type INestApplication,
} from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { Response } from 'express';
import { isIsoDate } from '@ledger/domain';
import {
  ApiError,
  configureHttpApp,
  hashApiKey,
  PlatformHttpModule,
  Public,
  RequireScopes,
  type LoggerOptions,
} from '@ledger/platform';
import { parseIdempotencyKey, parsePayoutRequest, payoutView } from './payout-request';
import { BehaviourError, resolveSandboxConfig, type SandboxBehaviour, type SandboxProviderOptions } from './sandbox-config';
import { SandboxProvider, type SandboxLedger } from './sandbox-provider';

const SANDBOX_PROVIDER = Symbol('sandbox.provider');

/**
 * The provider's payout API. The merchant's API key is checked by the platform's guard; the
 * one key the sandbox accepts is given the `ledger:write` scope only because that is how the
 * platform names "may create things", not because the provider knows about the ledger.
 */
@RequireScopes('ledger:write')
@Controller('payouts')
class PayoutsController {
  constructor(@Inject(SANDBOX_PROVIDER) private readonly provider: SandboxProvider) {}

  @Post()
  @HttpCode(201)
  async create(
    @Headers('idempotency-key') idempotencyKey: string | undefined,
    @Body() body: unknown,
    @Res({ passthrough: true }) res: Response,
  ): Promise<Record<string, unknown>> {
    const key = parseIdempotencyKey(idempotencyKey);
    const { payout, created, hangMs } = this.provider.submit(key, parsePayoutRequest(body));
    if (!created) {
      res.status(200);
      res.setHeader('Idempotent-Replayed', 'true');
    }
    // The `timeoutRate` knob: the payout exists, but the answer comes too late for the client.
    if (hangMs > 0) await this.provider.hang(hangMs);
    return payoutView(payout);
  }

  @Get(':key')
  get(@Param('key') key: string): Record<string, unknown> {
    const payout = this.provider.payout(key);
    if (!payout) throw new ApiError(404, 'payout_not_found', 'No payout has this idempotency key.');
    return payoutView(payout);
  }
}

/**
 * Test and operator controls. Open without a key: the sandbox is a local test double bound to
 * 127.0.0.1 by default, and these routes are what tests drive it with.
 */
@Public()
@Controller('admin')
class AdminController {
  constructor(@Inject(SANDBOX_PROVIDER) private readonly provider: SandboxProvider) {}

  @Get('behaviour')
  behaviour(): SandboxBehaviour {
    return this.provider.behaviour;
  }

  @Put('behaviour')
  setBehaviour(@Body() body: unknown): SandboxBehaviour {
    try {
      return this.provider.setBehaviour(body ?? {});
    } catch (error) {
      if (error instanceof BehaviourError) throw new ApiError(400, 'invalid_behaviour', error.message);
      throw error;
    }
  }

  @Get('ledger')
  ledger(): SandboxLedger {
    return this.provider.ledger();
  }

  /** `?all=true` also runs what is scheduled for later (settlement delays, late deliveries, retry backoffs). */
  @Post('flush')
  @HttpCode(200)
  flush(@Query('all') all: string | undefined): Promise<{ ran: number; remaining: number }> {
    return this.provider.flush({ all: all === 'true' || all === '1' });
  }

  @Get('statements/:file')
  statement(@Param('file') file: string, @Res({ passthrough: true }) res: Response): string {
    const date = file.endsWith('.csv') ? file.slice(0, -'.csv'.length) : '';
    if (!isIsoDate(date)) throw new ApiError(404, 'statement_not_found', 'Statements are at /admin/statements/YYYY-MM-DD.csv.');
    res.setHeader('Content-Type', 'text/csv; charset=utf-8');
    res.setHeader('Content-Disposition', `attachment; filename="statement-${date}.csv"`);
    return this.provider.statement(date);
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
class SandboxProviderModule {
  static create(provider: SandboxProvider, logDestination: LoggerOptions['destination'] | undefined): DynamicModule {
    return {
      module: SandboxProviderModule,
      imports: [
        PlatformHttpModule.forRoot({
          apiKeys: [{ id: 'merchant', hash: hashApiKey(provider.config.apiKey), scopes: ['ledger:write'] }],
          // The sandbox is driven by load tests too: it should never be the one that says 429.
          rateLimit: { perSecond: 1_000_000, burst: 1_000_000 },
          logLevel: provider.config.logLevel,
          logDestination,
        }),
      ],
      controllers: [PayoutsController, AdminController, HealthController],
      providers: [{ provide: SANDBOX_PROVIDER, useValue: provider }],
    };
  }
}

/**
 * Counts API requests and, while the `unavailable` knob is on, answers them 503. It runs first
 * in the stack, so a request is counted even when authentication or the body refuse it:
 * tests use the counts to prove that an open circuit sent nothing.
 */
function apiGate(provider: SandboxProvider) {
  return (req: IncomingMessage, res: ServerResponse, next: (error?: unknown) => void): void => {
    const path = (req.url ?? '/').split('?')[0]!;
    if (path.startsWith('/admin') || path.startsWith('/health')) {
      next();
      return;
    }
    const route =
      req.method === 'POST' && path === '/payouts' ? 'POST /payouts' : req.method === 'GET' && /^\/payouts\/[^/]+$/.test(path) ? 'GET /payouts/:key' : 'other';
    provider.countRequest(route);
    if (provider.behaviour.unavailable) {
      res.statusCode = 503;
      res.setHeader('Content-Type', 'application/json; charset=utf-8');
      res.setHeader('Retry-After', '1');
      res.end(JSON.stringify({ error: { code: 'service_unavailable', message: 'The provider is unavailable (sandbox knob).', details: {} } }));
      return;
    }
    next();
  };
}

export interface CreateSandboxProviderOptions extends SandboxProviderOptions {
  /** Where request logs go; stdout by default. */
  logDestination?: LoggerOptions['destination'];
}

/** The sandbox provider as an HTTP application ready for `listen`, and the provider behind it. */
export async function createSandboxProvider(
  options: CreateSandboxProviderOptions,
): Promise<{ app: INestApplication; provider: SandboxProvider }> {
  const { logDestination, ...rest } = options;
  const provider = new SandboxProvider(resolveSandboxConfig(rest));
  const app = await NestFactory.create(SandboxProviderModule.create(provider, logDestination), {
    bodyParser: false,
    bufferLogs: true,
    // A hung answer (the timeoutRate knob) must not keep close() waiting for its connection.
    forceCloseConnections: true,
  });
  app.use(apiGate(provider));
  configureHttpApp(app, { shutdownHooks: false });
  return { app, provider };
}

/** A started sandbox provider. */
export interface RunningSandboxProvider {
  /** `http://127.0.0.1:<port>`, the channel's baseUrl. */
  readonly url: string;
  readonly port: number;
  readonly seed: number;
  readonly provider: SandboxProvider;
  readonly app: INestApplication;
  ledger(): SandboxLedger;
  setBehaviour(patch: Partial<SandboxBehaviour>): SandboxBehaviour;
  flush(options?: { all?: boolean }): Promise<{ ran: number; remaining: number }>;
  statement(date: string): string;
  /** Stops deliveries, answers hung requests and closes the server. */
  close(): Promise<void>;
}

/** Creates and starts the sandbox provider in this process: for tests and the all-in-one entry point. */
export async function startSandboxProvider(
  options: CreateSandboxProviderOptions & { port?: number; host?: string },
): Promise<RunningSandboxProvider> {
  const { port = 0, host = '127.0.0.1', ...rest } = options;
  const { app, provider } = await createSandboxProvider({ logLevel: 'warn', ...rest });
  await app.listen(port, host);
  const address = app.getHttpServer().address() as { port: number };
  let closed: Promise<void> | undefined;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${address.port}`,
    port: address.port,
    seed: provider.seed,
    provider,
    app,
    ledger: () => provider.ledger(),
    setBehaviour: (patch) => provider.setBehaviour(patch),
    flush: (flushOptions) => provider.flush(flushOptions),
    statement: (date) => provider.statement(date),
    close: () => {
      closed ??= (async () => {
        await provider.close();
        await app.close();
      })();
      return closed;
    },
  };
}
