import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { createPaymentChannels, generateWebhookSecret, sandboxChannelConfig } from '@ledger/payments';
import { startTracing, type Tracing } from '@ledger/platform';
import { createProjector, createPayoutProcessManager, type PayoutProcessManager, type ProjectorApp } from '../../apps/projector/src';
import { startSandboxProvider, type RunningSandboxProvider } from '../../apps/sandbox-provider/src';
import { post, startLedgerApi, type Harness } from '../../apps/ledger-api/src/testing/ledger-api-harness';

/**
 * One trace from an HTTP request to the payout it causes, across the command API, the
 * event store, the projector and the payout process manager: the request's traceparent is
 * honoured, every appended event names the command span that appended it, the process
 * manager's reactions continue the trace from the event's metadata, and the projection
 * batch that made the write readable links to it.
 */
describe('OpenTelemetry traces from HTTP through append to projection and payout', () => {
  const exporter = new InMemorySpanExporter();
  let tracing: Tracing;
  let api: Harness;
  let sandbox: RunningSandboxProvider;
  let projector: ProjectorApp;
  let payouts: PayoutProcessManager;

  beforeAll(async () => {
    tracing = startTracing({ serviceName: 'ledger-test', exporter, synchronous: true })!;
    const secret = generateWebhookSecret();
    const apiKey = 'sandbox-trace-key-0001';
    api = await startLedgerApi();
    sandbox = await startSandboxProvider({ apiKey, webhookSecrets: [secret], seed: 7, behaviour: { settleDelayMs: 10 } });
    const { router } = createPaymentChannels([sandboxChannelConfig({ baseUrl: sandbox.url, apiKey, webhookSecrets: [secret] })]);
    projector = createProjector({ store: api.store, url: api.database.url });
    await projector.start();
    payouts = createPayoutProcessManager({ store: api.store, url: api.database.url, routing: router });
    await payouts.start();
  }, 60_000);

  afterAll(async () => {
    await payouts?.stop();
    await projector?.stop();
    await sandbox?.close();
    await api?.close();
    await tracing?.shutdown();
  });

  it('joins the caller trace, and every hop after it, into one trace', async () => {
    const callerTrace = '4bf92f3577b34da6a3ce929d0e0e4736';
    const callerSpan = '00f067aa0ba902b7';
    const traceparent = `00-${callerTrace}-${callerSpan}-01`;
    const key = api.keys.all;
    expect((await post(api.baseUrl, '/v1/accounts', { accountId: 'traced-1', ownerId: 'o', currency: 'EUR' }, { key })).status).toBe(201);
    expect((await post(api.baseUrl, '/v1/accounts/traced-1/deposits', { amount: '1000', currency: 'EUR', reference: 'r' }, { key })).status).toBe(201);
    const withdrawal = await post(
      api.baseUrl,
      '/v1/withdrawals',
      {
        accountId: 'traced-1',
        amount: '400',
        currency: 'EUR',
        destination: { type: 'bank_account', accountNumber: 'DE89370400440532013000', bankCode: 'COBADEFFXXX', holderName: 'Ada' },
      },
      { key, headers: { traceparent } },
    );
    expect(withdrawal.status).toBe(202);
    const withdrawalId = String(withdrawal.body.withdrawalId);

    // Wait for the payout to be initiated and submitted, and for the projector to catch up.
    for (let tries = 0; tries < 200; tries += 1) {
      const stream = await api.store.readStream(`withdrawal-${withdrawalId}`).catch(() => []);
      if (stream.some((event) => event.type === 'PayoutSubmitted')) break;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    await projector.waitFor(undefined, 10_000);

    const spans = exporter.getFinishedSpans();
    const inTrace = spans.filter((span) => span.spanContext().traceId === callerTrace);
    const named = (name: string): ReadableSpan[] => inTrace.filter((span) => span.name === name);
    const parentOf = (span: ReadableSpan) => span.parentSpanContext?.spanId;

    const [server] = named('HTTP POST');
    expect(server).toBeDefined();
    expect(parentOf(server!)).toBe(callerSpan);
    const [command] = named('command RequestWithdrawal');
    expect(command).toBeDefined();
    expect(parentOf(command!)).toBe(server!.spanContext().spanId);

    // The events name the command span as their parent.
    const accountEvents = await api.store.readStream('account-traced-1');
    const debited = accountEvents.find((event) => event.type === 'Debited')!;
    expect(debited.metadata.traceparent).toBe(`00-${callerTrace}-${command!.spanContext().spanId}-01`);

    // The process manager's reaction to Debited continues the trace under the command span.
    const [reaction] = named('payout reaction Debited');
    expect(reaction).toBeDefined();
    expect(parentOf(reaction!)).toBe(command!.spanContext().spanId);
    // What the reaction appended names the reaction's span, and the reaction to that event
    // (submitting the payout to the provider) is its child: the chain goes on.
    const initiated = (await api.store.readStream(`withdrawal-${withdrawalId}`)).find((event) => event.type === 'PayoutInitiated')!;
    expect(initiated.metadata.traceparent).toBe(`00-${callerTrace}-${reaction!.spanContext().spanId}-01`);
    const [submit] = named('payout reaction PayoutInitiated');
    expect(submit).toBeDefined();
    expect(parentOf(submit!)).toBe(reaction!.spanContext().spanId);

    // The projection batch that wrote the withdrawal links to the command's span.
    const batches = spans.filter((span) => span.name === 'projection batch');
    expect(batches.some((batch) => batch.links.some((link) => link.context.spanId === command!.spanContext().spanId))).toBe(true);
  }, 60_000);
});
