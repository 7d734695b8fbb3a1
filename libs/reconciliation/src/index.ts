/** Reconciliation of provider settlement statements against the ledger. */
export {};
