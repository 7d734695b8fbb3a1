import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { PassThrough } from 'node:stream';
import { createGunzip, createInflate } from 'node:zlib';
import type { INestApplication } from '@nestjs/common';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { Logger as PinoNestLogger } from 'nestjs-pino';
import { ApiError } from './api-error';
import { API_KEY_SECURITY } from './auth';
import { DEFAULT_BODY_LIMIT_BYTES, hasBody, isJson, MAX_JSON_DEPTH, nestsDeeperThan } from './body';
import { bodyParserError } from './exception-filter';
import { HTTP_LOGGER, type RequestLogger } from './logging';
import { ensureRequestContext, requestContextMiddleware } from './request-context';
import { createValidationPipe, validationFailed } from './validation';

export interface HttpAppOptions {
  /** Largest accepted request body; 64 KiB by default, ample for any command of ours. */
  bodyLimitBytes?: number;
  /** Serves OpenAPI at /docs (UI) and /docs-json when given. */
  swagger?: { title: string; version: string; description?: string };
  /** Express `trust proxy`: set it behind a load balancer so client addresses are real. */
  trustProxy?: boolean | number | string;
  /** `app.enableShutdownHooks()`; turn off when `main` handles signals itself. Default true. */
  shutdownHooks?: boolean;
  /** Called once per answered request, e.g. to feed a duration histogram; timing starts before authentication. */
  observe?: (sample: HttpSample) => void;
  /**
   * Paths (prefixes) whose JSON bodies are kept as the exact bytes received, unparsed
   * (`request.body` is a Buffer): webhook routes that verify a signature over them
   * (ARCHITECTURE.md §9). A body that is not JSON at all still reaches the route, so the
   * signature decides (401) before the payload's shape (400). Other media types stay 415.
   */
  rawBodyPrefixes?: readonly string[];
}

type Next = (error?: unknown) => void;
type RawRequest = IncomingMessage & { rawBody?: Buffer };

export { DEFAULT_BODY_LIMIT_BYTES } from './body';

/** One answered request, for an app's duration histogram. */
export interface HttpSample {
  method: string;
  /** The matched route's pattern (`/v1/accounts/:id/balance`), or `unmatched`; never the raw path. */
  route: string;
  statusCode: number;
  durationSeconds: number;
}

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
  const limit = options.bodyLimitBytes ?? DEFAULT_BODY_LIMIT_BYTES;
  if (!Number.isInteger(limit) || limit < 1) throw new Error(`bodyLimitBytes must be a positive whole number, got ${limit}`);
  const platform = app.getHttpAdapter().getType();
  if (platform === 'fastify') configureFastify(app as NestFastifyApplication, options, limit);
  else if (platform === 'express') configureExpress(app as NestExpressApplication, options, limit);
  else throw new Error(`configureHttpApp supports Express and Fastify, not ${platform}`);

  app.useGlobalPipes(createValidationPipe());
  if (options.swagger) {
    const config = new DocumentBuilder()
      .setTitle(options.swagger.title)
      .setVersion(options.swagger.version)
      .setDescription(options.swagger.description ?? '')
      .addBearerAuth({ type: 'http', scheme: 'bearer', description: 'An API key.' }, API_KEY_SECURITY)
      .build();
    // The document is built on first request, after every route is registered.
    SwaggerModule.setup('docs', app, () => SwaggerModule.createDocument(app, config), { jsonDocumentUrl: 'docs-json' });
  }
  if (options.shutdownHooks ?? true) app.enableShutdownHooks();
}

function requestLoggerOf(app: INestApplication): RequestLogger {
  try {
    return app.get<symbol, RequestLogger>(HTTP_LOGGER);
  } catch {
    throw new Error('configureHttpApp needs PlatformHttpModule.forRoot(...) imported in the app module');
  }
}

/**
 * Fastify: the same request context, request log, JSON-only rule and body limit as the
 * Express stack below, as hooks and one content-type parser. Parser errors reach the
 * exception filter through Nest's error handler, so they answer in our format too. Create
 * the app with `bodyParser: false`, or Nest adds its own JSON parser over this one at init.
 */
function configureFastify(app: NestFastifyApplication, options: HttpAppOptions, limit: number): void {
  const requestLogger = requestLoggerOf(app);
  app.useLogger(app.get(PinoNestLogger));
  const fastify = app.getHttpAdapter().getInstance();
  // Node answers an Expect other than 100-continue itself, with a bare 417, unless someone
  // listens: answer in the error envelope (no route runs; the request is not processed).
  (app.getHttpServer() as Server).on('checkExpectation', (req: IncomingMessage, res: ServerResponse) => {
    const context = ensureRequestContext(req, res);
    res.writeHead(417, { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store' });
    res.end(
      JSON.stringify({
        error: { code: 'expectation_failed', message: 'Only "Expect: 100-continue" is supported.', details: {} },
        requestId: context.requestId,
      }),
    );
  });
  fastify.addHook('onRequest', (request, reply, done) => {
    requestLogger(request.raw, reply.raw, () => {
      if (hasBody(request.raw) && !isJson(request.raw)) {
        done(new ApiError(415, 'unsupported_media_type', 'The request body must be JSON (Content-Type: application/json).'));
        return;
      }
      // The rest of this request's life runs inside its context.
      requestContextMiddleware(request.raw, reply.raw, () => done());
    });
  });
  if (options.observe) {
    const observe = options.observe;
    fastify.addHook('onResponse', (request, reply, done) => {
      const pattern = request.routeOptions.url;
      observe({
        method: request.method,
        route: pattern === undefined || pattern.includes('*') ? 'unmatched' : pattern,
        statusCode: reply.statusCode,
        durationSeconds: reply.elapsedTime / 1_000,
      });
      done();
    });
  }
  // Express's body parser undoes gzip and deflate; so does this, before the limit is counted,
  // so a small compressed body cannot inflate past it. Other encodings are 415, as there.
  fastify.addHook('preParsing', (request, _reply, payload, done) => {
    const encoding = String(request.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
    if (encoding === 'identity') return done(null, payload);
    if (encoding !== 'gzip' && encoding !== 'deflate') {
      return done(new ApiError(415, 'unsupported_media_type', 'The request body must not use this Content-Encoding.'));
    }
    const inflated = new PassThrough() as PassThrough & { receivedEncodedLength?: number };
    // Fastify checks Content-Length against the bytes that arrived, not the inflated ones.
    inflated.receivedEncodedLength = 0;
    payload.on('data', (chunk: Buffer) => (inflated.receivedEncodedLength! += chunk.length));
    const inflate = encoding === 'gzip' ? createGunzip() : createInflate();
    // Not `pipeline`: it would hand zlib's own error (a 500) to Fastify; ours is the 400.
    inflate.on('error', () => inflated.destroy(new ApiError(400, 'malformed_body', 'The request body could not be decompressed.')));
    payload.on('error', (error) => inflated.destroy(error));
    // A route that never reads its body (every GET) leaves the stream without a reader, and
    // an 'error' event nobody listens to is an uncaught exception: one request with a broken
    // gzip body would end the process. Fastify adds its own listener when it reads the body,
    // so this one only ever catches errors of bodies nobody wanted.
    inflated.on('error', () => undefined);
    payload.pipe(inflate).pipe(inflated);
    return done(null, inflated);
  });
  const rawBodyPrefixes = options.rawBodyPrefixes ?? [];
  fastify.removeAllContentTypeParsers();
  fastify.addContentTypeParser(JSON_MEDIA_TYPE_PATTERN, { parseAs: 'buffer', bodyLimit: limit }, (request, body, done) => {
    const raw = body as Buffer;
    (request.raw as RawRequest).rawBody = raw;
    (request as unknown as { rawBody?: Buffer }).rawBody = raw;
    if (rawBodyPrefixes.some((prefix) => request.url.startsWith(prefix))) {
      done(null, raw);
      return;
    }
    try {
      const parsed: unknown = JSON.parse(raw.toString('utf8'));
      // Express's strict mode: a JSON body is an object or an array, never a bare value.
      if (typeof parsed !== 'object' || parsed === null) throw new SyntaxError('not an object or array');
      if (nestsDeeperThan(parsed)) {
        done(tooDeep(), undefined);
        return;
      }
      done(null, parsed);
    } catch {
      done(new ApiError(400, 'malformed_json', 'The request body is not valid JSON.'), undefined);
    }
  });
}

/** A body nested past MAX_JSON_DEPTH, refused before validation walks it (see MAX_JSON_DEPTH). */
function tooDeep(): ApiError {
  return validationFailed([{ field: '', rule: 'max_depth', message: `the body must not nest objects or arrays more than ${MAX_JSON_DEPTH} levels deep` }]);
}

/** Structured-syntax JSON types too; Fastify matches content types against this. */
const JSON_MEDIA_TYPE_PATTERN = /^application\/(?:[a-z0-9!#$&^_.-]+\+)?json(?:\s*;.*)?$/i;

function configureExpress(express: NestExpressApplication, options: HttpAppOptions, limit: number): void {

  // After init, Nest's routes and its default 100 KB parser are already in the stack, ahead
  // of anything added now: the limit, the 415 gate and the error mapping would never run.
  if (hasJsonParser(express)) throw new Error('configureHttpApp must run before app.init() or app.listen(), and only once');

  const httpLogger = requestLoggerOf(express);
  express.useLogger(express.get(PinoNestLogger));
  express.disable('x-powered-by');
  // ETags would hash every JSON answer (SHA-1) for conditional GETs no client of ours makes.
  express.set('etag', false);
  if (options.trustProxy !== undefined) express.set('trust proxy', options.trustProxy);

  express.use(requestContextMiddleware);
  express.use(httpLogger);
  express.use(requireJsonBody);
  const rawBodyPrefixes = options.rawBodyPrefixes ?? [];
  if (rawBodyPrefixes.length > 0) {
    // Before the JSON parser: Express skips every later parser for a body already read.
    express.useBodyParser('raw', {
      limit,
      type: (req: IncomingMessage) => isJson(req) && rawBodyPrefixes.some((prefix) => req.url?.startsWith(prefix) ?? false),
    });
  }
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
  express.use((req: IncomingMessage & { body?: unknown }, _res: ServerResponse, next: Next) => next(nestsDeeperThan(req.body) ? tooDeep() : undefined));
  express.use(requestContextMiddleware);

  if (options.observe) {
    const observe = options.observe;
    // First in the stack after the context, so the duration covers authentication and rate limiting too.
    express.use((req: IncomingMessage, res: ServerResponse, next: Next) => {
      const startedMs = performance.now();
      res.once('finish', () => {
        const matched = req as IncomingMessage & { route?: { path?: unknown }; baseUrl?: string };
        const path = typeof matched.route?.path === 'string' ? `${matched.baseUrl ?? ''}${matched.route.path}` : undefined;
        // Nest mounts middleware as an Express route on `/{*path}`; a request that reached no
        // controller route keeps that as its route, and no route of ours is a wildcard.
        observe({
          method: req.method ?? 'GET',
          route: path === undefined || path.includes('{*') ? 'unmatched' : path,
          statusCode: res.statusCode,
          durationSeconds: (performance.now() - startedMs) / 1_000,
        });
      });
      next();
    });
  }
}

/** The check Nest itself makes before adding its default parser: a layer named jsonParser. */
function hasJsonParser(app: NestExpressApplication): boolean {
  const instance = app.getHttpAdapter().getInstance() as { router?: { stack?: Array<{ handle?: { name?: string } }> } };
  return instance.router?.stack?.some((layer) => layer.handle?.name === 'jsonParser') ?? false;
}

function keepRawBody(req: RawRequest, _res: ServerResponse, buffer: Buffer): void {
  req.rawBody = buffer;
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
