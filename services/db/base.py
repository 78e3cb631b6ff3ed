"""Declarative base with a stable constraint naming convention (so Alembic names are stable)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import zstandard
from sqlalchemy import DateTime, LargeBinary, MetaData, TypeDecorator
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always returned timezone-aware (SQLite drops the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where an aware one is required")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class PackedBytes(TypeDecorator[bytes]):
    """Bytes stored as a zstd frame (level 1), and returned exactly as given.

    For the serialized workflow state: about 35 KB of JSON per case, three quarters of it the diagram
    the case runs, which packs to about 5.5 KB in some 40 µs. On SQLite every step rewrites the state,
    and its overflow pages were most of the pages each step wrote and each checkpoint copied (+8.8 %
    completions/s packed, A/B in one process, phases interleaved). A frame is standard zstd
    (`zstd -d` reads it). What is returned is exactly what was given (the engine's serializer bytes,
    which the audit events hash), whatever the stored form: a value that is not a frame (a row written
    before states were packed, or written by hand) is returned as stored, and so is a frame that does
    not unpack (altered in the database), for the audit's checks to name."""

    impl = LargeBinary
    cache_ok = True

    # Packed where it pays. PostgreSQL compresses a large value itself (TOAST) and writes it out of line;
    # packing it here made a step 5 % slower there (A/B in one process, phases interleaved), so there
    # it is stored as given. Either form is read on either database.
    PACKED_ON = frozenset({"sqlite"})
    MAGIC = b"\x28\xb5\x2f\xfd"  # a zstd frame; a serialized state is JSON and starts with "{"
    LEVEL = 1
    LIMIT = 256 * 1024 * 1024  # the most a stored frame may unpack to (a budget, not an expected size)
    _local = threading.local()  # a compressor per thread (zstandard's objects are not thread-safe)

    @classmethod
    def pack(cls, value: bytes) -> bytes:
        pack = getattr(cls._local, "pack", None)
        if pack is None:
            pack = cls._local.pack = zstandard.ZstdCompressor(level=cls.LEVEL)
        return bytes(pack.compress(value))

    @classmethod
    def unpack(cls, raw: bytes) -> bytes:
        """The bytes a stored value stands for (see the class docstring)."""
        if not raw.startswith(cls.MAGIC):
            return raw
        unpack = getattr(cls._local, "unpack", None)
        if unpack is None:
            unpack = cls._local.unpack = zstandard.ZstdDecompressor()
        try:
            size = zstandard.frame_content_size(raw)
            if not 0 <= size <= cls.LIMIT:
                return raw  # no size in the frame (not one written here), or beyond the budget
            return bytes(unpack.decompress(raw, max_output_size=cls.LIMIT))
        except zstandard.ZstdError:
            return raw

    def process_bind_param(self, value: bytes | None, dialect: Dialect) -> bytes | None:
        if not value or dialect.name not in self.PACKED_ON:
            return value
        return self.pack(value)

    def process_result_value(self, value: bytes | None, dialect: Dialect) -> bytes | None:
        return None if value is None else self.unpack(bytes(value))


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
