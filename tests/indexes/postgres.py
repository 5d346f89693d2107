"""FerretDB's PostgreSQL seen from the index test: its tables, bulk filling them, and index statistics.

Through psql (the native stack's own tool, trust authentication on loopback), so the test needs no driver. FerretDB
1.24 keeps a MongoDB database as a PostgreSQL schema of the same name, a collection as a table named in the
schema's ``_ferretdb_database_metadata``, a document as ``_jsonb`` (values plus a ``$s`` type map).
"""

from __future__ import annotations

import glob
import os
import subprocess
from dataclasses import dataclass

PG_PORT = os.environ.get("NRMM_NATIVE_PG_PORT", "5433")


def psql_path() -> str | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/psql"))
    return found[-1] if found else None


def sql(statement: str) -> list[list[str]]:
    """Rows of a statement (tab-separated fields), or CalledProcessError with PostgreSQL's message."""
    done = subprocess.run([psql_path() or "psql", "-h", "127.0.0.1", "-p", PG_PORT, "-U", "postgres", "-d", "ferretdb",
                           "-tA", "-F", "\t", "-v", "ON_ERROR_STOP=1", "-c", statement],
                          capture_output=True, text=True, timeout=600, check=True)
    return [line.split("\t") for line in done.stdout.splitlines() if line]


def reachable() -> bool:
    if psql_path() is None:
        return False
    try:
        return sql("SELECT 1") == [["1"]]
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError):
        return False


def quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def table_of(database: str, collection: str) -> str:
    """``"schema"."table"`` of a collection (it must exist)."""
    rows = sql(f"SELECT format('%I.%I', '{database}', _jsonb->>'table') "
               f"FROM {quoted(database)}._ferretdb_database_metadata WHERE _jsonb->>'_id' = '{collection}'")
    assert rows, f"{database}.{collection} has no table: was it written to?"
    return rows[0][0]


def indexed_fields(table: str) -> list[str]:
    """The top-level fields FerretDB's B-tree indexes on the table name (each has a GIN sibling)."""
    rows = sql(f"SELECT DISTINCT (regexp_matches(indexdef, '\\(_jsonb -> ''([^'']+)''::text\\)', 'g'))[1] "
               f"FROM pg_indexes WHERE format('%I.%I', schemaname, tablename) = '{table}' "
               f"AND indexname NOT LIKE 'nrmm_gin_%'")
    return sorted({row[0] for row in rows} | {"_id"})


def fill(table: str, count: int, template: str = "TRUE") -> None:
    """``count`` more documents made from one of the table's (the first that ``template`` admits), reduced to its
    indexed fields (values and FerretDB's type map alike: a valid document, small, so the fill takes seconds), each
    made unique (a string gets a suffix, a number an offset far beyond the real ones, an array its first item
    replaced); then ANALYZE: the planner sees a table of that size, as the city would give it."""
    source = f"(SELECT _jsonb FROM {table} WHERE {template} LIMIT 1)"
    fields = ", ".join("'" + f.replace("'", "''") + "'" for f in indexed_fields(table))
    kinds = dict(sql(f"SELECT f, jsonb_typeof(t._jsonb->f) FROM {source} t, unnest(ARRAY[{fields}]::text[]) f "
                     f"WHERE t._jsonb ? f"))
    assert kinds, f"{table} has no document where {template}: nothing to copy"
    values = []
    for field, kind in kinds.items():
        literal = field.replace("'", "''")
        value = f"t._jsonb->'{literal}'"
        if kind == "string":
            value = f"to_jsonb((t._jsonb->>'{literal}') || '~fill' || g)"
        elif kind == "number":
            value = "to_jsonb(1000000000 + g)"
        elif kind == "array":
            value = (f"CASE WHEN jsonb_array_length({value}) > 0 THEN jsonb_set({value}, '{{0}}', "
                     f"to_jsonb('fill~{literal}~' || g)) ELSE {value} END")
        values.append(f"'{literal}', {value}")
    kept = ", ".join("'" + f.replace("'", "''") + "'" for f in kinds)
    types = (f"jsonb_build_object('$k', (SELECT jsonb_agg(k) FROM jsonb_array_elements_text(t._jsonb->'$s'->'$k') k "
             f"WHERE k IN ({kept})), 'p', (SELECT jsonb_object_agg(k, v) "
             f"FROM jsonb_each(t._jsonb->'$s'->'p') AS e(k, v) WHERE k IN ({kept})))")
    sql(f"INSERT INTO {table} (_jsonb) SELECT jsonb_build_object('$s', {types}, {', '.join(values)}) "
        f"FROM {source} t, generate_series(1, {count}) g")
    sql(f"ANALYZE {table}")


@dataclass(frozen=True)
class Usage:
    """Scans per table: by each GIN sibling (by field) and sequential."""

    gin: dict[tuple[str, str], int]  # (table, field) -> idx_scan
    seq: dict[str, int]  # table -> seq_scan

    def gin_delta(self, later: Usage) -> dict[tuple[str, str], int]:
        return {key: n - self.gin.get(key, 0) for key, n in later.gin.items() if n - self.gin.get(key, 0) > 0}

    def seq_delta(self, later: Usage) -> dict[str, int]:
        return {t: n - self.seq.get(t, 0) for t, n in later.seq.items() if n - self.seq.get(t, 0) > 0}


def usage(tables: list[str]) -> Usage:
    names = ", ".join(f"'{t.replace(chr(39), chr(39) * 2)}'" for t in tables)
    gin = sql("SELECT format('%I.%I', s.schemaname, s.relname), "
              "substring(pg_get_indexdef(s.indexrelid) from '_jsonb -> ''([^'']+)''::text'), s.idx_scan "
              f"FROM pg_stat_user_indexes s WHERE format('%I.%I', s.schemaname, s.relname) IN ({names}) "
              "AND s.indexrelname LIKE 'nrmm_gin_%'")
    seq = sql("SELECT format('%I.%I', schemaname, relname), seq_scan FROM pg_stat_user_tables "
              f"WHERE format('%I.%I', schemaname, relname) IN ({names})")
    return Usage(gin={(t, f): int(n) for t, f, n in gin}, seq={t: int(n) for t, n in seq})


def setting(name: str) -> str:
    """A setting as a new session of FerretDB's database gets it (``ALTER DATABASE ... SET`` included)."""
    return sql(f"SELECT current_setting('{name}')")[0][0]


def siblings_with_pending_list(tables: list[str]) -> list[str]:
    """The GIN siblings on ``tables`` that keep GIN's pending list (``fastupdate`` on, PostgreSQL's default): every
    search of such an index reads the entries not yet merged too."""
    names = ", ".join(f"'{t.replace(chr(39), chr(39) * 2)}'" for t in tables)
    rows = sql("SELECT format('%I.%I', s.schemaname, s.indexrelname) FROM pg_stat_user_indexes s "
               "JOIN pg_class c ON c.oid = s.indexrelid "
               f"WHERE format('%I.%I', s.schemaname, s.relname) IN ({names}) AND s.indexrelname LIKE 'nrmm_gin_%' "
               "AND NOT coalesce(c.reloptions @> ARRAY['fastupdate=off'], false)")
    return sorted(row[0] for row in rows)
