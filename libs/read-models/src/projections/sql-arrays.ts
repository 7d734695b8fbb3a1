/**
 * PostgreSQL array literals for the multi-row statements (`unnest($1::bigint[], ...)`),
 * built here instead of by node-postgres, whose general serialiser escapes every element
 * with two regular-expression replaces: for a rebuild that writes a few hundred thousand
 * values per second, that was a measurable share of the whole. The literal is still a bound
 * parameter, so nothing here is SQL; what matters is that every element stays one element.
 */

/**
 * Elements that need no quoting: digit strings (amounts and positions as decimal text),
 * numbers, booleans, UUIDs and `Date#toISOString()` timestamps. Each string is checked
 * against that alphabet, because one stray comma would shift every later element of the
 * array by one row.
 */
const PLAIN_ELEMENT = /^[0-9A-Za-z.:+-]+$/;

export function plainArray(values: ReadonlyArray<string | number | boolean | null>): string {
  const parts = new Array<string>(values.length);
  for (let i = 0; i < values.length; i += 1) {
    const value = values[i];
    if (value === null || value === undefined) {
      parts[i] = 'NULL';
    } else if (typeof value === 'string') {
      if (!PLAIN_ELEMENT.test(value)) throw new TypeError(`not a plain array element: ${JSON.stringify(value)}`);
      parts[i] = value;
    } else {
      parts[i] = String(value);
    }
  }
  return `{${parts.join(',')}}`;
}

/** Text elements, each double-quoted (so NULL, empty strings and commas stay values), with `"` and `\` escaped. */
export function textArray(values: ReadonlyArray<string | null>): string {
  const parts = new Array<string>(values.length);
  for (let i = 0; i < values.length; i += 1) {
    const value = values[i];
    if (value === null || value === undefined) {
      parts[i] = 'NULL';
    } else if (value.indexOf('"') === -1 && value.indexOf('\\') === -1) {
      parts[i] = `"${value}"`;
    } else {
      parts[i] = `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
    }
  }
  return `{${parts.join(',')}}`;
}
