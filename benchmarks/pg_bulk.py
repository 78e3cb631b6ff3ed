"""What the PostgreSQL benchmarks share: a scratch schema per run, settings with cheap password
hashing, and open cases cloned in bulk with INSERT ... SELECT from one real case (so 100,000 open
cases take seconds, and each is a faithful copy of one the service layer made)."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import Connection, Table, func, select, text

from config.settings import Settings
from services.bootstrap import Services, build
from services.db.models import Application, Enterprise, Honour, ProcessInstance, Timer, WorkItem

CHUNK = 25_000  # rows per INSERT ... SELECT


def schema_url(base: str, schema: str) -> str:
    """A fresh, empty schema and the URL that uses it."""
    admin = build(Settings(database_url=base, environment="test")).db
    with admin.begin() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    admin.dispose()
    return f"{base}{'&' if '?' in base else '?'}options=-csearch_path%3D{schema}"


def drop_schemas(base: str, schemas: list[str]) -> None:
    admin = build(Settings(database_url=base, environment="test")).db
    with admin.begin() as conn:
        for schema in schemas:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
    admin.dispose()


def settings(url: str, **extra: Any) -> Settings:
    return Settings(database_url=url, environment="test", argon2_time_cost=1, argon2_memory_kib=64, **extra)


def _copy(conn: Connection, table: Table, template_id: int, first: int, count: int, offset: int,
          overrides: dict[str, str]) -> None:
    """Insert `count` copies of row `template_id` of `table`: copy g (first..first+count-1) gets id
    offset + g; `overrides` are SQL expressions (of t, the template row, and g) for other columns."""
    cols = [c.name for c in table.columns]
    exprs = {"id": f"{offset} + g", **overrides}
    names = ", ".join(f'"{c}"' for c in cols)
    values = ", ".join(exprs.get(c, f't."{c}"') for c in cols)
    conn.execute(text(
        f'INSERT INTO "{table.name}" ({names}) SELECT {values} FROM "{table.name}" AS t '
        f"CROSS JOIN generate_series(CAST(:first AS bigint), CAST(:last AS bigint)) AS g WHERE t.id = :template"),
        {"first": first, "last": first + count - 1, "template": template_id})


def clone_open_cases(services: Services, template_app: int, copies: int, *, due: str,
                     units: list[str] | None = None, echo: bool = False) -> None:
    """`copies` more open cases copied in SQL from application `template_app` (its enterprise,
    honour, instance, work item and timer), the work item and timer due at the SQL expression `due`
    (of t, the template row, and g, the copy's number); spread over `units` when given. Then VACUUM
    ANALYZE and CHECKPOINT, so the tables are as they would be in service and the load is written out
    before any measurement."""
    with services.db.begin() as conn:
        app = conn.execute(select(Application).where(Application.id == template_app)).one()
        [item_id] = conn.execute(select(WorkItem.id).where(WorkItem.instance_id == app.instance_id)).scalars()
        [timer_id] = conn.execute(select(Timer.id).where(Timer.instance_id == app.instance_id)).scalars()
        tables = {m.__tablename__: cast(Table, m.__table__)
                  for m in (Enterprise, Honour, ProcessInstance, Application, WorkItem, Timer)}
        base = {name: conn.scalar(select(func.coalesce(func.max(t.c.id), 0))) or 0 for name, t in tables.items()}
        unit = {"review_unit_code": f"(ARRAY[{', '.join(repr(u) for u in units)}])[1 + g % {len(units)}]"} \
            if units else {}
        ent = f"{base['enterprise']} + g"
        instance = f"{base['process_instance']} + g"
        for first in range(1, max(copies, 0) + 1, CHUNK):
            count = min(CHUNK, copies + 1 - first)
            _copy(conn, tables["enterprise"], app.enterprise_id, first, count, base["enterprise"],
                  {"uscc": f"'BENCH' || lpad(({ent})::text, 13, '0')", "name": f"'批量企业' || ({ent})", **unit})
            _copy(conn, tables["honour"], app.honour_id, first, count, base["honour"], {"enterprise_id": ent})
            _copy(conn, tables["process_instance"], app.instance_id, first, count, base["process_instance"], {})
            _copy(conn, tables["application"], app.id, first, count, base["application"],
                  {"enterprise_id": ent, "honour_id": f"{base['honour']} + g", "instance_id": instance, **unit})
            _copy(conn, tables["work_item"], item_id, first, count, base["work_item"],
                  {"instance_id": instance, "application_id": f"{base['application']} + g",
                   "enterprise_id": ent, "due_at": due, **unit})
            _copy(conn, tables["timer"], timer_id, first, count, base["timer"],
                  {"instance_id": instance, "due_at": due})
            if echo:
                print(f"  ... {first + count - 1:,} copies", flush=True)
        for name in tables:
            conn.execute(text(f"SELECT setval(pg_get_serial_sequence('\"{name}\"', 'id'), "
                              f'(SELECT max(id) FROM "{name}"))'))
    with services.db.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))
        conn.execute(text("CHECKPOINT"))
