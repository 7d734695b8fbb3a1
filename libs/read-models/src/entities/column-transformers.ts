import type { ValueTransformer } from 'typeorm';

/**
 * PostgreSQL `bigint` arrives from node-postgres as a string, because a JavaScript number
 * silently rounds above 2^53. Entities expose it as `bigint` so no caller does arithmetic
 * on a rounded amount or position.
 */
export const bigintColumn: ValueTransformer = {
  to: (value: bigint | null | undefined) => (value === null || value === undefined ? value : value.toString()),
  from: (value: string | null) => (value === null ? null : BigInt(value)),
};
