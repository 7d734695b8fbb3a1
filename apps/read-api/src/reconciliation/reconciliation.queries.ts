import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional, Matches } from 'class-validator';
import { registerDecorator, type ValidationOptions } from 'class-validator';
import type { Pool } from 'pg';
import { CHANNEL_PATTERN, DISCREPANCY_KINDS, ENTITY_ID_PATTERN, isChannel, isIsoDate, isIsoTimestamp } from '@ledger/domain';
import { PageQuery, ReadQuery, toPage, type Page } from '../shared/read-query';
import { isoMicros, isoMillis, READ_MODELS_SCHEMA } from '../shared/sql';
import {
  FINDING_OUTCOMES,
  REVIEW_STATES,
  type DiscrepancyResponse,
  type FindingResponse,
  type ReconciliationReportResponse,
  type StatementResponse,
} from './reconciliation.responses';

export class ReconciliationReportQuery extends ReadQuery {
  @ApiPropertyOptional({ description: 'Show this statement (the current one by default): an earlier import stays readable for audit.' })
  @IsOptional()
  @Matches(/^[0-9a-f]{64}$/, { message: 'statementId must be a SHA-256 digest in lower-case hex' })
  statementId?: string;
}

export const DISCREPANCY_STATES = [...REVIEW_STATES, 'all'] as const;
export type DiscrepancyStateFilter = (typeof DISCREPANCY_STATES)[number];

export class DiscrepancyListQuery extends PageQuery {
  @ApiPropertyOptional({ enum: DISCREPANCY_STATES, default: 'open', description: 'Open discrepancies (awaiting an operator) by default.' })
  @IsOptional()
  @IsIn(DISCREPANCY_STATES)
  state?: DiscrepancyStateFilter;

  @ApiPropertyOptional({ example: 'bank_one' })
  @IsOptional()
  @Matches(CHANNEL_PATTERN, { message: 'channel must be lower-case letters, digits and _, starting with a letter, at most 32' })
  channel?: string;

  @ApiPropertyOptional({ enum: DISCREPANCY_KINDS })
  @IsOptional()
  @IsIn(DISCREPANCY_KINDS)
  kind?: string;

  @ApiPropertyOptional({ description: 'The nextCursor of the previous page, unchanged, with the same filters.' })
  @IsOptional()
  @IsDiscrepancyCursor()
  cursor?: string;
}

interface StatementRow {
  statementId: string;
  current: boolean;
  itemCount: number;
  matchedCount: number;
  discrepancyCount: number;
  supersedes: string | null;
  supersededBy: string | null;
  supersededAt: string | null;
  importedAt: string;
  importedBy: string;
}

interface DiscrepancyRow {
  channel: string;
  date: string;
  finding_id: string;
  statement_id: string;
  outcome: string;
  line: number | null;
  withdrawal_id: string | null;
  provider_reference: string | null;
  amount_statement: string | null;
  amount_ledger: string | null;
  currency: string | null;
  currency_ledger: string | null;
  status_statement: string | null;
  status_ledger: string | null;
  note: string;
  found_at: string;
  review_state: string;
  resolved_at: string | null;
  resolved_by: string | null;
  resolution: string | null;
  position: string;
  found_at_key: string;
}

const STATE_CONDITION: Readonly<Record<DiscrepancyStateFilter, string>> = {
  // Written as the partial indexes' predicates, so the planner can use them.
  open: `review_state = 'open'`,
  resolved: `discrepancy_id is not null and review_state = 'resolved'`,
  superseded: `discrepancy_id is not null and review_state = 'superseded'`,
  all: 'discrepancy_id is not null',
};

const T = `${READ_MODELS_SCHEMA}.reconciliation_items`;
const S = `${READ_MODELS_SCHEMA}.reconciliation_statements`;

/** The SQL behind the reconciliation reads. */
export class ReconciliationQueries {
  constructor(private readonly pool: Pool) {}

  /**
   * One channel and day: every import, and the findings of the current (or the asked-for)
   * statement, in one statement so that all of it comes from one snapshot. Findings are
   * bounded by what one import may write (1,000 events), so they come unpaginated.
   * Undefined when no statement was imported; `statement: null` when `statementId` is not one of them.
   */
  async report(
    channel: string,
    date: string,
    statementId: string | undefined,
  ): Promise<(Omit<ReconciliationReportResponse, 'statement'> & { statement: StatementResponse | null }) | undefined> {
    const { rows } = await this.pool.query<{ statements: StatementRow[] | null; items: FindingResponse[] | null; position: string | null; shown: string | null }>(
      `with s as (
         select * from ${S} where channel = $1 and statement_date = $2::date
       ), shown as (
         select statement_id from s where statement_id = coalesce($3::text, (select statement_id from s where superseded_by is null))
       )
       select
         (select json_agg(json_build_object(
                  'statementId', statement_id, 'current', superseded_by is null,
                  'itemCount', item_count, 'matchedCount', matched_count, 'discrepancyCount', discrepancy_count,
                  'supersedes', supersedes, 'supersededBy', superseded_by, 'supersededAt', ${isoMillis('superseded_at')},
                  'importedAt', ${isoMillis('imported_at')}, 'importedBy', imported_by) order by imported_at, statement_id)
            from s) as statements,
         (select statement_id from shown) as shown,
         (select json_agg(json_build_object(
                  'findingId', i.finding_id, 'outcome', i.outcome, 'itemId', i.item_id, 'discrepancyId', i.discrepancy_id,
                  'line', i.line, 'withdrawalId', i.withdrawal_id, 'providerReference', i.provider_reference,
                  'amountStatement', i.amount_statement::text, 'amountLedger', i.amount_ledger::text,
                  'currency', i.currency, 'currencyLedger', i.currency_ledger,
                  'statusStatement', i.status_statement, 'statusLedger', i.status_ledger, 'note', i.note,
                  'foundAt', ${isoMillis('i.found_at')}, 'reviewState', i.review_state,
                  'resolvedAt', ${isoMillis('i.resolved_at')}, 'resolvedBy', i.resolved_by, 'resolution', i.resolution,
                  'position', i.position::text) order by i.line nulls last, i.finding_id)
            from ${T} i
           where i.channel = $1 and i.statement_date = $2::date and i.statement_id = (select statement_id from shown)) as items,
         (select max(p)::text from (
            select max(position) as p from s
            union all
            select max(position) from ${T} where channel = $1 and statement_date = $2::date) positions) as position`,
      [channel, date, statementId ?? null],
    );
    const row = rows[0]!;
    if (row.statements === null) return undefined;
    const items = row.items ?? [];
    const outcomes = Object.fromEntries(FINDING_OUTCOMES.map((outcome) => [outcome, 0])) as Record<string, number>;
    const review = Object.fromEntries(REVIEW_STATES.map((state) => [state, 0])) as Record<string, number>;
    for (const item of items) {
      outcomes[item.outcome] = (outcomes[item.outcome] ?? 0) + 1;
      if (item.reviewState !== null) review[item.reviewState] = (review[item.reviewState] ?? 0) + 1;
    }
    return {
      channel,
      date,
      statement: row.statements.find((statement) => statement.statementId === row.shown) ?? null,
      summary: { outcomes, review },
      items,
      statements: row.statements,
      position: row.position ?? '0',
    };
  }

  /** The reconciliation review queue, oldest finding first: the order an operator works in. */
  async discrepancies(query: DiscrepancyListQuery, limit: number): Promise<Page<DiscrepancyResponse>> {
    const after = query.cursor === undefined ? undefined : decodeDiscrepancyCursor(query.cursor)!;
    const { rows } = await this.pool.query<DiscrepancyRow>(
      `select channel, statement_date::text as date, finding_id, statement_id, outcome, line, withdrawal_id, provider_reference,
              amount_statement::text as amount_statement, amount_ledger::text as amount_ledger, currency, currency_ledger,
              status_statement, status_ledger, note, ${isoMillis('found_at')} as found_at, review_state,
              ${isoMillis('resolved_at')} as resolved_at, resolved_by, resolution, position::text as position,
              ${isoMicros('found_at')} as found_at_key
         from ${T}
        where ${STATE_CONDITION[query.state ?? 'open']}
          and ($1::text is null or channel = $1)
          and ($2::text is null or outcome = $2)
          and ($3::timestamptz is null or (found_at, channel, statement_date, finding_id) > ($3::timestamptz, $4::text, $5::date, $6::text))
        order by found_at, channel, statement_date, finding_id
        limit $7`,
      [query.channel ?? null, query.kind ?? null, after?.at ?? null, after?.channel ?? null, after?.date ?? null, after?.id ?? null, limit + 1],
    );
    return toPage(
      rows,
      limit,
      (row) => ({
        channel: row.channel,
        date: row.date,
        discrepancyId: row.finding_id,
        statementId: row.statement_id,
        kind: row.outcome,
        line: row.line,
        withdrawalId: row.withdrawal_id,
        providerReference: row.provider_reference,
        amountStatement: row.amount_statement,
        amountLedger: row.amount_ledger,
        currency: row.currency,
        currencyLedger: row.currency_ledger,
        statusStatement: row.status_statement,
        statusLedger: row.status_ledger,
        note: row.note,
        foundAt: row.found_at,
        state: row.review_state,
        resolvedAt: row.resolved_at,
        resolvedBy: row.resolved_by,
        resolution: row.resolution,
        position: row.position,
      }),
      (row) => encodeDiscrepancyCursor({ at: row.found_at_key, channel: row.channel, date: row.date, id: row.finding_id }),
    );
  }
}

// ---------------------------------------------------------------------------------------
// The review queue's cursor: its sort key (found_at to the microsecond, channel, date,
// discrepancy id) as base64url JSON with a tag of its own, opaque to clients like the
// other lists' cursors (docs/read-api.md, "Pagination").
// ---------------------------------------------------------------------------------------

interface DiscrepancyCursor {
  at: string;
  channel: string;
  date: string;
  id: string;
}

const CURSOR_TAG = 'd';
const BASE64URL = /^[A-Za-z0-9_-]{1,512}$/;
const MICROS_TIMESTAMP = /^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z$/;

export function encodeDiscrepancyCursor(cursor: DiscrepancyCursor): string {
  return Buffer.from(JSON.stringify([CURSOR_TAG, cursor.at, cursor.channel, cursor.date, cursor.id]), 'utf8').toString('base64url');
}

/** The cursor, or undefined when `text` is not one this endpoint made. Checked before any SQL: a bad cursor is a 400. */
export function decodeDiscrepancyCursor(text: string): DiscrepancyCursor | undefined {
  if (!BASE64URL.test(text)) return undefined;
  const bytes = Buffer.from(text, 'base64url');
  if (bytes.toString('base64url') !== text) return undefined;
  let payload: unknown;
  try {
    payload = JSON.parse(bytes.toString('utf8'));
  } catch {
    return undefined;
  }
  if (!Array.isArray(payload) || payload.length !== 5 || payload[0] !== CURSOR_TAG) return undefined;
  const [, at, channel, date, id] = payload as unknown[];
  if (typeof at !== 'string' || !MICROS_TIMESTAMP.test(at) || !isIsoTimestamp(at)) return undefined;
  if (!isChannel(channel) || !isIsoDate(date)) return undefined;
  if (typeof id !== 'string' || !ENTITY_ID_PATTERN.test(id)) return undefined;
  return { at, channel, date, id };
}

function IsDiscrepancyCursor(options?: ValidationOptions): PropertyDecorator {
  return (target, propertyName) =>
    registerDecorator({
      name: 'isCursor',
      target: target.constructor,
      propertyName: propertyName as string,
      options: { message: '$property must be a nextCursor returned by this endpoint, unchanged', ...options },
      validator: { validate: (value: unknown) => typeof value === 'string' && decodeDiscrepancyCursor(value) !== undefined },
    });
}
