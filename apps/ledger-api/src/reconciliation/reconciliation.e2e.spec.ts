import { randomUUID } from 'node:crypto';
import { reconciliationStream } from '@ledger/domain';
import { importStatement, type ImportStatementResult } from '@ledger/reconciliation';
import { post, startLedgerApi, type Harness } from '../testing/ledger-api-harness';

let api: Harness;
beforeAll(async () => {
  api = await startLedgerApi();
});
afterAll(async () => {
  await api?.close();
});

const CHANNEL = 'bank_one';
const HEADER = 'provider_reference,withdrawal_id,amount_minor,currency,settled_date,status';

/** A statement whose lines the (empty) ledger does not know: one `missing_in_ledger` discrepancy per line. */
function importLines(date: string, withdrawalIds: string[]): Promise<ImportStatementResult> {
  const csv = [HEADER, ...withdrawalIds.map((id) => `psp_${id},${id},100,EUR,${date},settled`)].join('\n');
  return importStatement({ store: api.store, channel: CHANNEL, date, csv, principal: 'cli:test', now: new Date().toISOString() });
}

const resolvePath = (date: string, discrepancyId: string, channel = CHANNEL) =>
  `/v1/reconciliation/${channel}/${date}/discrepancies/${discrepancyId}/resolve`;

function resolve(date: string, discrepancyId: string, body: unknown = { reason: 'confirmed with the provider' }, options: { key?: string; idempotencyKey?: string } = {}) {
  return post(api.baseUrl, resolvePath(date, discrepancyId), body, { key: api.keys.ops, ...options });
}

describe('POST /v1/reconciliation/{channel}/{date}/discrepancies/{discrepancyId}/resolve', () => {
  it('resolves an open discrepancy: 200, DiscrepancyResolved by the operator, audited in the metadata', async () => {
    const date = '2026-11-01';
    const imported = await importLines(date, ['wd-a', 'wd-b']);
    const discrepancyId = imported.discrepancies[0]!.discrepancyId;
    const answer = await resolve(date, discrepancyId, { reason: 'a test payout the provider sent by hand' });
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({
      channel: CHANNEL,
      date,
      discrepancyId,
      state: 'resolved',
      resolution: 'a test payout the provider sent by hand',
      resolvedAt: expect.stringMatching(/^2[0-9-]+T[0-9:.]+Z$/),
      resolvedBy: 'api-key:ops',
      position: expect.stringMatching(/^[0-9]+$/),
    });
    const last = (await api.store.readStream(reconciliationStream(CHANNEL, date))).at(-1)!;
    expect(last.type).toBe('DiscrepancyResolved');
    expect(last.data).toEqual({
      channel: CHANNEL,
      statementDate: date,
      discrepancyId,
      resolution: 'a test payout the provider sent by hand',
      supersededBy: null,
      resolvedAt: answer.body.resolvedAt,
      resolvedBy: 'api-key:ops',
    });
    expect(last.metadata).toMatchObject({ principal: 'api-key:ops', causationId: answer.headers.get('x-request-id') });
    expect(last.globalPosition.toString()).toBe(answer.body.position);
  });

  it('replays the stored answer for the same Idempotency-Key and refuses the key for another request', async () => {
    const date = '2026-11-02';
    const imported = await importLines(date, ['wd-a', 'wd-b']);
    const idempotencyKey = randomUUID();
    const first = await resolve(date, imported.discrepancies[0]!.discrepancyId, undefined, { idempotencyKey });
    const again = await resolve(date, imported.discrepancies[0]!.discrepancyId, undefined, { idempotencyKey });
    expect(again.status).toBe(200);
    expect(again.body).toEqual(first.body);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    const events = await api.store.readStream(reconciliationStream(CHANNEL, date));
    expect(events.filter((event) => event.type === 'DiscrepancyResolved')).toHaveLength(1);

    const other = await resolve(date, imported.discrepancies[1]!.discrepancyId, undefined, { idempotencyKey });
    expect(other.status).toBe(422);
    expect(other.body.error?.code).toBe('idempotency_key_reused');
  });

  it('is 409 discrepancy_already_resolved for a second resolution under a new key', async () => {
    const date = '2026-11-03';
    const imported = await importLines(date, ['wd-a']);
    const discrepancyId = imported.discrepancies[0]!.discrepancyId;
    expect((await resolve(date, discrepancyId)).status).toBe(200);
    const second = await resolve(date, discrepancyId, { reason: 'again' });
    expect(second.status).toBe(409);
    expect(second.body.error).toMatchObject({ code: 'discrepancy_already_resolved', details: { channel: CHANNEL, statementDate: date, discrepancyId } });
  });

  it('is 409 discrepancy_superseded once a corrected statement replaced the discrepancy', async () => {
    const date = '2026-11-04';
    const imported = await importLines(date, ['wd-a']);
    await importLines(date, ['wd-b']);
    const answer = await resolve(date, imported.discrepancies[0]!.discrepancyId);
    expect(answer.status).toBe(409);
    expect(answer.body.error).toMatchObject({ code: 'discrepancy_superseded', details: { statementId: imported.statementId } });
  });

  it('is 404 discrepancy_not_found for an unknown discrepancy or a day without a statement, and writes nothing', async () => {
    const date = '2026-11-05';
    await importLines(date, ['wd-a']);
    const unknown = await resolve(date, 'no-such-discrepancy');
    expect(unknown.status).toBe(404);
    expect(unknown.body.error).toMatchObject({ code: 'discrepancy_not_found', details: { discrepancyId: 'no-such-discrepancy' } });
    const noStatement = await resolve('2026-11-30', 'no-such-discrepancy');
    expect(noStatement.status).toBe(404);
    expect(await api.store.readStream(reconciliationStream(CHANNEL, '2026-11-30'))).toEqual([]);
  });

  it('needs the ops scope: 403 for a writer key, 401 without a key', async () => {
    const date = '2026-11-06';
    const imported = await importLines(date, ['wd-a']);
    const discrepancyId = imported.discrepancies[0]!.discrepancyId;
    const writer = await resolve(date, discrepancyId, undefined, { key: api.keys.writer });
    expect(writer.status).toBe(403);
    const anonymous = await post(api.baseUrl, resolvePath(date, discrepancyId), { reason: 'x' }, {});
    expect(anonymous.status).toBe(401);
    const events = await api.store.readStream(reconciliationStream(CHANNEL, date));
    expect(events.filter((event) => event.type === 'DiscrepancyResolved')).toHaveLength(0);
  });

  it.each([
    ['a missing reason', CHANNEL, '2026-11-07', {}, 'reason'],
    ['a blank reason', CHANNEL, '2026-11-07', { reason: '' }, 'reason'],
    ['an upper-case channel', 'Bank', '2026-11-07', { reason: 'x' }, 'channel'],
    ['an impossible date', CHANNEL, '2026-02-30', { reason: 'x' }, 'date'],
  ])('is 400 validation_failed for %s', async (_, channel, date, body, field) => {
    const answer = await post(api.baseUrl, resolvePath(date, 'abc-D0001', channel), body, { key: api.keys.ops });
    expect(answer.status).toBe(400);
    expect(answer.body.error?.code).toBe('validation_failed');
    expect((answer.body.error?.details.fields as Array<{ field: string }>).map((f) => f.field)).toContain(field);
  });

  it('requires an Idempotency-Key', async () => {
    const answer = await post(api.baseUrl, resolvePath('2026-11-08', 'abc-D0001'), { reason: 'x' }, { key: api.keys.ops, idempotencyKey: null });
    expect(answer.status).toBe(400);
  });
});
