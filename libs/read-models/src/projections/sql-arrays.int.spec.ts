import { createTestDatabase, type TestDatabase } from '@ledger/test-support';
import { Client } from 'pg';
import { plainArray, textArray } from './sql-arrays';

describe('array literals', () => {
  let database: TestDatabase;
  let client: Client;
  beforeAll(async () => {
    database = await createTestDatabase('rm_arrays');
    client = new Client({ connectionString: database.url });
    await client.connect();
  });
  afterAll(async () => {
    await client?.end();
    await database?.drop();
  });

  it('text survives PostgreSQL element for element: quotes, backslashes, commas, braces, NULL as text, empty', async () => {
    const values = ['plain', 'with "quotes"', 'back\\slash', 'a,b', '{braces}', 'NULL', '', ' spaced ', null, 'ünïcødé'];
    const { rows } = await client.query<{ value: string | null; n: string }>(
      `select value, n from unnest($1::text[]) with ordinality as t(value, n) order by n`,
      [textArray(values)],
    );
    expect(rows.map((row) => row.value)).toEqual(values);
  });

  it('plain elements arrive as their types; anything that could split an element is refused before sending', async () => {
    const { rows } = await client.query<{ p: string; b: boolean | null; u: string; t: Date }>(
      `select p::text, b, u::text, t from unnest($1::bigint[], $2::boolean[], $3::uuid[], $4::timestamptz[]) as x(p, b, u, t)`,
      [
        plainArray(['999999999999999999', '1']),
        plainArray([true, null]),
        plainArray(['8e3c6a6e-6a4e-4bb0-9f57-3cbbd5a6c1a2', '00000000-0000-4000-8000-000000000000']),
        plainArray(['2026-11-23T10:41:00.123Z', '2026-11-23T10:41:00.000Z']),
      ],
    );
    expect(rows.map((row) => row.p)).toEqual(['999999999999999999', '1']);
    expect(rows.map((row) => row.b)).toEqual([true, null]);
    expect(rows[0]!.t.toISOString()).toBe('2026-11-23T10:41:00.123Z');
    for (const bad of ['1,2', '1 2', '"1"', '{1}', '', 'a\\b']) expect(() => plainArray([bad])).toThrow(TypeError);
  });
});
