"""Core statements compiled once per dialect, for running on the DBAPI cursor (services.db.writes,
and the PostgreSQL chain append sent with the COMMIT): the SQL,
the parameter order, the literal binds and the bind processors, as SQLAlchemy's own execution
would use them."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Dialect, Executable, Insert


@dataclass(frozen=True)
class Compiled:
    """A statement's SQL for one dialect, its parameter names in order (positional paramstyles) or
    None (named), the values of its literal binds, and its bind processors by name."""

    sql: str
    positions: tuple[str, ...] | None
    defaults: dict[str, Any]
    processors: dict[str, Callable[[Any], Any]]

    def args(self, params: Mapping[str, Any]) -> tuple[Any, ...] | dict[str, Any]:
        values = {**self.defaults, **params}
        for name, process in self.processors.items():
            values[name] = process(values[name])
        if self.positions is None:
            return values
        return tuple(values[name] for name in self.positions)


_COMPILED: dict[tuple[int, str, tuple[str, ...]], tuple[Executable, Compiled]] = {}


def compiled(statement: Executable, dialect: Dialect, keys: tuple[str, ...] = ()) -> Compiled:
    """The statement compiled for `dialect` (an INSERT for the columns `keys`), once."""
    cache_key = (id(statement), dialect.name, keys)
    hit = _COMPILED.get(cache_key)
    if hit is not None:
        return hit[1]
    target: Any = statement
    c: Any = target.compile(dialect=dialect, column_keys=list(keys) if keys else None)
    defaults = dict(c.construct_params(_check=False))
    if isinstance(statement, Insert):
        filled = set(c.positiontup or defaults) - set(keys)
        if filled:  # a column the INSERT would fill with a Python-side default: give it explicitly
            raise ValueError(f"INSERT into {statement.table} needs values for {sorted(filled)}")
    processors = {name: p for name, p in (c._bind_processors or {}).items() if p is not None and name in defaults}
    result = Compiled(str(c), tuple(c.positiontup) if c.positiontup else None, defaults, processors)
    _COMPILED[cache_key] = (statement, result)  # the statement is kept, so its id stays its own
    return result


@dataclass(frozen=True)
class Prepared:
    """A write ready for the cursor: SQL, arguments (a list of them: executemany), `one`."""

    sql: str
    args: Any
    many: bool
    one: bool

    def send(self, cursor: Any) -> None:
        """Execute on a DBAPI cursor (executemany for a list of arguments)."""
        if self.many:
            cursor.executemany(self.sql, self.args)
        else:
            cursor.execute(self.sql, self.args)


Notify = Callable[[Any, Prepared, bool], None]


def announcer(conn: Connection) -> Notify | None:
    """Tells the engine's cursor-execute listeners about a statement run on the DBAPI cursor:
    (cursor, write, after); None when nothing listens."""
    if not (conn._has_events or conn.engine._has_events):
        return None
    if not (conn.dispatch.before_cursor_execute or conn.dispatch.after_cursor_execute):
        return None  # listeners of other events only (SQLite's BEGIN)

    def notify(cursor: Any, p: Prepared, after: bool) -> None:
        hook = conn.dispatch.after_cursor_execute if after else conn.dispatch.before_cursor_execute
        hook(conn, cursor, p.sql, p.args, None, p.many)
    return notify
