import type { RawAnswer } from './http';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * What is wrong with an error answer, measured against the one documented shape
 * `{ "error": { "code", "message", "details" }, "requestId" }` (ADR 0004); empty when it is
 * right or when the answer is not an error. With `codes` (code → documented statuses), a
 * code the docs do not list, or list under another status, is a problem too.
 */
export function envelopeProblems(answer: RawAnswer, codes?: ReadonlyMap<string, ReadonlySet<number>>): string[] {
  if (answer.status < 400) return [];
  const problems: string[] = [];
  const body = answer.json as Record<string, unknown> | undefined;
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return [`${answer.status} with a body that is not a JSON object: ${JSON.stringify(answer.text.slice(0, 200))} (content-type ${String(answer.headers['content-type'])})`];
  }
  const keys = Object.keys(body).sort();
  if (keys.join() !== 'error,requestId') problems.push(`${answer.status} body has members ${keys.join(', ')}, not error and requestId`);
  const error = body.error as Record<string, unknown> | undefined;
  if (typeof error !== 'object' || error === null) return [...problems, `${answer.status} body has no error object`];
  const errorKeys = Object.keys(error).sort();
  if (errorKeys.join() !== 'code,details,message') problems.push(`${answer.status} error has members ${errorKeys.join(', ')}, not code, message and details`);
  if (typeof error.code !== 'string') problems.push(`${answer.status} error.code is not a string`);
  if (typeof error.message !== 'string' || error.message.length === 0) problems.push(`${answer.status} error.message is not a non-empty string`);
  if (typeof error.details !== 'object' || error.details === null || Array.isArray(error.details)) problems.push(`${answer.status} error.details is not an object`);
  if (typeof body.requestId !== 'string' || !UUID.test(body.requestId)) problems.push(`${answer.status} requestId is not a UUID: ${JSON.stringify(body.requestId)}`);
  else if (answer.headers['x-request-id'] !== body.requestId) problems.push(`${answer.status} requestId differs from X-Request-Id`);
  if (codes && typeof error.code === 'string') {
    const statuses = codes.get(error.code);
    if (!statuses) problems.push(`${answer.status} ${error.code}: a code neither docs/api.md nor docs/read-api.md lists`);
    else if (!statuses.has(answer.status)) problems.push(`${answer.status} ${error.code}: the docs give this code the status ${[...statuses].join(' or ')}`);
  }
  return problems;
}
