
/**
 * Every callback route starts with this. `configureHttpApp` keeps JSON bodies on these paths
 * as the exact bytes received (`rawBodyPrefixes`), so the platform's JSON parser never
 * touches a callback (ARCHITECTURE.md §9: a body parsed and re-serialised is no longer the
 * signed byte string). A callback whose body is not JSON at all reaches the signature check,
 * so an unsigned one is a 401 and not a 400, and a signed one is a 400 `malformed_callback`
 * from the payload parser. Other media types are the platform's 415, unread.
 */
export const CALLBACK_PATH_PREFIX = '/v1/callbacks/';

/** The raw bytes of a callback request; an empty body (none sent) is zero bytes. */
export function rawBodyOf(req: { body?: unknown }): Buffer {
  return Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
}
