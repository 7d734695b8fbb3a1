/**
 * Deciders over the event store: commands for one stream run through the per-stream queue
 * with deterministic event ids. Shared by the command API and the payout process manager,
 * so both derive the same ids for the same reaction.
 */
export { StreamCommands } from './stream-commands';
export { COMMAND_EVENT_ID_NAMESPACE, eventIdFor, toNewEvents, type CommandEnvelope } from './command-envelope';
