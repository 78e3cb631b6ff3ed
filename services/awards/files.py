"""Supporting documents: checked by content, stored content-addressed, recorded with their hash.

A file is accepted only if its first bytes are those of a PDF, JPEG or PNG (the name and the
declared type are not trusted) and its name's extension agrees with that content. Limits come
from the settings ``upload_max_bytes`` (default 10 MiB) and ``upload_max_files`` (default 10 per
application). Files live under ``<data_dir>/files/<sha256[:2]>/<sha256>``: the same content is
stored once, and a file written for a transaction that then rolled back is a harmless orphan.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.accounts.access import visible_application
from services.audit import chain as audit
from services.db.models import Application, Document, User
from services.errors import Conflict, InvalidInput, NotFound

FIELD = "files"
# content type -> (magic bytes at offset 0, extensions a name may carry)
SIGNATURES: dict[str, tuple[bytes, tuple[str, ...]]] = {
    "application/pdf": (b"%PDF-", (".pdf",)),
    "image/png": (b"\x89PNG\r\n\x1a\n", (".png",)),
    "image/jpeg": (b"\xff\xd8\xff", (".jpg", ".jpeg")),
}
MAX_NAME = 200


@dataclass(frozen=True)
class Upload:
    """A file as received: its claimed name and its bytes (nothing else is trusted)."""

    filename: str
    data: bytes


@dataclass(frozen=True)
class CheckedFile:
    """A file that passed the checks: safe name, type from its content, hash."""

    filename: str
    content_type: str
    data: bytes
    sha256: str


def read_limited(stream: BinaryIO, *, filename: str, max_bytes: int) -> Upload:
    """Read at most one byte more than the limit, so an oversized upload is never read whole."""
    data = stream.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise InvalidInput(FIELD, f"文件“{safe_name(filename)}”超过大小上限 {_mib(max_bytes)}")
    return Upload(filename=filename, data=data)


def sniff(data: bytes) -> str | None:
    """The content type that the bytes themselves show (PDF, PNG, JPEG), or None."""
    return next((ctype for ctype, (magic, _ext) in SIGNATURES.items() if data.startswith(magic)), None)


def safe_name(filename: str) -> str:
    """The base name only, without control characters, at most 200 characters."""
    base = re.split(r"[\\/]", filename or "")[-1]
    base = "".join(ch for ch in base if unicodedata.category(ch)[0] != "C").strip().strip(".")
    if len(base) > MAX_NAME:
        stem, dot, ext = base.rpartition(".")
        base = (stem[: MAX_NAME - len(ext) - 1] + dot + ext) if dot and len(ext) <= 10 else base[:MAX_NAME]
    return base


def check_uploads(uploads: list[Upload], *, max_bytes: int, max_files: int, already: int = 0) -> list[CheckedFile]:
    """Check every upload before anything is stored; InvalidInput('files', rule) names the first bad one."""
    if already + len(uploads) > max_files:
        raise InvalidInput(FIELD, f"每件申报最多 {max_files} 个附件（已有 {already} 个，本次 {len(uploads)} 个）")
    checked = []
    for up in uploads:
        name = safe_name(up.filename)
        if not name:
            raise InvalidInput(FIELD, "文件名不能为空")
        if not up.data:
            raise InvalidInput(FIELD, f"文件“{name}”是空文件")
        if len(up.data) > max_bytes:
            raise InvalidInput(FIELD, f"文件“{name}”超过大小上限 {_mib(max_bytes)}")
        ctype = sniff(up.data)
        if ctype is None:
            raise InvalidInput(FIELD, f"文件“{name}”的内容不是 PDF、JPEG 或 PNG（按文件内容识别，不看扩展名）")
        extensions = SIGNATURES[ctype][1]
        if not name.lower().endswith(extensions):
            raise InvalidInput(FIELD, f"文件“{name}”的扩展名与内容（{kind_name(ctype)}）不符，"
                                      f"应为 {'/'.join(extensions)}")
        checked.append(CheckedFile(name, ctype, up.data, hashlib.sha256(up.data).hexdigest()))
    return checked


def blob_path(data_dir: Path, sha256: str) -> Path:
    """Where the content with this hash lives."""
    if not re.fullmatch(r"[0-9a-f]{64}", sha256):
        raise ValueError(f"not a SHA-256 hex digest: {sha256!r}")
    return data_dir / "files" / sha256[:2] / sha256


def store_blob(data_dir: Path, checked: CheckedFile) -> Path:
    """Write the content once under its hash (atomically: temp file, fsync, rename)."""
    path = blob_path(data_dir, checked.sha256)
    if path.exists() and path.stat().st_size == len(checked.data):
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(checked.data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def count(session: Session, application_id: int) -> int:
    """How many documents an application carries."""
    return session.scalar(select(func.count(Document.id)).where(Document.application_id == application_id)) or 0


def attach(session: Session, *, application: Application, files: list[CheckedFile], data_dir: Path, actor: str,
           now: datetime) -> list[Document]:
    """Store checked files and record them for the application, with one audit event (caller commits)."""
    docs = []
    for f in files:
        store_blob(data_dir, f)
        doc = Document(application_id=application.id, sha256=f.sha256, filename=f.filename,
                       content_type=f.content_type, size=len(f.data), uploaded_by=actor, uploaded_at=now)
        session.add(doc)
        docs.append(doc)
    if docs:
        session.flush()
        audit.append(session, kind="documents.add", actor=actor, at=now, instance_id=application.instance_id,
                     application_id=application.id,
                     payload={"documents": [{"id": d.id, "sha256": d.sha256, "filename": d.filename,
                                             "content_type": d.content_type, "size": d.size} for d in docs]})
    return docs


def documents_of(session: Session, user: User, application_id: int) -> list[Document]:
    """The documents of an application the user may see (NotFound otherwise), oldest first."""
    visible_application(session, user, application_id)
    return list(session.scalars(select(Document).where(Document.application_id == application_id)
                                .order_by(Document.id)))


def visible_document(session: Session, user: User, document_id: int) -> Document:
    """A document whose application the user may see; NotFound otherwise (no hint that it exists)."""
    doc = session.get(Document, document_id)
    if doc is None:
        raise NotFound(f"附件 #{document_id} 不存在")
    try:
        visible_application(session, user, doc.application_id)
    except NotFound:
        raise NotFound(f"附件 #{document_id} 不存在") from None
    return doc


def read_content(data_dir: Path, doc: Document) -> bytes:
    """The stored bytes, checked against the recorded hash before they are handed out."""
    try:
        data = blob_path(data_dir, doc.sha256).read_bytes()
    except FileNotFoundError:
        raise NotFound(f"文件“{doc.filename}”的内容不在存储中") from None
    if hashlib.sha256(data).hexdigest() != doc.sha256:
        raise Conflict(f"文件“{doc.filename}”的内容与登记的哈希不符，已拒绝下载")
    return data


#: what a person calls each kind of file the service takes
KIND_NAMES = {"application/pdf": "PDF 文件", "image/jpeg": "JPEG 图片", "image/png": "PNG 图片"}


def kind_name(content_type: str) -> str:
    return KIND_NAMES.get(content_type, "其他文件")


def size_text(n: int) -> str:
    """A file size as people read it: `0.6 KB`, `245.3 KB`, `1.2 MB`, `10 MB` (1 MB = 1024 KB)."""
    if n >= 1024 * 1024:
        return f"{n / (1024 * 1024):.1f}".removesuffix(".0") + " MB"
    return f"{max(n, 1) / 1024:.1f}".removesuffix(".0") + " KB"


def _mib(n: int) -> str:
    return size_text(n)
