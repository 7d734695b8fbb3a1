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
