/** The reconciliation slice of the command API: ops actions on discrepancies. */
export { ReconciliationController } from './reconciliation.controller';
export { ResolveDiscrepancyHandler } from './resolve-discrepancy.handler';
