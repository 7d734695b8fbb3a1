export { createLedgerApiApp, type LedgerApiAppOptions } from './ledger-api.app';
export { DEFAULT_CALLBACK_RATE_LIMIT } from './ledger-api.module';
export type { CallbackChannel } from './callbacks/callback-channels';
export { CALLBACK_ID_NAMESPACE, callbackEventIdFor, callbackIdFor } from './callbacks/callback-id';
