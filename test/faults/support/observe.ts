import { Client } from 'pg';

/** What the sandbox's `GET /admin/ledger` answers, as far as this suite reads it. */
export interface ProviderLedger {
  behaviour: Record<string, unknown>;
  requests: Record<string, number>;
  payouts: Array<{
    idempotencyKey: string;
    providerReference: string;
    withdrawalId: string;
    attempt: number;
    amount: string;
    currency: string;
    status: 'pending' | 'settled' | 'failed' | 'returned';
    reason: string | null;
    timesPaid: number;
    submissions: number;
  }>;
  callbacks: Array<{ webhookId: string; type: string; delivered: boolean; finished: boolean; attempts: unknown[] }>;
  pendingTasks: number;
}

export async function providerLedger(sandboxUrl: string): Promise<ProviderLedger> {
  const response = await fetch(`${sandboxUrl}/admin/ledger`, { signal: AbortSignal.timeout(10_000) });
  if (!response.ok) throw new Error(`GET /admin/ledger: ${response.status}`);
  return (await response.json()) as ProviderLedger;
}

export async function setProviderBehaviour(sandboxUrl: string, patch: Record<string, unknown>): Promise<void> {
  const response = await fetch(`${sandboxUrl}/admin/behaviour`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(patch),
    signal: AbortSignal.timeout(10_000),
  });
  if (!response.ok) throw new Error(`PUT /admin/behaviour ${JSON.stringify(patch)}: ${response.status} ${await response.text()}`);
}

/** Runs every settlement and callback the provider has scheduled, now. */
export async function flushProvider(sandboxUrl: string): Promise<{ ran: number; remaining: number }> {
  const response = await fetch(`${sandboxUrl}/admin/flush?all=true`, { method: 'POST', signal: AbortSignal.timeout(60_000) });
  if (!response.ok) throw new Error(`POST /admin/flush: ${response.status}`);
  return (await response.json()) as { ran: number; remaining: number };
}

/** One event of the log, as the suite reads it straight from the PostgreSQL event store. */
export interface StoredEvent {
  position: bigint;
  stream: string;
  type: string;
  data: Record<string, unknown>;
}

/** Where the system stands: the log's head, every checkpoint, the process manager's open work. */
export interface Progress {
  head: bigint;
  checkpoints: Record<string, bigint>;
  /** Payout attempts still waiting for an answer (`submitting`, `pending`, `unknown`). */
  openAttempts: number;
  /** Withdrawals by status in the read model. */
  statuses: Record<string, number>;
}

/** Read-only SQL on the system's database, for the drain's progress and the checks' evidence. */
export class Database {
  private constructor(private readonly client: Client) {}

  static async open(url: string): Promise<Database> {
    const client = new Client({ connectionString: url, application_name: 'faults-suite' });
    client.on('error', () => undefined);
    await client.connect();
    return new Database(client);
  }

  async progress(): Promise<Progress> {
    const head = await this.client.query<{ position: string }>('select coalesce(max(global_position), 0)::text as position from event_store.events');
    const checkpoints = await this.client.query<{ projection: string; position: string }>(
      'select projection, position::text from read_models.projection_checkpoints',
    );
    const attempts = await this.client.query<{ open: string }>(
      `select count(*)::text as open from payouts.attempts where status in ('submitting', 'pending', 'unknown')`,
    );
    const statuses = await this.client.query<{ status: string; count: string }>('select status, count(*)::text from read_models.withdrawals group by status');
    return {
      head: BigInt(head.rows[0]!.position),
      checkpoints: Object.fromEntries(checkpoints.rows.map((row) => [row.projection, BigInt(row.position)])),
      openAttempts: Number(attempts.rows[0]!.open),
      statuses: Object.fromEntries(statuses.rows.map((row) => [row.status, Number(row.count)])),
    };
  }

  async events(types: readonly string[]): Promise<StoredEvent[]> {
    const { rows } = await this.client.query<{ position: string; stream: string; type: string; data: Record<string, unknown> }>(
      `select global_position::text as position, stream_name as stream, event_type as type, data
         from event_store.events where event_type = any($1) order by global_position`,
      [types],
    );
    return rows.map((row) => ({ position: BigInt(row.position), stream: row.stream, type: row.type, data: row.data }));
  }

  async conflicts(): Promise<Array<{ withdrawal_id: string | null; kind: string; code: string }>> {
    const { rows } = await this.client.query<{ withdrawal_id: string | null; kind: string; code: string }>(
      'select withdrawal_id, kind, code from payouts.conflicts order by recorded_at',
    );
    return rows;
  }

  async close(): Promise<void> {
    await this.client.end().catch(() => undefined);
  }
}
