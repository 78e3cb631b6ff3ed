"""Pool fixtures: importing lists through the real service on the real database."""

from __future__ import annotations

from pathlib import Path

from services.bootstrap import Services
from services.pool.batches import ImportReport, import_list
from services.pool.offers import after_import


def run_import(services: Services, path: Path, *, partial: bool = False, actor: str = "bureau") -> ImportReport:
    with services.uow() as uow:
        report = import_list(
            uow,
            services,
            content=path.read_bytes(),
            filename=path.name,
            actor=actor,
            now=services.clock.now(),
            partial=partial,
            after=after_import,
        )
        uow.commit()
    return report


from tests.web.conftest import chromium_browser, client, live_url, login, world  # noqa: E402, F401  (the web fixtures, for the pool pages)
from tests.web.test_browser_award_path import shots  # noqa: E402, F401  (a browser fixture)
