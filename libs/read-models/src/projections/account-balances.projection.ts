import { decodeAmount, postingsOf } from '@ledger/domain';
import type { RecordedEvent } from '@ledger/event-store';
import { ProjectionInvariantViolation } from '../errors';
import type { Projection, ProjectionTransaction } from '../projection';
import { accountIdOfStream, iso, ledgerEventOf, parseUserLedgerAccount } from './decode';
import { plainArray, textArray } from './sql-arrays';

/** One account's net change over a batch. */
interface AccountChange {
  readonly accountId: string;
  opened: { ownerId: string; currency: string; openedAt: string } | null;
  /** The currency of the batch's postings to this account, when there were any. */
  currency: string | null;
  available: bigint;
  pending: bigint;
  /** The last freeze flag set in the batch; null when the batch did not change it. */
  frozen: boolean | null;
  position: bigint;
  updatedAt: Date;
}

/**
 * `account_balances`: one row per user account, equal to the account decider's state.
 *
 * Balances come from the postings, with the ledger's one sign rule (credit adds, debit
 * subtracts) applied to `user:<id>:available` and `user:<id>:pending`; the domain
 * guarantees those ledger balances equal the decider's `amountAvailable` and
 * `amountPending`, so the read model and the journal cannot disagree. A batch becomes one
 * INSERT for accounts opened in it and one UPDATE that adds each other account's net delta.
 */
export class AccountBalancesProjection implements Projection {
  readonly name = 'balances';
  readonly tables = ['account_balances'] as const;

  async apply(batch: readonly RecordedEvent[], tx: ProjectionTransaction): Promise<void> {
    const changes = new Map<string, AccountChange>();
    const touch = (accountId: string, recorded: RecordedEvent): AccountChange => {
      let change = changes.get(accountId);
      if (change === undefined) {
        change = {
          accountId,
          opened: null,
          currency: null,
          available: 0n,
          pending: 0n,
          frozen: null,
          position: recorded.globalPosition,
          updatedAt: recorded.recordedAt,
        };
        changes.set(accountId, change);
      }
      change.position = recorded.globalPosition;
      change.updatedAt = recorded.recordedAt;
      return change;
    };

    for (const recorded of batch) {
      const event = ledgerEventOf(recorded);
      if (event === null) continue;
      const streamAccountId = accountIdOfStream(recorded.streamName);
      if (streamAccountId !== null) {
        const change = touch(streamAccountId, recorded);
        if (event.type === 'AccountOpened') {
          if (change.opened !== null || change.currency !== null || change.frozen !== null) {
            throw this.violation('AccountOpened after other events of the account', recorded);
          }
          change.opened = {
            ownerId: event.data.ownerId,
            currency: event.data.currency,
            openedAt: event.data.openedAt,
          };
        } else if (event.type === 'AccountFrozen') {
          change.frozen = true;
        } else if (event.type === 'AccountUnfrozen') {
          change.frozen = false;
        }
      }
      for (const posting of postingsOf(event)) {
        const user = parseUserLedgerAccount(posting.account);
        if (user === null) continue;
        const change = touch(user.accountId, recorded);
        const currency = change.currency ?? change.opened?.currency ?? posting.currency;
        if (posting.currency !== currency) {
          throw this.violation(`a ${posting.currency} posting to a ${currency} account`, recorded);
        }
        change.currency = currency;
        const amount = decodeAmount(posting.amount);
        const signed = posting.side === 'credit' ? amount : -amount;
        if (user.kind === 'available') change.available += signed;
        else change.pending += signed;
      }
    }

    const opened = [...changes.values()].filter((change) => change.opened !== null);
    const existing = [...changes.values()].filter((change) => change.opened === null);
    const table = tx.table('account_balances');

    if (opened.length > 0) {
      // A second AccountOpened for an existing account fails here on the primary key.
      await tx.query(
        `insert into ${table}
           (account_id, owner_id, currency, available, pending, frozen, opened_at, position, updated_at)
         select * from unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::bigint[],
                              $6::boolean[], $7::timestamptz[], $8::bigint[], $9::timestamptz[])`,
        [
          textArray(opened.map((c) => c.accountId)),
          textArray(opened.map((c) => c.opened!.ownerId)),
          textArray(opened.map((c) => c.opened!.currency)),
          plainArray(opened.map((c) => c.available.toString())),
          plainArray(opened.map((c) => c.pending.toString())),
          plainArray(opened.map((c) => c.frozen ?? false)),
          textArray(opened.map((c) => c.opened!.openedAt)),
          plainArray(opened.map((c) => c.position.toString())),
          plainArray(opened.map((c) => iso(c.updatedAt))),
        ],
      );
    }

    if (existing.length > 0) {
      const result = await tx.query(
        `update ${table} as b
            set available = b.available + d.available,
                pending = b.pending + d.pending,
                frozen = coalesce(d.frozen, b.frozen),
                position = d.position,
                updated_at = d.updated_at
           from unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[], $5::boolean[],
                       $6::bigint[], $7::timestamptz[])
                as d(account_id, currency, available, pending, frozen, position, updated_at)
          where b.account_id = d.account_id
            and (d.currency is null or b.currency = d.currency)`,
        [
          textArray(existing.map((c) => c.accountId)),
          textArray(existing.map((c) => c.currency)),
          plainArray(existing.map((c) => c.available.toString())),
          plainArray(existing.map((c) => c.pending.toString())),
          plainArray(existing.map((c) => c.frozen)),
          plainArray(existing.map((c) => c.position.toString())),
          plainArray(existing.map((c) => iso(c.updatedAt))),
        ],
      );
      if (result.rowCount !== existing.length) await this.explainMissing(existing, tx);
    }
  }

  /** Names the accounts an UPDATE did not reach, so the error says which event to look at. */
  private async explainMissing(changes: readonly AccountChange[], tx: ProjectionTransaction): Promise<never> {
    const { rows } = await tx.query<{ account_id: string; currency: string }>(
      `select account_id, currency from ${tx.table('account_balances')} where account_id = any($1::text[])`,
      [textArray(changes.map((c) => c.accountId))],
    );
    const found = new Map(rows.map((row) => [row.account_id, row.currency]));
    const missing = changes.find((c) => !found.has(c.accountId));
    if (missing !== undefined) {
      throw new ProjectionInvariantViolation(this.name, `events for account ${missing.accountId}, which was never opened`, {
        accountId: missing.accountId,
        position: missing.position.toString(),
      });
    }
    const mismatch = changes.find((c) => c.currency !== null && found.get(c.accountId) !== c.currency)!;
    throw new ProjectionInvariantViolation(
      this.name,
      `a ${mismatch.currency} posting to ${found.get(mismatch.accountId)} account ${mismatch.accountId}`,
      { accountId: mismatch.accountId, position: mismatch.position.toString() },
    );
  }

  private violation(message: string, recorded: RecordedEvent): ProjectionInvariantViolation {
    return new ProjectionInvariantViolation(this.name, message, {
      position: recorded.globalPosition.toString(),
      eventType: recorded.type,
      streamName: recorded.streamName,
    });
  }
}
