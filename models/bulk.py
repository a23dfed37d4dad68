"""Set-based writes for batches: COPY and UPDATE … FROM a temporary table on PostgreSQL,
executemany on SQLite. Row by row through the ORM, 100,000 rows take minutes."""

from itertools import count

from sqlalchemy import Table, insert, text
from sqlalchemy.dialects import postgresql, sqlite

from .base import db

COPY_FROM = 500  # below this many rows a plain multi-row INSERT is as fast as COPY
_names = count()


def _postgres(connection) -> bool:
    return connection.dialect.name == "postgresql"


def insert_rows(table: Table, rows: list[dict]) -> None:
    """Insert many rows (all with the same keys) into a table."""
    if not rows:
        return
    connection = db.session.connection()
    if _postgres(connection) and len(rows) >= COPY_FROM:
        _copy(connection, table.name, list(rows[0]), rows)
        return
    connection.execute(insert(table), rows)


def insert_new_rows(table: Table, rows: list[dict], *, conflict: tuple[str, ...],
                    key: str) -> dict:
    """Insert the rows whose `conflict` columns are not taken yet; {row[key]: new id}.

    Rows that collide with existing ones (a concurrent import of the same keys) are
    skipped, not errors. PostgreSQL batches go through COPY into a temporary table and
    one INSERT … SELECT … ON CONFLICT DO NOTHING.
    """
    if not rows:
        return {}
    connection = db.session.connection()
    columns = list(rows[0])
    if _postgres(connection) and len(rows) >= COPY_FROM:
        temp = _copy_to_temp(connection, table, columns, rows)
        names = ", ".join(columns)
        result = connection.execute(text(
            f"INSERT INTO {table.name} ({names}) SELECT {names} FROM {temp} "
            f"ON CONFLICT ({', '.join(conflict)}) DO NOTHING RETURNING {key}, id"))
        inserted = dict(result.all())
        connection.execute(text(f"DROP TABLE {temp}"))
        return inserted
    dialect = postgresql if _postgres(connection) else sqlite
    statement = (dialect.insert(table).on_conflict_do_nothing(index_elements=list(conflict))
                 .returning(table.c[key], table.c.id))
    return dict(connection.execute(statement, rows).all())


def _copy_to_temp(connection, table: Table, columns: list[str], rows: list[dict]) -> str:
    """COPY rows into a new temporary table shaped like `table`'s columns; its name."""
    temp = f"_bulk_{table.name}_{next(_names)}"
    types = {c.name: c.type.compile(connection.dialect) for c in table.columns}
    connection.execute(text(
        f"CREATE TEMPORARY TABLE {temp} ({', '.join(f'{c} {types[c]}' for c in columns)})"
        " ON COMMIT DROP"))
    _copy(connection, temp, columns, rows)
    return temp


def _copy(connection, table_name: str, columns: list[str], rows: list[dict]) -> None:
    """COPY rows into a PostgreSQL table through the session's own connection."""
    raw = connection.connection.dbapi_connection
    with raw.cursor() as cursor, cursor.copy(
        f"COPY {table_name} ({', '.join(columns)}) FROM STDIN"
    ) as copy:
        for row in rows:
            copy.write_row([row[c] for c in columns])


def update_rows(table: Table, rows: list[dict], *, match: tuple[str, ...] = ("id",),
                extra_set: str = "", params: dict | None = None) -> int:
    """UPDATE table SET <the rows' other keys> WHERE <match keys equal>, for every row.

    `extra_set` adds SQL assignments that refer to the table itself (e.g.
    "version = version + 1"); `params` binds the names it uses. Returns the rows changed,
    so a guard in `match` (a version) can be checked by the caller.
    """
    if not rows:
        return 0
    connection = db.session.connection()
    columns = list(rows[0])
    assigned = [c for c in columns if c not in match]
    if _postgres(connection) and len(rows) >= COPY_FROM:
        return _update_from_copy(connection, table, rows, columns, assigned, match,
                                 extra_set, params or {})
    sets = [f"{c} = :{c}" for c in assigned] + ([extra_set] if extra_set else [])
    where = " AND ".join(f"{c} = :{c}" for c in match)
    statement = text(f"UPDATE {table.name} SET {', '.join(sets)} WHERE {where}")
    # One statement per row: executemany's rowcount is not a reliable total everywhere.
    return sum(connection.execute(statement, {**(params or {}), **row}).rowcount
               for row in rows)


def _update_from_copy(connection, table, rows, columns, assigned, match, extra_set, params):
    """COPY the rows into a temporary table, then one UPDATE … FROM it."""
    temp = _copy_to_temp(connection, table, columns, rows)
    sets = [f"{c} = t.{c}" for c in assigned]
    if extra_set:
        sets.append(extra_set)
    where = " AND ".join(f"{table.name}.{c} = t.{c}" for c in match)
    result = connection.execute(
        text(f"UPDATE {table.name} SET {', '.join(sets)} FROM {temp} t WHERE {where}"), params)
    connection.execute(text(f"DROP TABLE {temp}"))
    return result.rowcount
