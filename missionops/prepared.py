"""Server-side prepared statements for hot queries whose planning costs more than their execution
(`prepared()` for an ORM queryset, `execute_prepared` for raw SQL such as the job claim).

Django's psycopg connections bind parameters on the client and never prepare (prepared statements
are off so that external poolers keep working), so PostgreSQL plans every query anew. Ingest's
spacecraft lookup joins guardian's grant tables: planned, ~2 ms of PostgreSQL's CPU per request;
run, ~0.3 ms. Inside `prepared()` the connection binds on the server and prepares each statement
on first use, so a pooled connection plans it once (PostgreSQL switches the prepared statement to a
generic plan after a few executions). psycopg keeps at most `prepared_max` (100) per connection.
"""

import contextlib

import psycopg
from django.db import connection, connections
from django.db.backends.postgresql.base import ServerBindingCursor


class _PreparingCursor(ServerBindingCursor):
    def _convert_query(self, query, params=None):
        converted = super()._convert_query(query, params)
        # psycopg leaves `_query` unset when it runs a prepared statement; Django's query log and
        # CaptureQueriesContext read the text from it (with $1.. in place of the values).
        self._query = converted
        return converted


@contextlib.contextmanager
def prepared(using: str = "default"):
    """Run the queries in this block as server-side prepared statements on `using`'s connection."""
    wrapper = connections[using]
    wrapper.ensure_connection()
    raw = wrapper.connection
    factory, threshold = raw.cursor_factory, raw.prepare_threshold
    raw.cursor_factory, raw.prepare_threshold = _PreparingCursor, 0
    try:
        yield
    finally:
        raw.cursor_factory, raw.prepare_threshold = factory, threshold


def execute_prepared(*, sql: str, params) -> list[tuple]:
    """Run one raw hot statement (psycopg placeholders) as a server-side prepared statement on the
    default connection; its rows."""
    connection.ensure_connection()
    raw = connection.connection
    if raw.prepare_threshold is None:  # Django turns preparing off; now only prepare=True prepares
        raw.prepare_threshold = 1_000_000
    with connection.wrap_database_errors, psycopg.Cursor(raw) as cursor:
        cursor.execute(sql, params, prepare=True)
        return cursor.fetchall()
