"""`smeflow init`: migrate, load the policy data and install the bundled diagrams (idempotent)."""

from __future__ import annotations

from services.audit import chain as audit
from services.awards import catalogue, routes
from services.bootstrap import Services
from services.db.migrate import upgrade


def initialise(services: Services) -> list[str]:
    """Bring a database to a working state; returns the installed diagram hashes."""
    upgrade(services.db)
    installed = []
    with services.uow() as uow:
        audit.ensure_head(uow.session)
        catalogue.sync(uow.session, services.editions, services.units)
        for name, docs in routes.bundled_documents().items():
            row = routes.install(uow.session, services.engine, docs, source_name=name, now=services.clock.now())
            installed.append(f"{row.process_id} {row.hash[:12]}")
        uow.commit()
    return installed
