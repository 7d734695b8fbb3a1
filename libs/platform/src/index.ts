export { startEmbeddedPostgres, type EmbeddedPostgresHandle, type EmbeddedPostgresOptions } from './embedded-postgres';
export { loadConfig, ConfigError, type LedgerConfig } from './config';
export { resolveDatabase, type ResolvedDatabase } from './database';
export * from './idempotency';
export * from './http';
export { failpoint, parseFailpoints, FailpointTriggered } from './failpoints';
export { MicroBatcher, type MicroBatcherOptions } from './micro-batcher';
export {
  activeTraceparent,
  contextOfTraceparent,
  inSpan,
  linkTo,
  SpanKind,
  startSpan,
  startTracing,
  traceparentOf,
  type Tracing,
  type TracingOptions,
} from './tracing';
