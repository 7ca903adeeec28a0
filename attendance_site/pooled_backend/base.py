"""django-tenants' PostgreSQL backend made safe behind pgbouncer in transaction pooling.

django-tenants sets the schema with a session-level ``SET search_path`` once per tenant switch
(TENANT_LIMIT_SET_CALLS). Behind a pooler in transaction mode a session is not a server
connection: the next statement may run on a server connection whose search_path another
school's request set, and one school would read another's tables.

Here the search path travels with every statement instead: each query is sent as
``SET LOCAL search_path = <school>, public; <query>`` in one message, so it runs in the same
transaction (an implicit one in autocommit) on the same server connection, and the setting
ends with that transaction: nothing is left on the server connection for the next client.
Chosen with DATABASE_POOLING=transaction (settings.py), which also turns off server-side
cursors (they do not survive transaction pooling).
tests/attendance_site/test_pooled_backend_pgbouncer.py proves it.
"""

from django.db.backends.postgresql.base import Cursor as DjangoClientCursor
from django_tenants.postgresql_backend.base import DatabaseWrapper as TenantDatabaseWrapper
from django_tenants.utils import get_public_schema_name
from psycopg import sql as pgsql


class SearchPathCursor(DjangoClientCursor):
    """A client-side-binding cursor that sends its search path with every statement."""

    search_path_sql = ""

    def execute(self, query, params=None, **kwargs):
        if not self.search_path_sql:
            return super().execute(query, params, **kwargs)
        if isinstance(query, bytes):
            query = query.decode()
        elif not isinstance(query, str):
            query = query.as_string(self)
        if params is None:
            # Without parameters a % is literal; with them psycopg reads %% as one.
            query = query.replace("%", "%%")
        super().execute(f"{self.search_path_sql}; {query}", params if params is not None else (),
                        **kwargs)
        self.nextset()  # past the SET, to the statement's own result
        return self

    def executemany(self, query, params_seq, **kwargs):
        if self.search_path_sql:
            for params in params_seq:
                self.execute(query, params, **kwargs)
            return
        return super().executemany(query, params_seq, **kwargs)


class DatabaseWrapper(TenantDatabaseWrapper):
    def get_new_connection(self, conn_params):
        connection = super().get_new_connection(conn_params)
        connection.cursor_factory = SearchPathCursor
        return connection

    def _handle_search_path(self, cursor=None):
        """Instead of a SET on the session, give the cursor the SET for its statements."""
        if cursor is None or not self.schema_name:
            return  # named (server-side) cursors are off under pooling
        while not isinstance(cursor, SearchPathCursor) and hasattr(cursor, "cursor"):
            cursor = cursor.cursor  # Django's (debug) wrapper around psycopg's cursor
        public = get_public_schema_name()
        paths = self._get_cursor_search_paths() if self.schema_name != public else [public]
        cursor.search_path_sql = pgsql.SQL("SET LOCAL search_path = {}").format(
            pgsql.SQL(", ").join(pgsql.Identifier(p) for p in paths)).as_string(cursor)
        self.search_path_set_schemas = paths
