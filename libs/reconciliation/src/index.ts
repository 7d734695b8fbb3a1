/**
 * `@ledger/reconciliation`: provider settlement statements matched against the ledger
 * (docs/reconciliation.md). The strict statement parser, the import that appends one
 * reconciliation stream's findings in one append, and an operator's resolution of a
 * discrepancy. The rules themselves (matching, supersession, resolution) are the domain's
 * `reconciliationDecider`; this library reads, parses and writes around it.
 */
export { readCsv, csvField, type CsvRecord, type CsvError, type CsvErrorCode, type CsvReadResult } from './csv';
export {
  parseStatement,
  STATEMENT_BYTES_MAX,
  STATEMENT_COLUMNS,
  STATEMENT_HEADER,
  PROVIDER_REFERENCE_LENGTH_MAX,
  type ParsedStatement,
  type StatementError,
  type StatementErrorCode,
  type StatementParseResult,
} from './statement';
export { readLedgerPayouts, LEDGER_SCAN_PAGE_SIZE, type LedgerViewQuery } from './ledger-view';
export {
  importStatement,
  type ImportedDiscrepancy,
  type ImportStatementOptions,
  type ImportStatementResult,
} from './import-statement';
export { resolveDiscrepancy, type ResolveDiscrepancyOptions, type ResolveDiscrepancyResult } from './resolve-discrepancy';
export { importEventId, RECONCILIATION_EVENT_ID_NAMESPACE } from './reconciliation-stream';
export { ReconciliationConflict, ReconciliationError, StatementMalformed, StatementTooLarge } from './errors';
