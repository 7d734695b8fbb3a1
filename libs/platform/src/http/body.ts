import type { IncomingMessage } from 'node:http';

export const DEFAULT_BODY_LIMIT_BYTES = 64 * 1024;

// `application/json` and structured-syntax types such as `application/merge-patch+json`.
export const JSON_MEDIA_TYPE = /^application\/(?:[a-z0-9!#$&^_.-]+\+)?json$/;

export function isJson(req: IncomingMessage): boolean {
  const contentType = req.headers['content-type'];
  return typeof contentType === 'string' && JSON_MEDIA_TYPE.test(contentType.split(';')[0]!.trim().toLowerCase());
}

export function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

/**
 * How deep a JSON body may nest. No request of ours goes past two levels (a withdrawal's
 * destination); the bound is there because validation (class-transformer) and the
 * idempotency fingerprint walk bodies recursively, and a 64 KiB body of brackets nests
 * deep enough to overflow the stack: a 500 instead of a 400.
 */
export const MAX_JSON_DEPTH = 32;

/** Whether `value` nests objects or arrays more than `max` levels deep; iterative, so the check cannot overflow itself. */
export function nestsDeeperThan(value: unknown, max = MAX_JSON_DEPTH): boolean {
  const pending: Array<{ item: unknown; depth: number }> = [{ item: value, depth: 1 }];
  while (pending.length > 0) {
    const { item, depth } = pending.pop()!;
    if (typeof item !== 'object' || item === null || Buffer.isBuffer(item)) continue;
    if (depth > max) return true;
    for (const child of Array.isArray(item) ? item : Object.values(item)) {
      if (typeof child === 'object' && child !== null) pending.push({ item: child, depth: depth + 1 });
    }
  }
  return false;
}
