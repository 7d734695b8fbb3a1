import type { IncomingMessage, ServerResponse } from 'node:http';
import type { INestApplication } from '@nestjs/common';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { Logger as PinoNestLogger } from 'nestjs-pino';
import { ApiError } from './api-error';
import { API_KEY_SECURITY } from './auth';
import { bodyParserError } from './exception-filter';
import { HTTP_LOGGER, type RequestLogger } from './logging';
import { requestContextMiddleware } from './request-context';
import { createValidationPipe } from './validation';

export interface HttpAppOptions {
  /** Largest accepted request body; 64 KiB by default, ample for any command of ours. */
  bodyLimitBytes?: number;
  /** Serves OpenAPI at /docs (UI) and /docs-json when given. */
  swagger?: { title: string; version: string; description?: string };
  /** Express `trust proxy`: set it behind a load balancer so client addresses are real. */
  trustProxy?: boolean | number | string;
  /** `app.enableShutdownHooks()`; turn off when `main` handles signals itself. Default true. */
  shutdownHooks?: boolean;
}

type Next = (error?: unknown) => void;
type RawRequest = IncomingMessage & { rawBody?: Buffer };

export const DEFAULT_BODY_LIMIT_BYTES = 64 * 1024;

/**
 * Applies the HTTP platform to an Express-based Nest app. Call it after `NestFactory.create`
 * and before `listen`/`init`, with `PlatformHttpModule` imported in the app module.
 *
 * The Express stack it builds, in order:
 * 1. request context and the request log (so even a body-parser failure has a request id
 *    and a log line);
 * 2. a gate that answers 415 to any body that is not JSON;
 * 3. the JSON body parser with the size limit, keeping the raw bytes as `req.rawBody`
 *    for webhook signature checks;
 * 4. a converter of body-parser errors into our ApiErrors (Nest would otherwise turn a
 *    syntax error into a plain 400 and lose which error it was);
 * 5. the request context again, because the parser's stream callbacks left it.
 */
export function configureHttpApp(app: INestApplication, options: HttpAppOptions = {}): void {
  const express = app as NestExpressApplication;
  const limit = options.bodyLimitBytes ?? DEFAULT_BODY_LIMIT_BYTES;
  if (!Number.isInteger(limit) || limit < 1) throw new Error(`bodyLimitBytes must be a positive whole number, got ${limit}`);
  if (express.getHttpAdapter().getType() !== 'express') throw new Error('configureHttpApp supports the Express platform only');

  // After init, Nest's routes and its default 100 KB parser are already in the stack, ahead
  // of anything added now: the limit, the 415 gate and the error mapping would never run.
  if (hasJsonParser(express)) throw new Error('configureHttpApp must run before app.init() or app.listen(), and only once');

  let httpLogger: RequestLogger;
  try {
    httpLogger = express.get<symbol, RequestLogger>(HTTP_LOGGER);
  } catch {
    throw new Error('configureHttpApp needs PlatformHttpModule.forRoot(...) imported in the app module');
  }
  express.useLogger(express.get(PinoNestLogger));
  express.disable('x-powered-by');
  // ETags would hash every JSON answer (SHA-1) for conditional GETs no client of ours makes.
  express.set('etag', false);
  if (options.trustProxy !== undefined) express.set('trust proxy', options.trustProxy);

  express.use(requestContextMiddleware);
  express.use(httpLogger);
  express.use(requireJsonBody);
  // Nest types `verify` away because its `rawBody: true` option installs one that does the
  // same as ours; passing ours keeps `req.rawBody` whether or not the app set that option.
  // Registering a parser here also stops Nest from adding its default one (100 KB limit).
  express.useBodyParser('json', {
    limit,
    strict: true,
    type: isJson,
    verify: keepRawBody,
  } as Parameters<NestExpressApplication['useBodyParser']>[1]);
  express.use((error: unknown, _req: IncomingMessage, _res: ServerResponse, next: Next) => next(bodyParserError(error) ?? error));
  express.use(requestContextMiddleware);

  express.useGlobalPipes(createValidationPipe());

  if (options.swagger) {
    const config = new DocumentBuilder()
      .setTitle(options.swagger.title)
      .setVersion(options.swagger.version)
      .setDescription(options.swagger.description ?? '')
      .addBearerAuth({ type: 'http', scheme: 'bearer', description: 'An API key: `Authorization: Bearer lk_…`' }, API_KEY_SECURITY)
      .build();
    SwaggerModule.setup('docs', express, () => SwaggerModule.createDocument(express, config), { jsonDocumentUrl: 'docs-json' });
  }

  if (options.shutdownHooks ?? true) express.enableShutdownHooks();
}

/** The check Nest itself makes before adding its default parser: a layer named jsonParser. */
function hasJsonParser(app: NestExpressApplication): boolean {
  const instance = app.getHttpAdapter().getInstance() as { router?: { stack?: Array<{ handle?: { name?: string } }> } };
  return instance.router?.stack?.some((layer) => layer.handle?.name === 'jsonParser') ?? false;
}

function keepRawBody(req: RawRequest, _res: ServerResponse, buffer: Buffer): void {
  req.rawBody = buffer;
}

// `application/json` and structured-syntax types such as `application/merge-patch+json`.
const JSON_MEDIA_TYPE = /^application\/(?:[a-z0-9!#$&^_.-]+\+)?json$/;

function isJson(req: IncomingMessage): boolean {
  const contentType = req.headers['content-type'];
  return typeof contentType === 'string' && JSON_MEDIA_TYPE.test(contentType.split(';')[0]!.trim().toLowerCase());
}

function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

/**
 * The API speaks JSON only. Without this gate a form-encoded or text body would simply not
 * be parsed, and the client would get a confusing `validation_failed` for every field.
 */
function requireJsonBody(req: IncomingMessage, _res: ServerResponse, next: Next): void {
  if (hasBody(req) && !isJson(req)) {
    next(new ApiError(415, 'unsupported_media_type', 'The request body must be JSON (Content-Type: application/json).'));
    return;
  }
  next();
}
