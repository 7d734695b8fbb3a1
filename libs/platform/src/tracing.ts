import {
  context as otelContext,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  TraceFlags,
  type Attributes,
  type Context,
  type Link,
  type Span,
} from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, SimpleSpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';

/**
 * OpenTelemetry traces from an HTTP request through its append, the projection of its events
 * and the payout reactions they cause. The thread between processes and between now and
 * later is the W3C `traceparent` every event carries in its metadata: a command's span is
 * the parent named there, so a projector or process manager reading the event hours later,
 * in another process, continues the same trace. Without `startTracing` (or an OTLP endpoint
 * in the environment) every span here is OpenTelemetry's no-op and costs next to nothing,
 * and the traceparent stays the one the request brought or was given.
 */
const TRACER_NAME = 'ledger';
const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

export { SpanKind };

/** The OpenTelemetry context whose remote parent is `traceparent`, or the root when it is absent or invalid. */
export function contextOfTraceparent(traceparent: string | undefined): Context {
  const match = traceparent === undefined ? null : TRACEPARENT.exec(traceparent);
  if (!match) return ROOT_CONTEXT;
  return trace.setSpanContext(ROOT_CONTEXT, {
    traceId: match[1]!,
    spanId: match[2]!,
    traceFlags: Number.parseInt(match[3]!, 16) & TraceFlags.SAMPLED,
    isRemote: true,
  });
}

/** The `traceparent` naming `span` as the parent, or `fallback` when the span records nothing (tracing off). */
export function traceparentOf(span: Span, fallback: string | undefined): string | undefined {
  if (!span.isRecording()) return fallback;
  const { traceId, spanId, traceFlags } = span.spanContext();
  return `00-${traceId}-${spanId}-${(traceFlags & 0xff).toString(16).padStart(2, '0')}`;
}

/** Starts a span whose parent is the given traceparent (a request's, an event's). The caller ends it. */
export function startSpan(
  name: string,
  parentTraceparent: string | undefined,
  options: { kind?: SpanKind; attributes?: Attributes; links?: Link[] } = {},
): Span {
  return trace.getTracer(TRACER_NAME).startSpan(name, options, contextOfTraceparent(parentTraceparent));
}

/**
 * Runs `fn` inside a span (active in OpenTelemetry's context, so spans it starts are its
 * children), ending it with the outcome: an exception marks it as an error and is rethrown.
 */
export async function inSpan<T>(
  name: string,
  parentTraceparent: string | undefined,
  attributes: Attributes,
  fn: (span: Span) => Promise<T>,
): Promise<T> {
  const span = startSpan(name, parentTraceparent, { attributes });
  try {
    return await otelContext.with(trace.setSpan(contextOfTraceparent(parentTraceparent), span), () => fn(span));
  } catch (error) {
    span.recordException(error instanceof Error ? error : new Error(String(error)));
    span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
    throw error;
  } finally {
    span.end();
  }
}

/** The active span's traceparent (inside `inSpan`), or `fallback`. */
export function activeTraceparent(fallback: string | undefined): string | undefined {
  const span = trace.getActiveSpan();
  return span ? traceparentOf(span, fallback) : fallback;
}

/** A link to the span a traceparent names, for work that serves many traces at once (a projection batch). */
export function linkTo(traceparent: string | undefined): Link | undefined {
  const spanContext = trace.getSpanContext(contextOfTraceparent(traceparent));
  return spanContext ? { context: spanContext } : undefined;
}

export interface TracingOptions {
  serviceName: string;
  /** Where spans go: a given exporter (tests), else OTLP over HTTP when `OTEL_EXPORTER_OTLP_ENDPOINT` is set, else nowhere. */
  exporter?: SpanExporter;
  /** Export each span as it ends (tests) instead of in batches. */
  synchronous?: boolean;
  env?: NodeJS.ProcessEnv;
}

export interface Tracing {
  /** Flushes what is buffered and stops exporting. */
  shutdown(): Promise<void>;
}

/**
 * Installs the OpenTelemetry SDK for this process, when there is somewhere to send spans:
 * `exporter`, or the standard OTLP variables (`OTEL_EXPORTER_OTLP_ENDPOINT`,
 * `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, `OTEL_EXPORTER_OTLP_HEADERS`). Returns undefined, and
 * changes nothing, otherwise.
 */
export function startTracing(options: TracingOptions): Tracing | undefined {
  const env = options.env ?? process.env;
  const endpoint = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? env.OTEL_EXPORTER_OTLP_ENDPOINT;
  const exporter = options.exporter ?? (endpoint ? new OTLPTraceExporter() : undefined);
  if (!exporter) return undefined;
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ 'service.name': env.OTEL_SERVICE_NAME ?? options.serviceName }),
    spanProcessors: [options.synchronous ? new SimpleSpanProcessor(exporter) : new BatchSpanProcessor(exporter)],
  });
  provider.register();
  return {
    shutdown: async () => {
      await provider.shutdown();
      trace.disable();
      otelContext.disable();
    },
  };
}
