import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { paymentMetrics } from '@ledger/payments';
import { ProjectorMetrics } from '@ledger/read-models';
import { LedgerApiMetrics } from '../../apps/ledger-api/src/shared/ledger-api-metrics';
import { payoutMetrics } from '../../apps/projector/src/payouts/payout-metrics';
import { ReadApiMetrics } from '../../apps/read-api/src/metrics/read-api-metrics';

/**
 * The example Grafana dashboard (docker/grafana/ledger-dashboard.json) may only query series
 * the code registers, with labels those series have: a renamed metric or label must fail
 * here rather than leave an empty panel in front of the person on call.
 */
const dashboard = JSON.parse(readFileSync(join(__dirname, '..', '..', 'docker', 'grafana', 'ledger-dashboard.json'), 'utf8')) as {
  panels: Array<{ title: string; targets?: Array<{ expr: string }> }>;
};

function registeredMetrics(): Map<string, string[]> {
  const registry = new Registry();
  new LedgerApiMetrics(registry);
  new ReadApiMetrics(registry, async () => ({ head: undefined, lags: [] }), async () => ({ withdrawals: 0, discrepancies: 0 }));
  new ProjectorMetrics({ registry });
  payoutMetrics(registry);
  paymentMetrics(registry);
  const metrics = new Map<string, string[]>();
  for (const metric of registry.getMetricsAsArray()) {
    const { name, labelNames } = metric as unknown as { name: string; labelNames?: string[] };
    metrics.set(name, labelNames ?? []);
  }
  return metrics;
}

const HISTOGRAM_SUFFIX = /_(bucket|count|sum)$/;

describe('the example Grafana dashboard', () => {
  const metrics = registeredMetrics();
  const queries = dashboard.panels.flatMap((panel) => (panel.targets ?? []).map((target) => ({ panel: panel.title, expr: target.expr })));

  it('has queries', () => {
    expect(queries.length).toBeGreaterThan(10);
  });

  it.each(queries.map((query) => [query.panel, query.expr]))('%s: %s', (_panel, expr) => {
    const names = [...expr.matchAll(/\b(ledger_[a-z_]+)\b/g)].map((match) => match[1]!);
    expect(names.length).toBeGreaterThan(0);
    const labelsAllowed = new Set<string>(['le']);
    for (const raw of names) {
      const name = metrics.has(raw) ? raw : raw.replace(HISTOGRAM_SUFFIX, '');
      expect({ metric: raw, registered: metrics.has(name) }).toEqual({ metric: raw, registered: true });
      for (const label of metrics.get(name)!) labelsAllowed.add(label);
    }
    const used = [
      ...[...expr.matchAll(/\bby \(([^)]*)\)/g)].flatMap((match) => match[1]!.split(',').map((label) => label.trim())),
      ...[...expr.matchAll(/\{([^}]*)\}/g)].flatMap((match) => [...match[1]!.matchAll(/([a-z_]+)\s*=/g)].map((label) => label[1]!)),
    ].filter(Boolean);
    for (const label of used) expect({ label, known: labelsAllowed.has(label) }).toEqual({ label, known: true });
  });
});
