"""Many rows into one table in one statement, without a model instance per row.

``Model.objects.bulk_create`` builds a model instance per row and has psycopg adapt every
value of every row as a query parameter; for the nightly job's thousands of rows that costs
more than PostgreSQL spends writing them. Here each row is a plain dict, and the rows are
streamed with COPY (formatted in C by psycopg): straight into the table, or, when the INSERT
needs an ON CONFLICT or RETURNING clause, into a temporary table first. A few rows go in a
plain multi-row INSERT, cheaper than creating a temporary table.
"""

import json
from contextlib import contextmanager

from django.db import connection, transaction
from django.db.models import JSONField, Model
from django.utils import timezone

FEW_ROWS = 50


def insert_rows(model: type[Model], rows: list[dict], *, on_conflict: str = "",
                returning: str = "") -> list[tuple]:
    """``INSERT INTO <model's table> (...) ... <on_conflict> RETURNING <returning>``.

    A row maps field names or attnames to values: a related object stands for its pk (it
    must be saved by now), a field left out takes its default (``auto_now``/``auto_now_add``
    fields: now). ``on_conflict`` and ``returning`` are SQL (``"ON CONFLICT DO NOTHING"``,
    ``"id, pupil_id"``); returns the RETURNING rows.
    """
    if not rows:
        return []
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    now = timezone.now()
    defaults = {f.attname: now if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)
                else f.get_default() for f in fields}
    relations = {f.name: f.attname for f in fields if f.is_relation}
    unknown = {name for row in rows for name in row} - relations.keys() - defaults.keys()
    if unknown:
        raise ValueError(f"{model.__name__} has no field {', '.join(sorted(unknown))}")
    records = []
    for row in rows:
        values = dict(defaults)
        for name, value in row.items():
            if name in relations:
                name, value = relations[name], value.pk if isinstance(value, Model) else value
            values[name] = value
        records.append(values)
    q = connection.ops.quote_name
    table, columns = q(model._meta.db_table), ", ".join(q(f.column) for f in fields)
    returning = f"RETURNING {returning}" if returning else ""
    if len(records) <= FEW_ROWS:
        one = f"({', '.join(['%s'] * len(fields))})"
        with connection.cursor() as cur:
            cur.execute(f"INSERT INTO {table} ({columns}) VALUES {', '.join([one] * len(records))} "
                        f"{on_conflict} {returning}", [v for r in records for v in _values(fields, r)])
            return cur.fetchall() if returning else []
    if not on_conflict and not returning:
        with connection.cursor() as cur:
            _copy(cur, table, fields, records)
        return []
    with _staged(model, fields, records) as (cur, temp):
        cur.execute(f"INSERT INTO {table} ({columns}) SELECT {columns} FROM {temp} {on_conflict} {returning}")
        return cur.fetchall() if returning else []


def update_rows(objs: list[Model], field_names: list[str]) -> int:
    """``Model.objects.bulk_update(objs, field_names)`` as one ``UPDATE ... FROM`` a COPY-loaded
    temporary table (bulk_update builds a CASE WHEN per field over every pk)."""
    if not objs:
        return 0
    model = type(objs[0])
    meta = model._meta
    fields = [meta.pk] + [meta.get_field(name) for name in field_names]
    records = [{f.attname: getattr(obj, f.attname) for f in fields} for obj in objs]
    q = connection.ops.quote_name
    sets = ", ".join(f"{q(f.column)} = t.{q(f.column)}" for f in fields[1:])
    with _staged(model, fields, records) as (cur, temp):
        cur.execute(f"UPDATE {q(meta.db_table)} AS m SET {sets} FROM {temp} AS t "
                    f"WHERE m.{q(meta.pk.column)} = t.{q(meta.pk.column)}")
        return cur.rowcount


def _values(fields, record: dict) -> list:
    return [json.dumps(record[f.attname]) if isinstance(f, JSONField) else record[f.attname] for f in fields]


@contextmanager
def _staged(model, fields, records: list[dict]):
    """A temporary table with ``fields``' columns holding ``records`` (attname -> value), loaded
    with COPY; dropped afterwards (also inside an outer transaction)."""
    q = connection.ops.quote_name
    temp = q(f"bulk_{model._meta.db_table}")
    columns = ", ".join(q(f.column) for f in fields)
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute(f"CREATE TEMP TABLE {temp} ON COMMIT DROP AS "
                    f"SELECT {columns} FROM {q(model._meta.db_table)} WITH NO DATA")
        _copy(cur, temp, fields, records)
        yield cur, temp
        cur.execute(f"DROP TABLE {temp}")


def _copy(cur, table: str, fields, records: list[dict]) -> None:
    """COPY ``records`` (attname -> value) into ``table``'s columns of ``fields``."""
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    with cur.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        for r in records:
            copy.write_row(_values(fields, r))
