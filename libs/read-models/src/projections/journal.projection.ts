import { postingsOf, validatePostings } from '@ledger/domain';
import type { RecordedEvent } from '@ledger/event-store';
import { ProjectionInvariantViolation } from '../errors';
import type { Projection, ProjectionTransaction } from '../projection';
import { iso, ledgerEventOf, parseUserLedgerAccount } from './decode';
import { plainArray, textArray } from './sql-arrays';

/**
 * `journal_entries`: every posting of every money event, keyed by (global position, index
 * of the posting in its event). The table is the double-entry ledger itself: per currency,
 * `sum(credits) - sum(debits)` over all rows is zero at every checkpoint, because each
 * event's postings balance and are written together or not at all.
 *
 * Postings are checked before they are written (known ledger account, positive canonical
 * amount, balanced per currency). An event that fails the check stops the projection
 * rather than leave the journal unbalanced. A plain INSERT is deliberate: the checkpoint's
 * compare-and-set guarantees no position is applied twice, so a duplicate key here would be
 * a bug and must fail loudly, not be skipped.
 */
export class JournalProjection implements Projection {
  readonly name = 'journal';
  readonly tables = ['journal_entries'] as const;

  async apply(batch: readonly RecordedEvent[], tx: ProjectionTransaction): Promise<void> {
    const positions: string[] = [];
    const postingIndexes: number[] = [];
    const streamNames: string[] = [];
    const eventTypes: string[] = [];
    const eventIds: string[] = [];
    const ledgerAccounts: string[] = [];
    const accountIds: (string | null)[] = [];
    const sides: string[] = [];
    const amounts: string[] = [];
    const currencies: string[] = [];
    const recordedAts: string[] = [];

    for (const recorded of batch) {
      const event = ledgerEventOf(recorded);
      if (event === null) continue;
      const postings = postingsOf(event);
      if (postings.length === 0) continue;
      const problems = validatePostings(postings);
      if (problems.length > 0) {
        throw new ProjectionInvariantViolation(this.name, `invalid postings: ${problems.join('; ')}`, {
          position: recorded.globalPosition.toString(),
          eventType: recorded.type,
        });
      }
      const position = recorded.globalPosition.toString();
      const recordedAt = iso(recorded.recordedAt);
      postings.forEach((posting, index) => {
        positions.push(position);
        postingIndexes.push(index);
        streamNames.push(recorded.streamName);
        eventTypes.push(recorded.type);
        eventIds.push(recorded.id);
        ledgerAccounts.push(posting.account);
        accountIds.push(parseUserLedgerAccount(posting.account)?.accountId ?? null);
        sides.push(posting.side);
        amounts.push(posting.amount);
        currencies.push(posting.currency);
        recordedAts.push(recordedAt);
      });
    }
    if (positions.length === 0) return;
    await tx.query(
      `insert into ${tx.table('journal_entries')}
         (position, posting_index, stream_name, event_type, event_id, ledger_account, account_id,
          side, amount, currency, recorded_at)
       select * from unnest($1::bigint[], $2::int[], $3::text[], $4::text[], $5::uuid[], $6::text[],
                            $7::text[], $8::text[], $9::bigint[], $10::text[], $11::timestamptz[])`,
      [
        plainArray(positions),
        plainArray(postingIndexes),
        textArray(streamNames),
        textArray(eventTypes),
        plainArray(eventIds),
        textArray(ledgerAccounts),
        textArray(accountIds),
        plainArray(sides),
        plainArray(amounts),
        plainArray(currencies),
        plainArray(recordedAts),
      ],
    );
  }
}
