"""On SQLite the workflow state is stored packed (a zstd frame), on PostgreSQL as given (it compresses
large values itself); either way it is read back as the serializer's exact bytes, and a state stored
in the other form (before packing, or by hand) is read as it is and stored in the database's own form
at the next step."""

from __future__ import annotations

import orjson
import pytest
import zstandard
from sqlalchemy import select, text

from services.awards.demo import Demo
from services.bootstrap import Services
from services.db.base import PackedBytes
from services.db.models import Application, ProcessInstance
from tests.conftest import requires_postgres
from tests.helpers import act, apply_for, open_item


def _raw(services: Services, instance_id: int) -> bytes:
    """The column as stored, without the column type's reading."""
    with services.db.connect() as conn:
        return bytes(conn.execute(text("SELECT state FROM process_instance WHERE id = :i"),
                                  {"i": instance_id}).scalar_one())


def _instance(services: Services, app_id: int) -> tuple[int, bytes]:
    with services.uow() as uow:
        inst_id = uow.session.scalars(select(Application.instance_id).where(Application.id == app_id)).one()
        assert inst_id is not None
        state = uow.session.execute(select(ProcessInstance.state).where(ProcessInstance.id == inst_id)).scalar_one()
    return inst_id, state


def _packed_here(services: Services) -> bool:
    return services.db.dialect.name in PackedBytes.PACKED_ON


def test_the_state_is_stored_as_a_zstd_frame_and_read_as_the_serializers_bytes(services: Services) -> None:
    Demo(services, echo=False).load()
    app_id = apply_for(services, "南昌精工智能装备有限公司", "m2-little-giant-national", 300_000_00)
    act(services, app_id, "district-donghu", "approve")
    inst_id, state = _instance(services, app_id)
    cached = services.runtime.cached(inst_id)
    assert cached is not None and state == services.engine.dumps_reference(cached[1])
    raw = _raw(services, inst_id)
    if not _packed_here(services):
        assert raw == state  # PostgreSQL: as given
        return
    assert raw.startswith(PackedBytes.MAGIC) and len(raw) * 3 < len(state)
    assert zstandard.ZstdDecompressor().decompress(raw) == state  # a standard frame: `zstd -d` reads it


def test_a_state_stored_in_the_other_form_is_read_and_stored_in_this_databases_form_at_the_next_step(
        services: Services) -> None:
    Demo(services, echo=False).load()
    app_id = apply_for(services, "南昌精工智能装备有限公司", "m2-little-giant-national", 300_000_00)
    inst_id, state = _instance(services, app_id)
    other = state if _packed_here(services) else PackedBytes.pack(state)  # as before packing / from SQLite
    with services.db.begin() as conn:
        conn.execute(text("UPDATE process_instance SET state = :s WHERE id = :i"), {"s": other, "i": inst_id})
    assert _raw(services, inst_id) == other and state.startswith(b"{")
    services.runtime.forget()
    assert _instance(services, app_id)[1] == state
    act(services, app_id, "district-donghu", "approve")  # restored from the unpacked row
    assert open_item(services, app_id).task_spec == "bureau_review"
    after = _raw(services, inst_id)
    assert after.startswith(PackedBytes.MAGIC) == _packed_here(services)
    assert orjson.loads(PackedBytes.unpack(after))["tasks"] != orjson.loads(state)["tasks"]


def test_what_does_not_unpack_is_returned_as_stored(services: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    """A frame cut short, one beyond the unpacking budget, and a frame without its content size (not one
    written here) are read back byte for byte as stored, for the audit's checks to name."""
    Demo(services, echo=False).load()
    app_id = apply_for(services, "南昌精工智能装备有限公司", "m2-little-giant-national", 300_000_00)
    inst_id, state = _instance(services, app_id)
    packed = PackedBytes.pack(state)
    sizeless = zstandard.ZstdCompressor(level=1, write_content_size=False).compress(state)
    monkeypatch.setattr(PackedBytes, "LIMIT", len(state) - 1)
    for stored in (packed[:-10], packed, sizeless, PackedBytes.MAGIC):
        with services.db.begin() as conn:
            conn.execute(text("UPDATE process_instance SET state = :s WHERE id = :i"), {"s": stored, "i": inst_id})
        assert _instance(services, app_id)[1] == stored
    monkeypatch.setattr(PackedBytes, "LIMIT", len(state))
    assert PackedBytes.unpack(packed) == state


@requires_postgres()
def test_postgresql_compresses_the_state_with_lz4(services: Services) -> None:
    """PostgreSQL stores the state as given and compresses it itself, with lz4 (migration 0020)."""
    Demo(services, echo=False).load()
    app_id = apply_for(services, "南昌精工智能装备有限公司", "m2-little-giant-national", 300_000_00)
    act(services, app_id, "district-donghu", "approve")
    inst_id, state = _instance(services, app_id)
    with services.db.connect() as conn:
        methods = conn.execute(text("SELECT enumvals FROM pg_settings "
                                    "WHERE name = 'default_toast_compression'")).scalar()
        if "lz4" not in (methods or []):
            pytest.skip("this PostgreSQL server is built without lz4")
        method, stored = conn.execute(text("SELECT pg_column_compression(state), pg_column_size(state) "
                                           "FROM process_instance WHERE id = :i"), {"i": inst_id}).one()
    assert method == "lz4" and stored * 3 < len(state)
