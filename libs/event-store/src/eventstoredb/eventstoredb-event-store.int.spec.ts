import { describeEventStoreContract, events, streamName } from '../testing/event-store.contract';
import { EventStoreDbEventStore } from './eventstoredb-event-store';

/*
 * The shared contract against a real EventStoreDB, e.g. the one in docker/:
 *   EVENTSTORE_URL='esdb://localhost:2113?tls=false' npx jest eventstoredb
 * Without EVENTSTORE_URL the suite is reported as skipped, never as passed.
 */
const url = process.env.EVENTSTORE_URL;

if (url) {
  describeEventStoreContract(
    'EventStoreDB',
    async () => {
      const store = EventStoreDbEventStore.connect(url);
      // Fail the whole suite at once, with the real reason, if the server is not there.
      await store.headPosition();
      return { store };
    },
    async ({ store }) => store.close(),
  );

  describe('EventStoreDB specifics', () => {
    let store: EventStoreDbEventStore;
    beforeAll(() => {
      store = EventStoreDbEventStore.connect(url);
    });
    afterAll(async () => {
      await store.close();
    });

    it('reports the same position for an event through append, readStream, readAll and headPosition', async () => {
      const stream = streamName();
      const result = await store.append(stream, events(3), { expectedRevision: 'no_stream' });
      const [, , last] = await store.readStream(stream);
      expect(last!.globalPosition).toBe(result.position);
      expect(await store.headPosition()).toBe(result.position);
      const [before] = await store.readStream(stream, { fromRevision: 1n, maxCount: 1 });
      expect(await store.readAll(before!.globalPosition, 1)).toEqual([last]);
    });
  });
} else {
  describe.skip('EventStore contract: EventStoreDB (set EVENTSTORE_URL to run)', () => {
    it('needs a server', () => undefined);
  });
}
