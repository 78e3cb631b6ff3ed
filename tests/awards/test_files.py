"""Supporting files and the applicant's commands through the real services and database:
content checks, content-addressed storage, one transaction with the case, scope, integrity."""

from __future__ import annotations

import hashlib
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select

from services.accounts import users
from services.audit import chain as audit
from services.awards import claims, enterprises, files, tasks
from services.awards.demo import Demo, demo_uscc
from services.bootstrap import Services
from services.db.models import Application, Call, Document, Enterprise, Honour, User
from services.errors import Conflict, Forbidden, InvalidInput, NotFound
from tests.helpers import act, open_item, snapshot

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(32)
JPEG = b"\xff\xd8\xff\xe0" + bytes(32)
HTML = b"<!doctype html><html><script>alert(1)</script></html>"
AWARD = "m2-little-giant-national"


@pytest.fixture
def world(services: Services) -> Services:
    Demo(services, echo=False).load()
    return services


def _user(services: Services, username: str) -> User:
    with services.uow() as uow:
        return users.get_user(uow.session, username)


def _apply(services: Services, username: str, uploads: list[files.Upload], award: str = AWARD) -> int:
    with services.uow() as uow:
        user = users.get_user(uow.session, username)
        honour = uow.session.scalars(select(Honour).where(Honour.enterprise_id == user.enterprise_id)).first()
        call = uow.session.scalars(select(Call)).one()
        assert honour is not None
        app = claims.apply(uow, services, user=user, call_id=call.id, award_type_code=award, honour_id=honour.id,
                           requested_fen=100_000_00, description="申报说明", uploads=uploads,
                           now=services.clock.now())
        uow.commit()
        return app.id


def _blobs(services: Services) -> list[Path]:
    root = services.settings.data_dir / "files"
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def _documents(services: Services) -> list[Document]:
    with services.uow() as uow:
        return list(uow.session.scalars(select(Document).order_by(Document.id)))


def check(*uploads: files.Upload, already: int = 0) -> list[files.CheckedFile]:
    return files.check_uploads(list(uploads), max_bytes=1024, max_files=3, already=already)


def test_files_are_recognised_by_their_content_not_their_name() -> None:
    ok = check(files.Upload("证书.pdf", PDF), files.Upload("照片.JPG", JPEG), files.Upload("scan.png", PNG))
    assert [c.content_type for c in ok] == ["application/pdf", "image/jpeg", "image/png"]
    assert ok[0].sha256 == hashlib.sha256(PDF).hexdigest()
    cases = [
        (files.Upload("evil.pdf", HTML), "不是 PDF、JPEG 或 PNG"),
        (files.Upload("picture.pdf", PNG), "扩展名与内容（PNG 图片）不符"),
        (files.Upload("empty.pdf", b""), "空文件"),
        (files.Upload("big.pdf", PDF + bytes(1024)), "超过大小上限"),
        (files.Upload("/", PDF), "文件名不能为空"),
    ]
    for upload, rule in cases:
        with pytest.raises(InvalidInput) as err:
            check(upload)
        assert err.value.field == "files" and rule in err.value.rule
    with pytest.raises(InvalidInput, match="最多 3 个附件"):
        check(files.Upload("a.pdf", PDF), files.Upload("b.pdf", PDF), already=2)


def test_file_names_lose_paths_and_control_characters() -> None:
    assert files.safe_name("..\\..\\windows\\系统.pdf") == "系统.pdf"
    assert files.safe_name("../../etc/pass\x00wd\r\n.pdf") == "passwd.pdf"
    long = files.safe_name("很" * 300 + ".pdf")
    assert len(long) == 200 and long.endswith(".pdf")


def test_apply_stores_files_content_addressed_with_their_hash(world: Services) -> None:
    app_id = _apply(world, "applicant-a", [files.Upload("licence.pdf", PDF), files.Upload("again.pdf", PDF),
                                           files.Upload("photo.png", PNG)])
    docs = _documents(world)
    assert [(d.application_id, d.filename, d.content_type, d.size) for d in docs] == [
        (app_id, "licence.pdf", "application/pdf", len(PDF)), (app_id, "again.pdf", "application/pdf", len(PDF)),
        (app_id, "photo.png", "image/png", len(PNG))]
    digest = hashlib.sha256(PDF).hexdigest()
    assert docs[0].sha256 == docs[1].sha256 == digest and docs[0].uploaded_by == "applicant-a"
    blob = world.settings.data_dir / "files" / digest[:2] / digest
    assert blob.read_bytes() == PDF
    assert len(_blobs(world)) == 2  # the same content is stored once
    with world.uow() as uow:
        assert audit.verify(uow.session).ok
        kinds = [e.kind for e in uow.session.scalars(select(audit.AuditEvent).where(
            audit.AuditEvent.application_id == app_id).order_by(audit.AuditEvent.seq))]
    assert kinds == ["case.start", "documents.add"]


def test_bad_upload_or_refused_application_stores_nothing(world: Services) -> None:
    before = snapshot(world)
    with pytest.raises(InvalidInput) as err:
        _apply(world, "applicant-a", [files.Upload("ok.pdf", PDF), files.Upload("evil.pdf", HTML)])
    assert err.value.field == "files"
    with pytest.raises(InvalidInput) as err:  # valid files, but the enterprise holds no such honour
        _apply(world, "applicant-a", [files.Upload("ok.pdf", PDF)], award="m2-srdi-sme-city")
    assert err.value.field == "honour_id"
    assert snapshot(world) == before and _blobs(world) == []


def test_a_failed_resubmission_leaves_no_document_and_no_change(world: Services) -> None:
    app_id = _apply(world, "applicant-a", [])
    act(world, app_id, "district-donghu", "return", reason="缺少认定文件")
    item_id = open_item(world, app_id).id
    with world.uow() as uow:  # a colleague of the same enterprise holds the correction
        ent_id = uow.session.scalars(select(Enterprise.id).where(Enterprise.name.like("南昌精工%"))).one()
        users.create_user(uow.session, hasher=world.password_hasher, username="applicant-a2", display_name="同事",
                          role="applicant", password="smeflow-demo", enterprise_id=ent_id)
        tasks.claim(uow, item_id=item_id, username="applicant-a2", now=world.clock.now())
        uow.commit()
    before = snapshot(world)
    with world.uow() as uow, pytest.raises(Conflict, match="认领"):
        claims.resubmit(uow, world, user=users.get_user(uow.session, "applicant-a"), application_id=app_id,
                        description="已补充", uploads=[files.Upload("cert.pdf", PDF)], now=world.clock.now())
    assert snapshot(world) == before and _documents(world) == []
    with world.uow() as uow:
        assert uow.session.get_one(Application, app_id).description == "申报说明"


def test_documents_are_seen_only_within_scope_and_checked_on_read(world: Services) -> None:
    _apply(world, "applicant-a", [files.Upload("licence.pdf", PDF)])
    doc = _documents(world)[0]
    with world.uow() as uow:
        for username in ("applicant-b", "district-xihu"):
            with pytest.raises(NotFound):
                files.visible_document(uow.session, users.get_user(uow.session, username), doc.id)
        with pytest.raises(NotFound):
            files.visible_document(uow.session, users.get_user(uow.session, "bureau"), doc.id + 1000)
        for username in ("applicant-a", "district-donghu", "bureau", "auditor"):
            seen = files.visible_document(uow.session, users.get_user(uow.session, username), doc.id)
            assert files.read_content(world.settings.data_dir, seen) == PDF
    blob = files.blob_path(world.settings.data_dir, doc.sha256)
    blob.write_bytes(PDF.replace(b"1.4", b"1.7"))
    with pytest.raises(Conflict, match="哈希不符"):
        files.read_content(world.settings.data_dir, doc)
    blob.unlink()
    with pytest.raises(NotFound):
        files.read_content(world.settings.data_dir, doc)


def test_documents_can_be_added_before_the_first_decision_or_while_returned(world: Services) -> None:
    app_id = _apply(world, "applicant-a", [])
    user = _user(world, "applicant-a")

    def add(name: str) -> None:
        with world.uow() as uow:
            claims.add_documents(uow, world, user=user, application_id=app_id, uploads=[files.Upload(name, PDF)],
                                 now=world.clock.now())
            uow.commit()

    add("first.pdf")
    act(world, app_id, "district-donghu", "approve")
    with pytest.raises(Conflict, match="首次审核之前或退回补正期间"):
        add("late.pdf")
    other = _user(world, "applicant-b")
    with world.uow() as uow, pytest.raises(NotFound):
        claims.add_documents(uow, world, user=other, application_id=app_id,
                             uploads=[files.Upload("x.pdf", PDF)], now=world.clock.now())
    assert [d.filename for d in _documents(world)] == ["first.pdf"]


def test_an_unbound_applicant_registers_and_is_bound(world: Services) -> None:
    with world.uow() as uow:
        users.create_user(uow.session, hasher=world.password_hasher, username="newco", display_name="新企业",
                          role="applicant", password="smeflow-demo", allow_unbound=True)
        with pytest.raises(InvalidInput, match="绑定"):  # the default still requires an enterprise
            users.create_user(uow.session, hasher=world.password_hasher, username="x", display_name="x",
                              role="applicant", password="smeflow-demo")
        uow.commit()
    today, now = date(2024, 6, 3), world.clock.now()

    def register(username: str, uscc: str, unit: str = "donghu") -> Enterprise:
        with world.uow() as uow:
            ent = enterprises.register_for_user(uow.session, user=users.get_user(uow.session, username), uscc=uscc,
                                                name="新企业有限公司", review_unit_code=unit, email=None, now=now,
                                                today=today)
            uow.commit()
            return ent

    with pytest.raises(InvalidInput) as err:
        register("newco", demo_uscc(60), unit="linkong")  # merged into 经开区 in 2023
    assert err.value.field == "review_unit"
    with pytest.raises(Conflict, match="已登记"):
        register("newco", demo_uscc(1))  # an existing enterprise cannot be taken over
    with pytest.raises(Forbidden):
        register("bureau", demo_uscc(61))
    ent = register("newco", demo_uscc(60))
    assert _user(world, "newco").enterprise_id == ent.id
    with pytest.raises(Conflict, match="已绑定"):
        register("newco", demo_uscc(62))
    with world.uow() as uow:
        assert "user.bind_enterprise" in [e.kind for e in uow.session.scalars(select(audit.AuditEvent))]
        assert "linkong" not in {u.code for u in enterprises.active_units(uow.session, today=today)}


def test_claimable_awards_say_why_not(world: Services) -> None:
    user = _user(world, "applicant-a")
    assert user.enterprise_id is not None
    with world.uow() as uow:
        enterprises.add_honour(uow.session, enterprise_id=user.enterprise_id, honour_type="srdi_sme", level="city",
                               recognised_on=date(2020, 5, 1), document_no="洪工信〔2020〕1号", issuer=None,
                               editions=world.editions, actor="applicant-a", now=world.clock.now())
        uow.commit()

    def offers() -> dict[str, claims.AwardOffer]:
        with world.uow() as uow:
            [call] = claims.claimable(uow.session, world, enterprise_id=user.enterprise_id or 0,
                                      today=date(2024, 6, 3))
            return {a.code: a for a in call.awards}

    first = offers()
    assert first[AWARD].eligible and first[AWARD].cap_fen == 30_000_000 and first[AWARD].reason is None
    assert "适用范围 2021-01-01" in (first["m2-srdi-sme-city"].reason or "")
    assert first["m2-single-champion-national"].reason == "尚未登记所需荣誉：制造业单项冠军企业（国家级）"
    app_id = _apply(world, "applicant-a", [])
    after = offers()
    assert not after[AWARD].eligible and after[AWARD].application_id == app_id
    assert f"已申报（申报号 {app_id}）" in (after[AWARD].reason or "")


def test_sizes_and_kinds_read_as_people_say_them() -> None:
    assert [files.size_text(n) for n in (0, 602, 1024, 251_187, 1_258_291, 10 * 1024 * 1024)] == [
        "0 KB", "0.6 KB", "1 KB", "245.3 KB", "1.2 MB", "10 MB"]
    assert [files.kind_name(t) for t in ("application/pdf", "image/png", "image/jpeg", "text/html")] == [
        "PDF 文件", "PNG 图片", "JPEG 图片", "其他文件"]
