"""The dialect-specific SQL module for a session: services.db.sql_postgresql or services.db.sql_sqlite
(the same functions; everything else is dialect-neutral SQLAlchemy)."""

from __future__ import annotations

from types import ModuleType

from sqlalchemy.orm import Session

from services.db import sql_postgresql, sql_sqlite


def sql(session: Session) -> ModuleType:
    """The module of SQL written for the session's database."""
    return sql_postgresql if session.get_bind().dialect.name == "postgresql" else sql_sqlite
