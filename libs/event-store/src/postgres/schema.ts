/**
 * The PostgreSQL event store's schema, as ordered migrations. Each migration runs once,
 * in a transaction, under an advisory lock so that concurrent starters do not race.
 *
 * Why positions come from one counter row (`log_head`): a sequence hands out values
 * that commit out of order, so a reader that has passed 105 could later miss 104. Here
 * the append function takes the counter row's lock as its last step and holds it until
 * commit, so positions are assigned in commit order and a reader that has seen P has
 * already seen every position below P. Positions are also dense: a rolled-back append
 * rolls the counter back with it. The cost, serialised commits, is paid back by group
 * commit: one transaction carries many appends (see ADR 0002).
 */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const EVENT_STORE_SCHEMA = 'event_store';
export const NOTIFY_CHANNEL = 'event_store_appended';

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'events, streams and the log head',
    sql: `
create table event_store.streams (
  stream_name text primary key,
  -- The revision of the stream's last event; -1 for a row created by an append that then failed.
  revision bigint not null check (revision >= -1)
);

create table event_store.events (
  global_position bigint primary key check (global_position > 0),
  stream_name text not null,
  stream_revision bigint not null check (stream_revision >= 0),
  event_id uuid not null,
  event_type text not null,
  data jsonb not null,
  metadata jsonb not null,
  recorded_at timestamptz not null default now(),
  constraint events_stream_revision_unique unique (stream_name, stream_revision),
  constraint events_event_id_unique unique (event_id)
);

create table event_store.log_head (
  singleton boolean primary key default true check (singleton),
  position bigint not null
);
insert into event_store.log_head (singleton, position) values (true, 0);

-- One call appends a whole batch of appends (group commit) in one round trip.
-- Appends are given in the caller's order; each is checked and applied on its own, so
-- one append's conflict does not fail the others. Returns one row per append.
create function event_store.append_batch(
  p_streams text[],
  p_expected text[],
  p_counts int[],
  p_ids uuid[],
  p_types text[],
  p_data jsonb[],
  p_metadata jsonb[]
) returns table (
  append_index int,
  status text,
  last_revision bigint,
  last_position bigint,
  conflicting_event_id uuid
)
language plpgsql
as $fn$
declare
  v_appends int := coalesce(array_length(p_streams, 1), 0);
  v_offsets int[] := array_fill(0, array[greatest(v_appends, 1)]);
  v_order int[];
  v_i int;
  v_stream text;
  v_expected text;
  v_count int;
  v_offset int;
  v_current bigint;
  v_status text[] := array_fill(null::text, array[greatest(v_appends, 1)]);
  v_last_revision bigint[] := array_fill(null::bigint, array[greatest(v_appends, 1)]);
  v_last_position bigint[] := array_fill(null::bigint, array[greatest(v_appends, 1)]);
  v_conflict uuid[] := array_fill(null::uuid, array[greatest(v_appends, 1)]);
  v_first_revision bigint[] := array_fill(null::bigint, array[greatest(v_appends, 1)]);
  v_existing int;
  v_matching int;
  v_spread int;
  v_found_revision bigint;
  v_found_position bigint;
  v_bad uuid;
  v_total int := 0;
  v_head bigint;
  v_next bigint;
  v_ids_slice uuid[];
  v_ins_streams text[] := '{}';
  v_ins_revisions bigint[] := '{}';
  v_ins_positions bigint[] := '{}';
  v_ins_ids uuid[] := '{}';
  v_ins_types text[] := '{}';
  v_ins_data jsonb[] := '{}';
  v_ins_metadata jsonb[] := '{}';
  v_j int;
begin
  if v_appends = 0 then
    return;
  end if;
  for v_i in 2..v_appends loop
    v_offsets[v_i] := v_offsets[v_i - 1] + p_counts[v_i - 1];
  end loop;

  -- Lock streams in name order (stable for one stream's appends) so that concurrent
  -- batches never deadlock on each other.
  select array_agg(i order by p_streams[i], i) into v_order from generate_series(1, v_appends) as i;

  foreach v_i in array v_order loop
    v_stream := p_streams[v_i];
    v_expected := p_expected[v_i];
    v_count := p_counts[v_i];
    v_offset := v_offsets[v_i];
    v_ids_slice := p_ids[v_offset + 1 : v_offset + v_count];

    -- Lock the stream's row, creating it if needed. Holding this lock, no one else can
    -- append to the stream until we commit, and every check below sees the latest state.
    loop
      select s.revision into v_current from event_store.streams s where s.stream_name = v_stream for update;
      exit when found;
      insert into event_store.streams (stream_name, revision) values (v_stream, -1) on conflict do nothing;
      if found then
        v_current := -1;
        exit;
      end if;
    end loop;

    -- Idempotency: an append whose every event id is already stored, in this stream, in
    -- this order and with the same type and data, is reported as done and writes nothing.
    select count(*),
           count(*) filter (
             where e.stream_name = v_stream
               and e.event_type = p_types[v_offset + k.ord::int]
               and e.data = p_data[v_offset + k.ord::int]
           ),
           count(distinct e.stream_revision - k.ord),
           (array_agg(e.event_id order by k.ord))[1]
      into v_existing, v_matching, v_spread, v_bad
      from unnest(v_ids_slice) with ordinality as k(id, ord)
      join event_store.events e on e.event_id = k.id;

    if v_existing > 0 then
      if v_existing = v_count and v_matching = v_count and v_spread = 1 then
        v_status[v_i] := 'idempotent';
        select e.stream_revision, e.global_position into v_found_revision, v_found_position
          from event_store.events e where e.event_id = p_ids[v_offset + v_count];
        v_last_revision[v_i] := v_found_revision;
        v_last_position[v_i] := v_found_position;
      else
        v_status[v_i] := 'event_id_conflict';
        v_conflict[v_i] := v_bad;
        v_last_revision[v_i] := v_current;
      end if;
      continue;
    end if;

    -- Parenthesised: PL/pgSQL would otherwise end the IF condition at the CASE's first THEN.
    if (case v_expected
          when 'any' then false
          when 'no_stream' then v_current <> -1
          when 'stream_exists' then v_current = -1
          else v_current <> v_expected::bigint
        end) then
      v_status[v_i] := 'wrong_expected_version';
      v_last_revision[v_i] := v_current;
      continue;
    end if;

    update event_store.streams s set revision = v_current + v_count where s.stream_name = v_stream;
    v_status[v_i] := 'ok';
    v_first_revision[v_i] := v_current + 1;
    v_last_revision[v_i] := v_current + v_count;
    v_total := v_total + v_count;
  end loop;

  if v_total > 0 then
    -- Last step before commit: take the log head. Its row lock is held until commit, so
    -- positions are handed out in commit order (see the comment on this schema).
    update event_store.log_head set position = position + v_total returning position - v_total into v_head;
    v_next := v_head;
    for v_i in 1..v_appends loop
      if v_status[v_i] = 'ok' then
        v_offset := v_offsets[v_i];
        for v_j in 1..p_counts[v_i] loop
          v_next := v_next + 1;
          v_ins_streams := v_ins_streams || p_streams[v_i];
          v_ins_revisions := v_ins_revisions || (v_first_revision[v_i] + v_j - 1);
          v_ins_positions := v_ins_positions || v_next;
          v_ins_ids := v_ins_ids || p_ids[v_offset + v_j];
          v_ins_types := v_ins_types || p_types[v_offset + v_j];
          v_ins_data := v_ins_data || p_data[v_offset + v_j];
          v_ins_metadata := v_ins_metadata || p_metadata[v_offset + v_j];
        end loop;
        v_last_position[v_i] := v_next;
      end if;
    end loop;
    insert into event_store.events
      (global_position, stream_name, stream_revision, event_id, event_type, data, metadata)
    select * from unnest(v_ins_positions, v_ins_streams, v_ins_revisions, v_ins_ids, v_ins_types, v_ins_data, v_ins_metadata);
    perform pg_notify('${NOTIFY_CHANNEL}', v_next::text);
  end if;

  return query
    select i, v_status[i], v_last_revision[i], v_last_position[i], v_conflict[i]
    from generate_series(1, v_appends) as i;
end;
$fn$;
`,
  },
];
