"""Multipart uploads in, file downloads out: the HTTP side of services.awards.files."""

from __future__ import annotations

import re
from collections.abc import Sequence
from urllib.parse import quote

from fastapi.responses import Response
from starlette.datastructures import UploadFile

from config.settings import Settings
from services.awards import files
from services.db.models import Document
from services.errors import InvalidInput


def read_uploads(parts: Sequence[UploadFile | str], settings: Settings) -> list[files.Upload]:
    """Read the chosen files, never more than the size limit (+1 byte) of each; an empty file input
    (no file chosen: browsers send it as an empty text part) is ignored. Content checks are the
    service's (services.awards.files.check_uploads)."""
    chosen = [p for p in parts if isinstance(p, UploadFile) and (p.filename or p.size)]
    if len(chosen) > settings.upload_max_files:
        raise InvalidInput(files.FIELD, f"每件申报最多 {settings.upload_max_files} 个附件（本次 {len(chosen)} 个）")
    return [files.read_limited(p.file, filename=p.filename or "", max_bytes=settings.upload_max_bytes)
            for p in chosen]


def content_disposition(filename: str) -> str:
    """`attachment` with an ASCII fallback name and the exact UTF-8 name (RFC 6266 / RFC 5987)."""
    fallback = re.sub(r"[^A-Za-z0-9._-]", "_", filename) or "document"
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


#: How every stored diagram is served: as data for bpmn-js or a download, never a document that may run
#: script (an uploaded diagram could carry an html:script element; see services.engine.validate_xml).
DIAGRAM_HEADERS = {"Content-Security-Policy": "sandbox; default-src 'none'", "X-Content-Type-Options": "nosniff"}


def diagram_response(xml: str | bytes, headers: dict[str, str] | None = None) -> Response:
    """A stored BPMN diagram as application/xml, sandboxed (DIAGRAM_HEADERS) whatever else is set."""
    return Response(xml, media_type="application/xml", headers={**(headers or {}), **DIAGRAM_HEADERS})


def download_response(doc: Document, data: bytes) -> Response:
    """The file as an attachment with its stored (content-checked) type; browsers must not sniff or run it."""
    return Response(content=data, media_type=doc.content_type, headers={
        "Content-Disposition": content_disposition(doc.filename),
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; sandbox",
        "Cache-Control": "private, no-store",
    })
