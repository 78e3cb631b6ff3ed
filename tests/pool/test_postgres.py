"""Two bureau officers import the same list at the same moment on PostgreSQL: each honour, each new
enterprise and each offer exists once."""

from __future__ import annotations

import threading

from sqlalchemy import func, select

from services.bootstrap import Services
from services.db.models import Enterprise, Honour
from services.db.models_pool import Offer, RecognitionBatch
from services.pool.batches import ImportReport
from tests.conftest import requires_postgres
from tests.pool.conftest import run_import
from tests.pool.lists import code, csv_file

ROWS = [
    [
        code("360102", 100 + i),
        f"南昌测试并发{i}号科技有限公司",
        "专精特新“小巨人”企业",
        "国家级",
        f"工信测字〔2024〕{i}号",
        "2024-01-10",
        "",
    ]
    for i in range(20)
]


@requires_postgres()
def test_concurrent_imports_of_one_list_create_everything_once(world: Services) -> None:
    path = csv_file("concurrent", ROWS)
    barrier = threading.Barrier(2)
    reports: list[ImportReport] = []
    errors: list[BaseException] = []

    def one() -> None:
        try:
            barrier.wait()
            reports.append(run_import(world, path))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=one) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(r.created for r in reports) == [0, 20]
    assert sorted(r.offers_made for r in reports) == [0, 20]
    with world.uow() as uow:
        s = uow.session
        assert s.scalar(select(func.count()).select_from(RecognitionBatch)) == 1
        assert s.scalar(select(func.count()).select_from(Honour).where(Honour.document_no.like("工信测字%"))) == 20
        assert s.scalar(select(func.count()).select_from(Enterprise).where(Enterprise.name.like("南昌测试并发%"))) == 20
        assert s.scalar(select(func.count()).select_from(Offer)) == 20
