export { createLedgerApiApp, type LedgerApiAppOptions } from './ledger-api.app';
