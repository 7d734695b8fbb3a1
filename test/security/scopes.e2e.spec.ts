import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { OutgoingHttpHeaders } from 'node:http';
import type { Scope } from '@ledger/platform';
import { startSecurityApps, type SecurityApps } from './support/apps';
import { validBody } from './support/bodies';
import { documentedDocsRoutes, documentedRoutes, type AppName } from './support/docs';
import { envelopeProblems } from './support/envelope';
import { bearer, send, type RawAnswer } from './support/http';
import { controllerRoutes, fetchOpenApi, fillPath, operationName, operationsOf, plausibleParam, type Operation } from './support/openapi';

/**
 * "A test walks every route with each scope" (issue 7). Both apps run for real, over HTTP,
 * on PostgreSQL. The route list comes from each app's own OpenAPI document, held against
 * the controllers' metadata and against docs/api.md and docs/read-api.md, so the walk cannot
 * silently test nothing; then every operation is called without a key, with forged keys and
 * with a key of each single scope, and every refusal is checked to have written nothing.
 */

const APPS: readonly AppName[] = ['ledger-api', 'read-api'];
const SINGLE_SCOPE_KEYS: ReadonlyArray<{ scope: Scope; key: 'writer' | 'reader' | 'ops' }> = [
  { scope: 'ledger:write', key: 'writer' },
  { scope: 'ledger:read', key: 'reader' },
  { scope: 'ops', key: 'ops' },
];
/** Routes the apps serve outside their OpenAPI operations: Prometheus (excluded from the document) and the document itself. */
const OUTSIDE_OPENAPI = ['GET /metrics'];

let apps: SecurityApps;
const operations = new Map<AppName, Operation[]>();

beforeAll(async () => {
  apps = await startSecurityApps();
  for (const app of APPS) operations.set(app, operationsOf(app, await fetchOpenApi(apps.baseUrl(app))));
});
afterAll(async () => {
  await apps?.close();
});

function keysOf(app: AppName): Record<'writer' | 'reader' | 'ops' | 'all', string> {
  return app === 'ledger-api' ? apps.ledger.keys : apps.read.keys;
}

function isPublic(operation: Operation): boolean {
  return documentedRoutes(operation.app).some((r) => r.public && r.method === operation.method && r.path === operation.path);
}

/** What one request did: its answer and whether the event store or the idempotency table moved. */
interface Observed {
  answer: RawAnswer;
  appended: boolean;
  idempotencyRowsAdded: number;
}

async function call(operation: Operation, headers: OutgoingHttpHeaders): Promise<Observed> {
  const values = Object.fromEntries(operation.pathParams.map((name) => [name, plausibleParam(operation.app, name, apps.ids, operation.path)]));
  const all: OutgoingHttpHeaders = { ...headers };
  let body: string | undefined;
  if (operation.method === 'POST') {
    body = JSON.stringify(validBody(operation, apps.ids));
    all['content-type'] = 'application/json';
    if (operation.requiredHeaders.includes('idempotency-key')) all['idempotency-key'] = randomUUID();
  }
  const head = await apps.headPosition();
  const rows = await apps.idempotencyRows();
  const answer = await send(apps.baseUrl(operation.app), { method: operation.method, path: fillPath(operation.path, values), headers: all, body });
  return { answer, appended: (await apps.headPosition()) !== head, idempotencyRowsAdded: (await apps.idempotencyRows()) - rows };
}

function describeAnswer({ answer }: Observed): string {
  return `${answer.status} ${answer.text.slice(0, 300)}`;
}

/** Keys that must all get the one 401: none of them is a key the app knows. */
function forgedCredentials(app: AppName): Array<{ name: string; headers: OutgoingHttpHeaders }> {
  const real = keysOf(app).all;
  const flipped = real.slice(0, -1) + (real.endsWith('A') ? 'B' : 'A');
  return [
    { name: 'a random well-formed key', headers: { authorization: bearer(`lk_${randomBytes(32).toString('base64url')}`) } },
    { name: 'a real key with its last character changed', headers: { authorization: bearer(flipped) } },
    { name: 'the stored hash of a real key', headers: { authorization: bearer(`sha256:${createHash('sha256').update(real).digest('hex')}`) } },
    { name: 'a real key as Basic credentials', headers: { authorization: `Basic ${Buffer.from(`x:${real}`).toString('base64')}` } },
    { name: 'a real key in X-Api-Key instead of Authorization', headers: { 'x-api-key': real } },
    { name: 'a real key with a suffix', headers: { authorization: bearer(`${real}x`) } },
    { name: 'an empty bearer', headers: { authorization: 'Bearer ' } },
  ];
}

describe('the route list the walk covers', () => {
  it.each(APPS)('%s: OpenAPI lists operations, every documented route and every controller route', (app) => {
    const listed = operations.get(app)!.map(operationName);
    expect(listed.length).toBeGreaterThan(0);
    const documented = documentedRoutes(app).map((r) => `${r.method} ${r.path}`);
    // Routes the docs name must be served and listed (or be one of the few served outside OpenAPI).
    expect(documented.filter((route) => !listed.includes(route) && !OUTSIDE_OPENAPI.includes(route))).toEqual([]);
    // And nothing is served that the docs do not name: an undocumented route is an unreviewed one.
    expect(listed.filter((route) => !documented.includes(route))).toEqual([]);
    // The controllers' own metadata: a route hidden from the document cannot escape the walk.
    expect(controllerRoutes(app === 'ledger-api' ? apps.ledger.app : apps.read.app)).toEqual([...listed, ...OUTSIDE_OPENAPI].sort());
  });

  it('knows the routes of issue 7 by name, so an empty or renamed document fails here', () => {
    const listed = [...operations.values()].flat().map((op) => `${op.app} ${operationName(op)}`);
    expect(listed).toEqual(
      expect.arrayContaining([
        'ledger-api POST /v1/accounts',
        'ledger-api POST /v1/accounts/{id}/deposits',
        'ledger-api POST /v1/withdrawals',
        'ledger-api POST /v1/withdrawals/{id}/cancel',
        'ledger-api POST /v1/withdrawals/{id}/review',
        'ledger-api POST /v1/accounts/{id}/freeze',
        'ledger-api POST /v1/callbacks/{channel}',
        'ledger-api GET /health/ready',
        'read-api GET /v1/accounts/{id}/balance',
        'read-api GET /v1/accounts/{id}/entries',
        'read-api GET /v1/withdrawals/{id}',
        'read-api GET /v1/withdrawals',
        'read-api GET /v1/reconciliation/{channel}/{date}',
        'read-api GET /v1/review-queue',
        'read-api GET /health/live',
      ]),
    );
  });

  it.each(APPS)('%s: every operation that is not public declares x-required-scopes, the scopes the docs give it (deny by default)', (app) => {
    const problems: string[] = [];
    for (const operation of operations.get(app)!) {
      const documented = documentedRoutes(app).find((r) => r.method === operation.method && r.path === operation.path);
      if (documented?.public) {
        if (operation.requiredScopes !== undefined) problems.push(`${operationName(operation)} is public in the docs but requires ${operation.requiredScopes.join(', ')}`);
        continue;
      }
      if (!operation.requiredScopes?.length) problems.push(`${operationName(operation)} declares no x-required-scopes`);
      else if (documented && [...operation.requiredScopes].sort().join() !== [...documented.scopes].sort().join()) {
        problems.push(`${operationName(operation)} requires ${operation.requiredScopes.join(', ')}, the docs say ${documented.scopes.join(', ')}`);
      }
    }
    expect(problems).toEqual([]);
  });

  it.each(APPS)('%s: the public routes are exactly the documented ones: health, metrics, the OpenAPI document and provider callbacks', (app) => {
    const publicInDocs = documentedRoutes(app).filter((r) => r.public).map((r) => `${r.method} ${r.path}`).sort();
    const expected = app === 'ledger-api'
      ? ['GET /health/live', 'GET /health/ready', 'GET /metrics', 'POST /v1/callbacks/{channel}']
      : ['GET /health/live', 'GET /health/ready', 'GET /metrics'];
    expect(publicInDocs).toEqual(expected);
    expect(documentedDocsRoutes(app)).toEqual(['/docs', '/docs-json']);
    const publicInOpenApi = operations.get(app)!.filter((op) => op.requiredScopes === undefined).map(operationName).sort();
    expect(publicInOpenApi).toEqual(expected.filter((route) => !OUTSIDE_OPENAPI.includes(route)));
  });

  it.each(APPS)('%s: operations refer only to security schemes the document declares', async (app) => {
    const document = await fetchOpenApi(apps.baseUrl(app));
    const declared = Object.keys((document as { components?: { securitySchemes?: object } }).components?.securitySchemes ?? {});
    const problems = operations
      .get(app)!
      .flatMap((op) => op.security.filter((name) => !declared.includes(name)).map((name) => `${operationName(op)} refers to undeclared scheme "${name}"`));
    expect(problems).toEqual([]);
  });
});

describe('the walk: every operation, without a key, with forged keys and with each single scope', () => {
  it.each(APPS)('%s', async (app) => {
    const problems: string[] = [];
    let requests = 0;
    const expectRefusal = (what: string, observed: Observed, status: number, code: string): void => {
      requests += 1;
      const answer = observed.answer;
      const body = answer.json as { error?: { code?: string } } | undefined;
      if (answer.status !== status || body?.error?.code !== code) problems.push(`${what}: expected ${status} ${code}, got ${describeAnswer(observed)}`);
      problems.push(...envelopeProblems(answer).map((p) => `${what}: ${p}`));
      if (observed.appended) problems.push(`${what}: the refused request appended to the event store`);
      if (observed.idempotencyRowsAdded !== 0) problems.push(`${what}: the refused request left ${observed.idempotencyRowsAdded} idempotency row(s)`);
    };
    const expectLetThrough = (what: string, observed: Observed): void => {
      requests += 1;
      const code = (observed.answer.json as { error?: { code?: string } } | undefined)?.error?.code;
      if (observed.answer.status === 403 || code === 'unauthenticated') problems.push(`${what}: expected to pass authentication and scopes, got ${describeAnswer(observed)}`);
      if (observed.answer.status >= 500) problems.push(`${what}: ${describeAnswer(observed)}`);
    };

    for (const operation of operations.get(app)!) {
      const name = `${app} ${operationName(operation)}`;
      const open = isPublic(operation);
      const anonymous = await call(operation, {});
      if (open) {
        expectLetThrough(`${name} without a key`, anonymous);
        if (operation.path.startsWith('/v1/callbacks/')) {
          // Public for API keys, not unauthenticated: the signature is the credential.
          expectRefusal(`${name} without a signature`, anonymous, 401, 'invalid_signature');
        }
      } else {
        expectRefusal(`${name} without a key`, anonymous, 401, 'unauthenticated');
        if (anonymous.answer.headers['www-authenticate'] !== 'Bearer') problems.push(`${name} without a key: no "WWW-Authenticate: Bearer"`);
      }

      for (const forged of forgedCredentials(app)) {
        const observed = await call(operation, forged.headers);
        if (open) {
          // A key, even a bad one, changes nothing on a public route.
          if (observed.answer.status !== anonymous.answer.status) problems.push(`${name} with ${forged.name}: ${describeAnswer(observed)}, without a key ${describeAnswer(anonymous)}`);
          expectLetThrough(`${name} with ${forged.name}`, observed);
        } else {
          expectRefusal(`${name} with ${forged.name}`, observed, 401, 'unauthenticated');
        }
      }

      for (const { scope, key } of SINGLE_SCOPE_KEYS) {
        const what = `${name} with a key holding only ${scope}`;
        const observed = await call(operation, { authorization: bearer(keysOf(app)[key]) });
        if (open || operation.requiredScopes?.includes(scope)) {
          expectLetThrough(what, observed);
          continue;
        }
        expectRefusal(what, observed, 403, 'insufficient_scope');
        const required = (observed.answer.json as { error?: { details?: { required?: unknown } } } | undefined)?.error?.details?.required;
        if (JSON.stringify(required) !== JSON.stringify(operation.requiredScopes)) {
          problems.push(`${what}: details.required is ${JSON.stringify(required)}, x-required-scopes ${JSON.stringify(operation.requiredScopes)}`);
        }
      }

      expectLetThrough(`${name} with a key holding every scope`, await call(operation, { authorization: bearer(keysOf(app).all) }));
    }

    // Served outside the OpenAPI operations, and public: Prometheus and the document itself.
    for (const path of ['/metrics', '/docs', '/docs-json']) {
      for (const headers of [{}, { authorization: bearer(`lk_${randomBytes(32).toString('base64url')}`) }]) {
        requests += 1;
        const answer = await send(apps.baseUrl(app), { method: 'GET', path, headers });
        if (answer.status !== 200) problems.push(`${app} GET ${path} ${Object.keys(headers).length ? 'with a forged key' : 'without a key'}: ${answer.status}`);
      }
    }

    expect(problems).toEqual([]);
    // Each operation: 1 anonymous + 7 forged + 3 single scopes + 1 all scopes.
    expect(requests).toBeGreaterThanOrEqual(operations.get(app)!.length * 12);
  });
});
