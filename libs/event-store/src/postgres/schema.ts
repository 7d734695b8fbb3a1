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
    // Superseded by version 2's function; kept as it ran, since migrations are history.
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
  {
    version: 2,
    name: 'set-based append_batch',
    // Version 1 ran three or four statements per append inside a loop and built its insert
    // arrays by concatenation: a batch of 30 appends cost ~10 ms, which capped group commit
    // at a quarter of the INSERT roofline. This version runs a fixed handful of set-based
    // statements per batch, whatever its size, and decides the appends in memory. It also
    // forces custom plans: PL/pgSQL otherwise keeps the plans it made while the tables were
    // empty, and a sequential scan planned for an empty `events` table stays one.
    sql: `
create or replace function event_store.append_batch(
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
set plan_cache_mode = force_custom_plan
as $fn$
declare
  v_appends int := coalesce(array_length(p_streams, 1), 0);
  v_events int := coalesce(array_length(p_ids, 1), 0);
  v_names text[];
  v_revisions bigint[];
  v_offsets int[];
  v_status text[];
  v_last_revision bigint[];
  v_last_position bigint[];
  v_conflict uuid[];
  v_event_stream text[];
  v_event_revision bigint[];
  v_event_ok boolean[];
  v_existing uuid[];
  v_i int;
  v_j int;
  v_k int;
  v_count int;
  v_offset int;
  v_current bigint;
  v_expected text;
  v_total int := 0;
  v_head bigint;
  v_next bigint;
  v_existing_count int;
  v_matching int;
  v_spread int;
  v_bad uuid;
  v_found_revision bigint;
  v_found_position bigint;
begin
  if v_appends = 0 then
    return;
  end if;
  v_offsets := array_fill(0, array[v_appends]);
  v_status := array_fill(null::text, array[v_appends]);
  v_last_revision := array_fill(null::bigint, array[v_appends]);
  v_last_position := array_fill(null::bigint, array[v_appends]);
  v_conflict := array_fill(null::uuid, array[v_appends]);
  v_event_stream := array_fill(null::text, array[greatest(v_events, 1)]);
  v_event_revision := array_fill(null::bigint, array[greatest(v_events, 1)]);
  v_event_ok := array_fill(false, array[greatest(v_events, 1)]);
  for v_i in 2..v_appends loop
    v_offsets[v_i] := v_offsets[v_i - 1] + p_counts[v_i - 1];
  end loop;

  -- 1. Lock every stream of the batch, creating new ones, always in name order: two
  --    batches then never wait on each other in a cycle. Holding these locks, nobody else
  --    appends to these streams until we commit, so every check below sees the latest state.
  select array_agg(name order by name) into v_names from (select distinct unnest(p_streams) as name) as distinct_names;
  insert into event_store.streams (stream_name, revision)
    select name, -1 from unnest(v_names) as name order by name
    on conflict (stream_name) do nothing;
  select array_agg(locked.revision order by locked.stream_name) into v_revisions
    from (
      select s.stream_name, s.revision from event_store.streams s
       where s.stream_name = any(v_names)
       order by s.stream_name
         for update
    ) as locked;

  -- 2. Event ids already stored (normally none: one index probe per id, one statement).
  select array_agg(e.event_id) into v_existing from event_store.events e where e.event_id = any(p_ids);

  -- 3. Decide every append in call order, in memory.
  for v_i in 1..v_appends loop
    v_count := p_counts[v_i];
    v_offset := v_offsets[v_i];
    v_k := array_position(v_names, p_streams[v_i]);
    v_current := v_revisions[v_k];
    v_expected := p_expected[v_i];

    if v_existing is not null and p_ids[v_offset + 1 : v_offset + v_count] && v_existing then
      -- Idempotency (ADR 0005): every id stored, in this stream, in order, with the same
      -- type and data means the append already happened; any other overlap is a conflict.
      select count(*),
             count(*) filter (
               where e.stream_name = p_streams[v_i]
                 and e.event_type = p_types[v_offset + k.ord::int]
                 and e.data = p_data[v_offset + k.ord::int]
             ),
             count(distinct e.stream_revision - k.ord),
             (array_agg(e.event_id order by k.ord))[1]
        into v_existing_count, v_matching, v_spread, v_bad
        from unnest(p_ids[v_offset + 1 : v_offset + v_count]) with ordinality as k(id, ord)
        join event_store.events e on e.event_id = k.id;
      if v_existing_count = v_count and v_matching = v_count and v_spread = 1 then
        select e.stream_revision, e.global_position into v_found_revision, v_found_position
          from event_store.events e where e.event_id = p_ids[v_offset + v_count];
        v_status[v_i] := 'idempotent';
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

    for v_j in 1..v_count loop
      v_event_stream[v_offset + v_j] := p_streams[v_i];
      v_event_revision[v_offset + v_j] := v_current + v_j;
      v_event_ok[v_offset + v_j] := true;
    end loop;
    v_revisions[v_k] := v_current + v_count;
    v_status[v_i] := 'ok';
    v_last_revision[v_i] := v_current + v_count;
    v_total := v_total + v_count;
  end loop;

  if v_total > 0 then
    update event_store.streams s set revision = changed.revision
      from unnest(v_names, v_revisions) as changed(name, revision)
     where s.stream_name = changed.name and s.revision <> changed.revision;

    -- Last step before commit: take the log head. Its row lock is held until commit, so
    -- positions are handed out in commit order (ADR 0002).
    update event_store.log_head set position = position + v_total returning position - v_total into v_head;

    insert into event_store.events
      (global_position, stream_name, stream_revision, event_id, event_type, data, metadata)
    select v_head + row_number() over (order by t.ord), t.stream, t.revision, t.id, t.type, t.data, t.metadata
      from unnest(v_event_stream, v_event_revision, p_ids, p_types, p_data, p_metadata, v_event_ok)
           with ordinality as t(stream, revision, id, type, data, metadata, ok, ord)
     where t.ok;

    v_next := v_head;
    for v_i in 1..v_appends loop
      if v_status[v_i] = 'ok' then
        v_next := v_next + p_counts[v_i];
        v_last_position[v_i] := v_next;
      end if;
    end loop;
    perform pg_notify('${NOTIFY_CHANNEL}', v_next::text);
  end if;

  return query
    select i, v_status[i], v_last_revision[i], v_last_position[i], v_conflict[i]
    from generate_series(1, v_appends) as i;
end;
$fn$;
`,
  },
  {
    version: 3,
    name: 'append_batch keeps its plans',
    // Forced custom plans (version 2) replanned each of append_batch's statements on every
    // call: ~0.2 ms per call, and under HTTP load the calls are small (three or four appends
    // each, docs/benchmarks.md). Every table access in the function is a lookup by key
    // (a stream by name, an event by id), so forbidding sequential scans inside it keeps a
    // plan made while the tables were empty from being a sequential scan, and the plan can
    // then be cached like any other.
    sql: `
alter function event_store.append_batch(text[], text[], int[], uuid[], text[], jsonb[], jsonb[])
  set plan_cache_mode = auto;
alter function event_store.append_batch(text[], text[], int[], uuid[], text[], jsonb[], jsonb[])
  set enable_seqscan = off;
`,
  },
];
