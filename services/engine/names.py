"""The Chinese names a diagram gives its processes, read from the stored BPMN (no engine parse)."""

from __future__ import annotations

import html
import re

_PROCESS = re.compile(rb"<(?:[\w-]+:)?process\b([^>]*)>")
_ATTR = re.compile(rb'\b(id|name)="([^"]*)"')


def process_names(bpmn_xml: bytes) -> dict[str, str]:
    """{process id: its `name` attribute} for every process in the document that has a name."""
    names: dict[str, str] = {}
    for match in _PROCESS.finditer(bpmn_xml[:4_000_000]):
        attrs = {k.decode(): html.unescape(v.decode("utf-8", "replace")) for k, v in _ATTR.findall(match.group(1))}
        if attrs.get("id") and attrs.get("name"):
            names[attrs["id"]] = attrs["name"]
    return names


def process_name(bpmn_xml: bytes, process_id: str) -> str:
    """The process's name, or 未命名流程 when the diagram gives it none."""
    return process_names(bpmn_xml).get(process_id) or "未命名流程"
