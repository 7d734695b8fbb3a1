import type { IncomingMessage } from 'node:http';
import type { INestApplication } from '@nestjs/common';
import type { NestExpressApplication } from '@nestjs/platform-express';

/** Every callback route starts with this; the raw-body parser is mounted for these paths only. */
export const CALLBACK_PATH_PREFIX = '/v1/callbacks/';

/**
 * Keeps callback bodies as the exact bytes received (`req.body` is a Buffer), for these
 * routes only. Call it BEFORE `configureHttpApp`: Express runs parsers in the order they
 * were added, and a body already read is skipped by every later parser, so the platform's
 * JSON parser never touches a callback (ARCHITECTURE.md §9: a body parsed and re-serialised
 * is no longer the signed byte string). It also means a callback whose body is not JSON at
 * all reaches the signature check, so an unsigned one is a 401 and not a 400, and a signed
 * one is a 400 `malformed_callback` from the payload parser, not the platform's
 * `malformed_json`. The size limit is the app's (`bodyLimitBytes`), checked while reading.
 */
export function useCallbackRawBody(app: INestApplication, limitBytes: number): void {
  (app as NestExpressApplication).useBodyParser('raw', { type: isCallbackRequest, limit: limitBytes });
}

// The platform's rule for a JSON body: `application/json` or a `+json` structured type.
const JSON_MEDIA_TYPE = /^application\/(?:[a-z0-9!#$&^_.-]+\+)?json$/;

/**
 * A callback route with a JSON body. Any other content type is left unread, for the
 * platform's gate to answer 415 without reading a byte of it.
 */
function isCallbackRequest(req: IncomingMessage): boolean {
  if (!(req.url?.startsWith(CALLBACK_PATH_PREFIX) ?? false)) return false;
  const contentType = req.headers['content-type'];
  return typeof contentType === 'string' && JSON_MEDIA_TYPE.test(contentType.split(';')[0]!.trim().toLowerCase());
}

/** The raw bytes of a callback request; an empty body (none sent) is zero bytes. */
export function rawBodyOf(req: IncomingMessage & { body?: unknown }): Buffer {
  return Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
}
