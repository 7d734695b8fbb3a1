import { Registry } from 'prom-client';
import type { CircuitState } from './channel.port';
import { paymentMetrics } from './metrics';

describe('payment metrics', () => {
  it('are registered once per registry, never in the global one', async () => {
    const registry = new Registry();
    expect(paymentMetrics(registry)).toBe(paymentMetrics(registry));
    expect(paymentMetrics(new Registry())).not.toBe(paymentMetrics(registry));
    const names = (await registry.getMetricsAsJSON()).map((metric) => metric.name).sort();
    expect(names).toEqual([
      'ledger_callback_verification_failures_total',
      'ledger_payment_channel_circuit_state',
      'ledger_payment_channel_request_duration_seconds',
      'ledger_payouts_total',
    ]);
  });

  it('count outcomes and refused callbacks, and read circuit states at scrape time', async () => {
    const registry = new Registry();
    const metrics = paymentMetrics(registry);
    let state: CircuitState = 'closed';
    metrics.watchCircuit('sandbox', () => state);
    metrics.recordPayout('sandbox', 'settled');
    metrics.recordPayout('sandbox', 'settled');
    metrics.recordCallbackVerificationFailure('sandbox', 'stale_timestamp');
    metrics.observeRequest('sandbox', 'status', 0.02);

    let text = await registry.metrics();
    expect(text).toContain('ledger_payouts_total{channel="sandbox",outcome="settled"} 2');
    expect(text).toContain('ledger_callback_verification_failures_total{channel="sandbox",reason="stale_timestamp"} 1');
    expect(text).toContain('ledger_payment_channel_request_duration_seconds_count{channel="sandbox",operation="status"} 1');
    expect(text).toContain('ledger_payment_channel_circuit_state{channel="sandbox"} 0');
    state = 'open';
    text = await registry.metrics();
    expect(text).toContain('ledger_payment_channel_circuit_state{channel="sandbox"} 2');
  });
});
