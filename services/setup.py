"""`smeflow init`: migrate, load the policy data and install the bundled diagrams (idempotent).

Each packaged edition file (``SMEFLOW_POLICY_DIR``) is stored in the database like `smeflow policy
load` stores one, unless that exact file is stored already."""

from __future__ import annotations

from config.policy import POLICY_DIR
from services.audit import chain as audit
from services.awards import catalogue, routes
from services.bootstrap import Services
from services.db.migrate import upgrade
from services.engine.names import process_name
from services.policy import store


def initialise(services: Services) -> list[str]:
    """Bring a database to a working state; returns one line per installed diagram (its name and
    hash), for `smeflow init` to print."""
    upgrade(services.db)
    installed = []
    with services.uow() as uow:
        audit.ensure_head(uow.session)
        catalogue.sync(uow.session, [], services.units)
        for file in sorted((services.settings.policy_dir or POLICY_DIR).glob("*.toml")):
            store.load(uow.session, file.read_bytes(), file.name, actor="smeflow init", now=services.clock.now())
        for name, docs in routes.bundled_documents().items():
            row = routes.install(uow.session, services.engine, docs, source_name=name, now=services.clock.now())
            installed.append(f"{process_name(row.bpmn_xml, row.process_id)}，版本 {row.hash[:12]}")
        uow.commit()
    return installed
