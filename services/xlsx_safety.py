"""Opening an uploaded XLSX safely (the recognition list, the arrears ledger).

An XLSX file is a zip archive of XML: before openpyxl (and the XML parser under it) sees one, the
archive is refused when it would inflate beyond a bound (a zip bomb) and every XML member is read,
bounded, and refused when it declares a DTD or an entity (an external entity reading a file or URL,
or "billion laughs" expansion). No XLSX written by a spreadsheet program carries either.
"""

from __future__ import annotations

import io
import re
import zipfile

from services.errors import InvalidInput

MAX_XLSX_MEMBERS = 200
MAX_INFLATION = 100  # uncompressed / compressed, for the archive as a whole
_DTD = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)


def check_xlsx(content: bytes, max_bytes: int) -> None:
    """Refuse an XLSX whose archive would inflate beyond the limit, or whose XML declares a DTD or entity."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(content))
    except zipfile.BadZipFile as exc:
        raise InvalidInput("file", "不是有效的 XLSX 文件（无法作为压缩包打开）") from exc
    with archive:
        members = archive.infolist()
        if len(members) > MAX_XLSX_MEMBERS:
            raise InvalidInput("file", f"XLSX 文件包含的部件过多（超过 {MAX_XLSX_MEMBERS} 个）")
        total = sum(m.file_size for m in members)
        if total > max_bytes * MAX_INFLATION or total > 64 * max_bytes:
            raise InvalidInput("file", "XLSX 文件解压后过大（疑似压缩炸弹），已拒绝")
        for member in members:
            if not member.filename.endswith((".xml", ".rels", ".vml")):
                continue
            with archive.open(member) as stream:
                seen = 0
                tail = b""
                while chunk := stream.read(1 << 16):
                    seen += len(chunk)
                    if seen > member.file_size + 1 or seen > 64 * max_bytes:
                        raise InvalidInput("file", "XLSX 文件解压后过大，已拒绝")
                    if _DTD.search(tail + chunk):
                        raise InvalidInput(
                            "file", f"XLSX 部件 {member.filename} 含有 DTD 或实体声明（外部实体或实体膨胀），已拒绝"
                        )
                    tail = chunk[-16:]
