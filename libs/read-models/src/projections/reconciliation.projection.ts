import { decodeAmount, type ReconciliationEvent } from '@ledger/domain';
import type { RecordedEvent } from '@ledger/event-store';
import { ProjectionInvariantViolation } from '../errors';
import type { Projection, ProjectionTransaction } from '../projection';
import { ledgerEventOf } from './decode';
import { plainArray, textArray } from './sql-arrays';

interface StatementRow {
  channel: string;
  statementDate: string;
  statementId: string;
  itemCount: number;
  matchedCount: number;
  discrepancyCount: number;
  supersedes: string | null;
  supersededBy: string | null;
  supersededAt: string | null;
  importedAt: string;
  importedBy: string;
  position: bigint;
}

interface Supersession {
  channel: string;
  statementDate: string;
  statementId: string;
  supersededBy: string;
  supersededAt: string;
  position: bigint;
}

interface ItemRow {
  channel: string;
  statementDate: string;
  findingId: string;
  statementId: string;
  outcome: string;
  itemId: string | null;
  discrepancyId: string | null;
  line: number | null;
  withdrawalId: string | null;
  providerReference: string | null;
  amountStatement: string | null;
  amountLedger: string | null;
  currency: string | null;
  currencyLedger: string | null;
  statusStatement: string | null;
  statusLedger: string | null;
  note: string | null;
  foundAt: string;
  review: Review | null;
  position: bigint;
}

interface Review {
  state: 'open' | 'resolved' | 'superseded';
  resolvedAt: string | null;
  resolvedBy: string | null;
  resolution: string | null;
}

interface Resolution extends Review {
  channel: string;
  statementDate: string;
  discrepancyId: string;
  position: bigint;
}

/** The projection's name: its checkpoint key, and what the read API waits for. */
export const RECONCILIATION_PROJECTION = 'reconciliation';

/**
 * `reconciliation_statements` and `reconciliation_items` from the `reconciliation-*`
 * streams (docs/reconciliation.md):
 *
 *   StatementImported     a statement row; when it supersedes one, that row gets superseded_by/at
 *   ItemMatched           an item row, outcome `matched`
 *   DiscrepancyFound      an item row, outcome = kind, review_state `open`
 *   DiscrepancyResolved   the item's review ends: `resolved` by an operator, or `superseded`
 *
 * A batch folds in memory what it creates (an import is one append, but a batch may end in
 * the middle of it), then writes at most five statements: update superseded statements,
 * insert statements, insert items, update resolved items. Superseded rows are updated before
 * the new ones are inserted so the "one current statement per day" index holds at every step.
 */
export class ReconciliationProjection implements Projection {
  readonly name = RECONCILIATION_PROJECTION;
  readonly tables = ['reconciliation_statements', 'reconciliation_items'] as const;

  async apply(batch: readonly RecordedEvent[], tx: ProjectionTransaction): Promise<void> {
    const statements = new Map<string, StatementRow>();
    const supersessions: Supersession[] = [];
    const items = new Map<string, ItemRow>();
    const resolutions: Resolution[] = [];

    for (const recorded of batch) {
      if (!recorded.streamName.startsWith('reconciliation-')) continue;
      const event = ledgerEventOf(recorded) as ReconciliationEvent | null;
      if (event === null) continue;
      const position = recorded.globalPosition;
      switch (event.type) {
        case 'StatementImported': {
          const { data } = event;
          if (data.supersedes !== null) {
            const earlier = statements.get(key(data.channel, data.statementDate, data.supersedes));
            if (earlier !== undefined) {
              earlier.supersededBy = data.statementId;
              earlier.supersededAt = data.importedAt;
              earlier.position = position;
            } else {
              supersessions.push({
                channel: data.channel,
                statementDate: data.statementDate,
                statementId: data.supersedes,
                supersededBy: data.statementId,
                supersededAt: data.importedAt,
                position,
              });
            }
          }
          statements.set(key(data.channel, data.statementDate, data.statementId), {
            channel: data.channel,
            statementDate: data.statementDate,
            statementId: data.statementId,
            itemCount: data.itemCount,
            matchedCount: data.matchedCount,
            discrepancyCount: data.discrepancyCount,
            supersedes: data.supersedes,
            supersededBy: null,
            supersededAt: null,
            importedAt: data.importedAt,
            importedBy: data.importedBy,
            position,
          });
          break;
        }
        case 'ItemMatched': {
          const { data } = event;
          // Decoded and re-encoded: a malformed amount in event data fails here, by name.
          const amount = decodeAmount(data.amount).toString();
          items.set(key(data.channel, data.statementDate, data.itemId), {
            channel: data.channel,
            statementDate: data.statementDate,
            findingId: data.itemId,
            statementId: data.statementId,
            outcome: 'matched',
            itemId: data.itemId,
            discrepancyId: null,
            line: data.line,
            withdrawalId: data.withdrawalId,
            providerReference: data.providerReference,
            amountStatement: amount,
            amountLedger: amount,
            currency: data.currency,
            currencyLedger: data.currency,
            statusStatement: data.status,
            statusLedger: data.status,
            note: null,
            foundAt: data.matchedAt,
            review: null,
            position,
          });
          break;
        }
        case 'DiscrepancyFound': {
          const { data } = event;
          items.set(key(data.channel, data.statementDate, data.discrepancyId), {
            channel: data.channel,
            statementDate: data.statementDate,
            findingId: data.discrepancyId,
            statementId: data.statementId,
            outcome: data.kind,
            itemId: data.itemId,
            discrepancyId: data.discrepancyId,
            line: data.line,
            withdrawalId: data.withdrawalId,
            providerReference: data.providerReference,
            amountStatement: data.amountStatement === null ? null : decodeAmount(data.amountStatement).toString(),
            amountLedger: data.amountLedger === null ? null : decodeAmount(data.amountLedger).toString(),
            currency: data.currency,
            currencyLedger: data.currencyLedger,
            statusStatement: data.statusStatement,
            statusLedger: data.statusLedger,
            note: data.note,
            foundAt: data.foundAt,
            review: { state: 'open', resolvedAt: null, resolvedBy: null, resolution: null },
            position,
          });
          break;
        }
        case 'DiscrepancyResolved': {
          const { data } = event;
          const review: Review = {
            state: data.supersededBy === null ? 'resolved' : 'superseded',
            resolvedAt: data.resolvedAt,
            resolvedBy: data.resolvedBy,
            resolution: data.resolution,
          };
          const found = items.get(key(data.channel, data.statementDate, data.discrepancyId));
          if (found !== undefined) {
            if (found.review?.state !== 'open') throw this.violation('a discrepancy was resolved twice', data.discrepancyId);
            found.review = review;
            found.position = position;
          } else {
            resolutions.push({ ...review, channel: data.channel, statementDate: data.statementDate, discrepancyId: data.discrepancyId, position });
          }
          break;
        }
        default:
          break;
      }
    }

    await this.supersede(supersessions, tx);
    await this.insertStatements([...statements.values()], tx);
    await this.insertItems([...items.values()], tx);
    await this.resolve(resolutions, tx);
  }

  private async supersede(rows: readonly Supersession[], tx: ProjectionTransaction): Promise<void> {
    if (rows.length === 0) return;
    const result = await tx.query(
      `update ${tx.table('reconciliation_statements')} as s
          set superseded_by = d.superseded_by, superseded_at = d.superseded_at, position = d.position
         from unnest($1::text[], $2::date[], $3::text[], $4::text[], $5::timestamptz[], $6::bigint[])
              as d(channel, statement_date, statement_id, superseded_by, superseded_at, position)
        where s.channel = d.channel and s.statement_date = d.statement_date and s.statement_id = d.statement_id
          and s.superseded_by is null`,
      [
        textArray(rows.map((r) => r.channel)),
        plainArray(rows.map((r) => r.statementDate)),
        plainArray(rows.map((r) => r.statementId)),
        plainArray(rows.map((r) => r.supersededBy)),
        plainArray(rows.map((r) => r.supersededAt)),
        plainArray(rows.map((r) => r.position.toString())),
      ],
    );
    if (result.rowCount !== rows.length) throw this.violation('a statement was superseded that is not the current one', rows[0]!.statementId);
  }

  private async insertStatements(rows: readonly StatementRow[], tx: ProjectionTransaction): Promise<void> {
    if (rows.length === 0) return;
    await tx.query(
      `insert into ${tx.table('reconciliation_statements')}
         (channel, statement_date, statement_id, item_count, matched_count, discrepancy_count, supersedes,
          superseded_by, superseded_at, imported_at, imported_by, position)
       select * from unnest($1::text[], $2::date[], $3::text[], $4::int[], $5::int[], $6::int[], $7::text[],
                            $8::text[], $9::timestamptz[], $10::timestamptz[], $11::text[], $12::bigint[])`,
      [
        textArray(rows.map((r) => r.channel)),
        plainArray(rows.map((r) => r.statementDate)),
        plainArray(rows.map((r) => r.statementId)),
        plainArray(rows.map((r) => r.itemCount)),
        plainArray(rows.map((r) => r.matchedCount)),
        plainArray(rows.map((r) => r.discrepancyCount)),
        plainArray(rows.map((r) => r.supersedes)),
        plainArray(rows.map((r) => r.supersededBy)),
        plainArray(rows.map((r) => r.supersededAt)),
        plainArray(rows.map((r) => r.importedAt)),
        textArray(rows.map((r) => r.importedBy)),
        plainArray(rows.map((r) => r.position.toString())),
      ],
    );
  }

  private async insertItems(rows: readonly ItemRow[], tx: ProjectionTransaction): Promise<void> {
    if (rows.length === 0) return;
    await tx.query(
      `insert into ${tx.table('reconciliation_items')}
         (channel, statement_date, finding_id, statement_id, outcome, item_id, discrepancy_id, line, withdrawal_id,
          provider_reference, amount_statement, amount_ledger, currency, currency_ledger, status_statement,
          status_ledger, note, found_at, review_state, resolved_at, resolved_by, resolution, position)
       select * from unnest($1::text[], $2::date[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
                            $8::int[], $9::text[], $10::text[], $11::bigint[], $12::bigint[], $13::text[],
                            $14::text[], $15::text[], $16::text[], $17::text[], $18::timestamptz[], $19::text[],
                            $20::timestamptz[], $21::text[], $22::text[], $23::bigint[])`,
      [
        textArray(rows.map((r) => r.channel)),
        plainArray(rows.map((r) => r.statementDate)),
        textArray(rows.map((r) => r.findingId)),
        plainArray(rows.map((r) => r.statementId)),
        textArray(rows.map((r) => r.outcome)),
        textArray(rows.map((r) => r.itemId)),
        textArray(rows.map((r) => r.discrepancyId)),
        plainArray(rows.map((r) => r.line)),
        textArray(rows.map((r) => r.withdrawalId)),
        textArray(rows.map((r) => r.providerReference)),
        plainArray(rows.map((r) => r.amountStatement)),
        plainArray(rows.map((r) => r.amountLedger)),
        textArray(rows.map((r) => r.currency)),
        textArray(rows.map((r) => r.currencyLedger)),
        textArray(rows.map((r) => r.statusStatement)),
        textArray(rows.map((r) => r.statusLedger)),
        textArray(rows.map((r) => r.note)),
        plainArray(rows.map((r) => r.foundAt)),
        textArray(rows.map((r) => r.review?.state ?? null)),
        plainArray(rows.map((r) => r.review?.resolvedAt ?? null)),
        textArray(rows.map((r) => r.review?.resolvedBy ?? null)),
        textArray(rows.map((r) => r.review?.resolution ?? null)),
        plainArray(rows.map((r) => r.position.toString())),
      ],
    );
  }

  private async resolve(rows: readonly Resolution[], tx: ProjectionTransaction): Promise<void> {
    if (rows.length === 0) return;
    const result = await tx.query(
      `update ${tx.table('reconciliation_items')} as i
          set review_state = d.review_state, resolved_at = d.resolved_at, resolved_by = d.resolved_by,
              resolution = d.resolution, position = d.position
         from unnest($1::text[], $2::date[], $3::text[], $4::text[], $5::timestamptz[], $6::text[], $7::text[], $8::bigint[])
              as d(channel, statement_date, finding_id, review_state, resolved_at, resolved_by, resolution, position)
        where i.channel = d.channel and i.statement_date = d.statement_date and i.finding_id = d.finding_id
          and i.review_state = 'open'`,
      [
        textArray(rows.map((r) => r.channel)),
        plainArray(rows.map((r) => r.statementDate)),
        textArray(rows.map((r) => r.discrepancyId)),
        textArray(rows.map((r) => r.state)),
        plainArray(rows.map((r) => r.resolvedAt)),
        textArray(rows.map((r) => r.resolvedBy)),
        textArray(rows.map((r) => r.resolution)),
        plainArray(rows.map((r) => r.position.toString())),
      ],
    );
    if (result.rowCount !== rows.length) throw this.violation('a discrepancy was resolved that is not open', rows[0]!.discrepancyId);
  }

  private violation(message: string, id: string): ProjectionInvariantViolation {
    return new ProjectionInvariantViolation(this.name, message, { id });
  }
}

/** Channels are `[a-z0-9_]` and dates `YYYY-MM-DD`, so a newline cannot occur inside a part. */
function key(channel: string, statementDate: string, id: string): string {
  return `${channel}\n${statementDate}\n${id}`;
}
