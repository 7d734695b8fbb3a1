import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SCOPES, type Scope } from '@ledger/platform';

/**
 * What the API documents (docs/api.md, docs/read-api.md), read from the documents
 * themselves, so the security tests check the code against the contract its callers read
 * rather than against a copy that could drift from both.
 */

const DOCS = join(__dirname, '..', '..', '..', 'docs');

export type AppName = 'ledger-api' | 'read-api';

export const DOC_FILES: Readonly<Record<AppName, string>> = { 'ledger-api': 'api.md', 'read-api': 'read-api.md' };

export function readDoc(app: AppName): string {
  return readFileSync(join(DOCS, DOC_FILES[app]), 'utf8');
}

/** A route as the docs name it: `POST /v1/accounts/{id}/deposits`, with `public` or its scopes. */
export interface DocumentedRoute {
  method: string;
  path: string;
  /** Empty for public routes. */
  scopes: Scope[];
  public: boolean;
}

const ROUTE_IN_CELL = /`(GET|POST|PUT|PATCH|DELETE) (\/[^`?\s]*)(?:\?[^`]*)?`/g;

/**
 * The rows of the "Endpoints" table of an API document. In docs/api.md the second column is
 * the scope (`ledger:write`, `ops`, or `public`); in docs/read-api.md every `/v1` route needs
 * `ledger:read` (stated once in the conventions) and public routes say so in the answer column.
 */
export function documentedRoutes(app: AppName): DocumentedRoute[] {
  const text = readDoc(app);
  const section = sectionOf(text, '## Endpoints');
  const readScope = /Every `\/v1` route needs `ledger:read`/.test(text);
  if (app === 'read-api' && !readScope) throw new Error('docs/read-api.md no longer says every /v1 route needs ledger:read');
  const routes: DocumentedRoute[] = [];
  for (const line of section.split('\n')) {
    if (!line.startsWith('| `')) continue;
    const cells = line.split(/(?<!\\)\|/).map((cell) => cell.trim());
    const [first = '', second = ''] = cells.slice(1);
    const isPublic = /\bpublic\b/.test(second);
    const scopes = isPublic
      ? []
      : app === 'read-api'
        ? (['ledger:read'] as Scope[])
        : [...second.matchAll(/`([a-z:]+)`/g)].map((m) => m[1] as Scope).filter((s) => SCOPES.includes(s));
    for (const match of first.matchAll(ROUTE_IN_CELL)) {
      routes.push({ method: match[1]!, path: match[2]!, scopes, public: isPublic });
    }
  }
  return routes;
}

/** `GET /docs` and `GET /docs-json`, which both documents name as the public OpenAPI reference. */
export function documentedDocsRoutes(app: AppName): string[] {
  const text = readDoc(app);
  return [...new Set([...text.matchAll(/`GET (\/docs(?:-json)?)`/g)].map((m) => m[1]!))];
}

const CODE = /^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$/;

/**
 * Every error code the two documents give a status to:
 * - in a table whose first column is "Status": every code of a "Code"/"Codes" column, or the
 *   first code of any other second column (the callback table's "Body");
 * - in prose: `NNN code`, and the codes listed right after one (`503 projection_behind`,
 *   `database_unavailable` or `read_models_unavailable`);
 * - `503` followed by "with" and a list (readiness).
 */
export function documentedErrorCodes(): Map<string, Set<number>> {
  const codes = new Map<string, Set<number>>();
  const add = (code: string, statuses: number[]): void => {
    if (!CODE.test(code)) return;
    const known = codes.get(code) ?? new Set<number>();
    for (const status of statuses) known.add(status);
    codes.set(code, known);
  };
  for (const app of Object.keys(DOC_FILES) as AppName[]) {
    const text = readDoc(app);
    let columns: string[] | undefined;
    for (const line of text.split('\n')) {
      if (!line.startsWith('|')) {
        columns = undefined;
        continue;
      }
      const cells = line.split(/(?<!\\)\|/).slice(1, -1).map((cell) => cell.trim());
      if (columns === undefined) {
        columns = cells;
        continue;
      }
      if (columns[0] !== 'Status' || /^-+$/.test(cells[0] ?? '')) continue;
      const statuses = [...(cells[0] ?? '').matchAll(/\d{3}/g)].map((m) => Number(m[0]));
      const tokens = [...(cells[1] ?? '').matchAll(/`([^`]+)`/g)].map((m) => m[1]!);
      if (/^Codes?$/.test(columns[1] ?? '')) {
        // "401 / 403 | `unauthenticated` / `insufficient_scope`": pair them up when they pair.
        const named = tokens.filter((t) => CODE.test(t));
        named.forEach((code, index) => add(code, statuses.length === named.length ? [statuses[index]!] : statuses));
      } else if (tokens[0] !== undefined) {
        add(tokens[0], statuses);
      }
    }
    for (const match of text.matchAll(/`(\d{3}) ([a-z_]+)`((?:\s*(?:,|or|and)\s*`[a-z_]+`)*)/g)) {
      const status = Number(match[1]);
      add(match[2]!, [status]);
      for (const more of (match[3] ?? '').matchAll(/`([a-z_]+)`/g)) add(more[1]!, [status]);
    }
    for (const match of text.matchAll(/`(\d{3})` with ((?:`[a-z_]+`[^`.]*)+)/g)) {
      for (const more of match[2]!.matchAll(/`([a-z_]+)`/g)) add(more[1]!, [Number(match[1])]);
    }
  }
  return codes;
}

function sectionOf(text: string, heading: string): string {
  const start = text.indexOf(`\n${heading}\n`);
  if (start < 0) throw new Error(`no "${heading}" section`);
  const rest = text.slice(start + heading.length + 2);
  const end = rest.search(/\n## /);
  return end < 0 ? rest : rest.slice(0, end);
}
