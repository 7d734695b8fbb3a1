import { randomBytes } from 'node:crypto';
import type { CompiledApps, RunningApp } from './compiled-apps';

export const SANDBOX_ENTRY = 'apps/sandbox-provider/src/main.ts';

/** What the sandbox's `GET /admin/ledger` answers, as far as these tests read it. */
export interface SandboxLedgerView {
  requests: Record<string, number>;
  payouts: Array<{
    idempotencyKey: string;
    providerReference: string;
    withdrawalId: string;
    attempt: number;
    amount: string;
    status: string;
    timesPaid: number;
    submissions: number;
  }>;
}

/**
 * The sandbox provider as a process, driven over HTTP through its admin routes. Test-only.
 * It sends no callbacks (no callback URL): these tests hand callbacks to the process manager
 * as the events the callback endpoint would record, and the timers' status queries find
 * the rest.
 */
export class SandboxProcess {
  private constructor(
    private readonly app: RunningApp,
    readonly url: string,
    readonly apiKey: string,
    readonly webhookSecret: string,
  ) {}

  static async start(
    apps: CompiledApps,
    options: { seed: number; currencies?: string[]; maxAmount?: bigint; behaviour?: Record<string, unknown> },
  ): Promise<SandboxProcess> {
    const apiKey = `sandbox-key-${randomBytes(8).toString('hex')}`;
    const webhookSecret = `whsec_${randomBytes(32).toString('base64')}`;
    const app = apps.start(
      SANDBOX_ENTRY,
      {
        PORT: '0',
        SANDBOX_SEED: String(options.seed),
        SANDBOX_API_KEY: apiKey,
        SANDBOX_WEBHOOK_SECRETS: webhookSecret,
        ...(options.currencies ? { SANDBOX_CURRENCIES: options.currencies.join(',') } : {}),
        ...(options.maxAmount !== undefined ? { SANDBOX_MAX_AMOUNT: options.maxAmount.toString() } : {}),
        SANDBOX_BEHAVIOUR: JSON.stringify(options.behaviour ?? {}),
      },
      (line) => typeof line.listening === 'number',
    );
    const ready = await app.started;
    return new SandboxProcess(app, `http://127.0.0.1:${String(ready.listening)}`, apiKey, webhookSecret);
  }

  async ledger(): Promise<SandboxLedgerView> {
    const response = await fetch(`${this.url}/admin/ledger`);
    return (await response.json()) as SandboxLedgerView;
  }

  async setBehaviour(patch: Record<string, unknown>): Promise<void> {
    const response = await fetch(`${this.url}/admin/behaviour`, {
      method: 'PUT',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(patch),
    });
    if (!response.ok) throw new Error(`behaviour ${JSON.stringify(patch)} refused: ${response.status} ${await response.text()}`);
  }

  async payoutsOf(withdrawalId: string): Promise<SandboxLedgerView['payouts']> {
    return (await this.ledger()).payouts.filter((payout) => payout.withdrawalId === withdrawalId);
  }

  async stop(): Promise<void> {
    this.app.child.kill('SIGKILL');
    await this.app.exited;
  }
}
