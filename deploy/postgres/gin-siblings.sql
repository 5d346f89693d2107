SET client_min_messages = warning;
-- Index-backed lookups for FerretDB 1.24 on PostgreSQL (applied by deploy/native.sh to FerretDB's database).
--
-- FerretDB builds a B-tree on (_jsonb -> 'field') for each key of a MongoDB index, but filters with
-- (_jsonb -> 'field') @> '<value>'::jsonb, which a B-tree cannot serve: every lookup was a sequential scan.
-- Here every such index gets a GIN (jsonb_path_ops) sibling per key, which serves @>, created by an event
-- trigger when FerretDB creates the index, and once for the indexes that already exist. Generic plans of
-- FerretDB's prepared statements can fall back to scans, so plans are made per execution.
-- The siblings are made without GIN's pending list (fastupdate = off): with it, every search also read the list
-- of entries not yet merged, up to 4 MB (measured: 82 pages, 33,000 entries on the 1 M-commit event store, and a
-- lookup by stream took 1.8 ms instead of 0.17 ms); each row has one key per sibling, so the merge it defers is
-- one entry per insert, cheap to make at once.
-- Idempotent: run it again at every start.

CREATE OR REPLACE FUNCTION nrmm_gin_for_index(index_oid oid) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
  method text;
  tbl regclass;
  field text;
  made integer := 0;
BEGIN
  SELECT a.amname, i.indrelid::regclass INTO method, tbl
    FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am a ON a.oid = c.relam
   WHERE i.indexrelid = index_oid;
  IF method IS DISTINCT FROM 'btree' THEN
    RETURN 0;  -- our own GIN indexes (this trigger fires for them too), and anything not FerretDB's
  END IF;
  FOR field IN
    SELECT DISTINCT (regexp_matches(pg_get_indexdef(index_oid), '\(_jsonb -> ''([^'']+)''::text\)', 'g'))[1]
  LOOP
    EXECUTE format('CREATE INDEX IF NOT EXISTS %I ON %s USING gin ((_jsonb -> %L) jsonb_path_ops) '
                   'WITH (fastupdate = off)',
                   'nrmm_gin_' || md5(tbl::text || '|' || field), tbl, field);
    made := made + 1;
  END LOOP;
  RETURN made;
END $$;

CREATE OR REPLACE FUNCTION nrmm_gin_siblings() RETURNS event_trigger
LANGUAGE plpgsql AS $$
DECLARE
  cmd record;
BEGIN
  FOR cmd IN SELECT objid FROM pg_event_trigger_ddl_commands()
              WHERE command_tag = 'CREATE INDEX' AND object_type = 'index'
  LOOP
    PERFORM nrmm_gin_for_index(cmd.objid);
  END LOOP;
END $$;

DROP EVENT TRIGGER IF EXISTS nrmm_gin_siblings;
CREATE EVENT TRIGGER nrmm_gin_siblings ON ddl_command_end WHEN TAG IN ('CREATE INDEX')
  EXECUTE FUNCTION nrmm_gin_siblings();

-- the indexes made before the trigger existed
SELECT count(*) AS gin_siblings_checked FROM (
  SELECT nrmm_gin_for_index(i.indexrelid)
    FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am a ON a.oid = c.relam
    JOIN pg_namespace n ON n.oid = c.relnamespace
   WHERE a.amname = 'btree' AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
     AND pg_get_indexdef(i.indexrelid) LIKE '%_jsonb -> %'
) made;

-- siblings made before they were made without a pending list: turned off, and their list merged
DO $$
DECLARE
  idx regclass;
BEGIN
  FOR idx IN
    SELECT c.oid::regclass FROM pg_class c JOIN pg_am a ON a.oid = c.relam
     WHERE a.amname = 'gin' AND c.relname LIKE 'nrmm_gin_%'
       AND NOT coalesce(c.reloptions @> ARRAY['fastupdate=off'], false)
  LOOP
    EXECUTE format('ALTER INDEX %s SET (fastupdate = off)', idx);
    PERFORM gin_clean_pending_list(idx);
    COMMIT;  -- one index at a time: a database with many would run out of lock slots in one transaction
  END LOOP;
END $$;

ALTER DATABASE ferretdb SET plan_cache_mode = force_custom_plan;
