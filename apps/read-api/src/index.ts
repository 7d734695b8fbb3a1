export {
  createReadApiApp,
  DEFAULT_MIN_POSITION_TIMEOUT_MS,
  DEFAULT_READY_MAX_LAG_EVENTS,
  type ReadApiAppOptions,
} from './read-api.app';
export { DEFAULT_READ_MODEL_PROJECTIONS, type ReadModelProjections } from './shared/tokens';
