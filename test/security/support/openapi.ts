import type { INestApplication } from '@nestjs/common';
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants';
import { RequestMethod } from '@nestjs/common';
import { ModulesContainer } from '@nestjs/core';
import type { Scope } from '@ledger/platform';
import type { AppName } from './docs';

/** One operation of an app's OpenAPI document: what the walk and the fuzzer send requests to. */
export interface Operation {
  app: AppName;
  method: 'GET' | 'POST';
  /** The OpenAPI path, `{id}` style. */
  path: string;
  /** `x-required-scopes`; undefined when the operation declares none. */
  requiredScopes: Scope[] | undefined;
  pathParams: string[];
  queryParams: Array<{ name: string; enum?: string[]; pattern?: string; example?: string }>;
  /** Header parameters the operation marks required (Idempotency-Key, the webhook headers). */
  requiredHeaders: string[];
  /** Field names of the JSON body's top-level object, resolved from its schema; undefined without a body. */
  bodyFields: string[] | undefined;
  /** Field names of nested objects, by field (`destination` → type, accountNumber, …). */
  nestedFields: Record<string, string[]>;
  /** Security requirement names the operation refers to. */
  security: string[];
}

interface OpenApiDocument {
  paths: Record<string, Record<string, OpenApiOperation>>;
  components?: { schemas?: Record<string, OpenApiSchema>; securitySchemes?: Record<string, unknown> };
}
interface OpenApiOperation {
  parameters?: Array<{ name: string; in: string; required?: boolean; schema?: { enum?: string[]; pattern?: string; example?: unknown } }>;
  requestBody?: { content?: Record<string, { schema?: OpenApiSchema }> };
  security?: Array<Record<string, unknown>>;
  'x-required-scopes'?: Scope[];
}
interface OpenApiSchema {
  $ref?: string;
  type?: string;
  properties?: Record<string, OpenApiSchema>;
}

export async function fetchOpenApi(baseUrl: string): Promise<OpenApiDocument> {
  const response = await fetch(`${baseUrl}/docs-json`);
  if (response.status !== 200) throw new Error(`GET /docs-json answered ${response.status}`);
  return (await response.json()) as OpenApiDocument;
}

/** Every operation of the document, in document order. */
export function operationsOf(app: AppName, document: OpenApiDocument): Operation[] {
  const schemas = document.components?.schemas ?? {};
  const resolve = (schema: OpenApiSchema | undefined): OpenApiSchema | undefined =>
    schema?.$ref ? schemas[schema.$ref.replace('#/components/schemas/', '')] : schema;
  const operations: Operation[] = [];
  for (const [path, methods] of Object.entries(document.paths)) {
    for (const [method, operation] of Object.entries(methods)) {
      const upper = method.toUpperCase();
      if (upper !== 'GET' && upper !== 'POST') throw new Error(`unexpected method ${upper} ${path}: extend the security tests`);
      const parameters = operation.parameters ?? [];
      const body = resolve(operation.requestBody?.content?.['application/json']?.schema);
      const nestedFields: Record<string, string[]> = {};
      for (const [name, property] of Object.entries(body?.properties ?? {})) {
        const nested = resolve(property);
        if (nested?.properties) nestedFields[name] = Object.keys(nested.properties);
      }
      operations.push({
        app,
        method: upper,
        path,
        requiredScopes: operation['x-required-scopes'],
        pathParams: parameters.filter((p) => p.in === 'path').map((p) => p.name),
        queryParams: parameters
          .filter((p) => p.in === 'query')
          .map((p) => ({ name: p.name, enum: p.schema?.enum, pattern: p.schema?.pattern, example: p.schema?.example as string | undefined })),
        requiredHeaders: parameters.filter((p) => p.in === 'header' && p.required).map((p) => p.name.toLowerCase()),
        bodyFields: operation.requestBody ? Object.keys(body?.properties ?? {}) : undefined,
        nestedFields,
        security: (operation.security ?? []).flatMap((requirement) => Object.keys(requirement)),
      });
    }
  }
  return operations;
}

export function operationName(operation: Pick<Operation, 'method' | 'path'>): string {
  return `${operation.method} ${operation.path}`;
}

/**
 * Every route the app's controllers declare, from Nest's own metadata: an independent list
 * to hold the OpenAPI document against, so a route left out of the document (or a whole
 * controller excluded from it) cannot escape the walk unnoticed.
 */
export function controllerRoutes(app: INestApplication): string[] {
  const routes = new Set<string>();
  for (const module of app.get(ModulesContainer).values()) {
    for (const wrapper of module.controllers.values()) {
      const controller = wrapper.metatype as (new (...args: never[]) => object) | undefined;
      if (!controller) continue;
      const prefixes = asList(Reflect.getMetadata(PATH_METADATA, controller));
      for (const name of Object.getOwnPropertyNames(controller.prototype)) {
        const handler = Object.getOwnPropertyDescriptor(controller.prototype, name)?.value as object | undefined;
        if (typeof handler !== 'function' || !Reflect.hasMetadata(METHOD_METADATA, handler)) continue;
        const method = RequestMethod[Reflect.getMetadata(METHOD_METADATA, handler) as RequestMethod];
        for (const prefix of prefixes) {
          for (const path of asList(Reflect.getMetadata(PATH_METADATA, handler))) {
            const joined = `/${[prefix, path].map((part) => part.replace(/^\/+|\/+$/g, '')).filter(Boolean).join('/')}`;
            routes.add(`${method} ${joined.replace(/:([A-Za-z0-9_]+)/g, '{$1}')}`);
          }
        }
      }
    }
  }
  return [...routes].sort();
}

function asList(value: unknown): string[] {
  if (Array.isArray(value)) return value as string[];
  return typeof value === 'string' ? [value] : [''];
}

/** A plausible value for a path parameter, by name: the shape the route's validation accepts. */
export function plausibleParam(app: AppName, name: string, ids: { accountId: string; withdrawalId: string }, path: string): string {
  switch (name) {
    case 'id':
      return path.includes('/withdrawals/') ? ids.withdrawalId : ids.accountId;
    case 'channel':
      return app === 'ledger-api' && path.startsWith('/v1/callbacks/') ? 'sandbox' : 'bank_one';
    case 'date':
      return '2026-11-23';
    case 'discrepancyId':
      return '3f2a9c0d1e2b4a5c-D0001';
    default:
      throw new Error(`no plausible value for path parameter ${name} of ${path}: extend plausibleParam`);
  }
}

/** The path with its parameters filled in (values are inserted as given: callers encode). */
export function fillPath(path: string, values: Record<string, string>): string {
  return path.replace(/\{([A-Za-z0-9_]+)\}/g, (_whole, name: string) => {
    const value = values[name];
    if (value === undefined) throw new Error(`no value for {${name}} in ${path}`);
    return value;
  });
}
