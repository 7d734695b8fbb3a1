import { Client } from 'pg';
import { closedLoop } from '../lib/measure';
import { payloadBytes, rooflinePayload } from '../lib/payload';
import type { Scenario } from '../lib/scenario';

export const ROOFLINE_CLIENTS = [1, 8, 32] as const;

/**
 * The ceiling the event store is compared with: the cheapest durable write node-pg can
 * make, one autocommitted single-row INSERT per transaction, from N clients with one
 * connection each. Each commit waits for its WAL flush, so this is what fsync on this
 * machine allows when nothing is batched in the application.
 */
export const rooflineInsert: Scenario = {
  name: 'roofline-insert',
  needsRoofline: false,
  inDefaultSuite: true,
  async run(context) {
    const setup = new Client({ connectionString: context.database.url });
    await setup.connect();
    await setup.query('create table roofline (id bigserial primary key, payload jsonb not null)');
    await setup.end();

    const payload = rooflinePayload();
    const points = [];
    for (const clients of ROOFLINE_CLIENTS) {
      const connections = await Promise.all(
        Array.from({ length: clients }, async () => {
          const client = new Client({ connectionString: context.database.url, application_name: 'ledger-bench' });
          await client.connect();
          return client;
        }),
      );
      try {
        const result = await closedLoop(clients, context.timing, async (worker) => {
          await connections[worker]!.query('insert into roofline (payload) values ($1)', [payload]);
        }, { meter: context.cpu });
        context.roofline.set(clients, result.operations_per_second);
        context.log(`roofline-insert: ${clients} clients: ${result.operations_per_second} tx/s`);
        points.push({
          clients,
          tx_per_second: result.operations_per_second,
          latency_ms_p50: result.latency_ms_p50,
          latency_ms_p99: result.latency_ms_p99,
          latency_ms_max: result.latency_ms_max,
          transactions: result.operations,
          ...result.cpu,
        });
      } finally {
        await Promise.all(connections.map((client) => client.end().catch(() => undefined)));
      }
    }
    return [
      {
        scenario: 'roofline-insert',
        parameters: {
          clients: [...ROOFLINE_CLIENTS],
          statement: 'insert into roofline (payload) values ($1) -- autocommit, one connection per client',
          payload_bytes: payloadBytes(),
          warmup_s: context.timing.warmupMs / 1_000,
          measure_s: context.timing.measureMs / 1_000,
        },
        points,
        target: null,
        pass: true,
        reference: { architecture_8_tx_per_second: [3_200, 11_600, 15_000], source: 'ARCHITECTURE.md §8, same machine kind' },
      },
    ];
  },
};
