"""What the diagram validator's parts share: Problem, the loaded document, element helpers.

Imported by engine_validate_xml and engine_validate_dmn; the public API is
services.engine.validate, which re-exports Problem.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Literal

from lxml import etree

from services.engine.sandbox import ExpressionError, Mode, check_source

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Problem:
    """One finding about a diagram; `severity` is "error" unless said otherwise."""

    file: str
    element_id: str | None
    line: int | None
    message: str
    severity: Severity = "error"

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        element = f" [{self.element_id}]" if self.element_id else ""
        prefix = "warning: " if self.severity == "warning" else ""
        return f"{where}{element} {prefix}{self.message}"


@dataclass
class _Doc:
    name: str
    kind: Literal["bpmn", "dmn"]
    root: Any  # lxml.etree._Element
    usable: bool = True


def _local(element: Any) -> str:
    return str(etree.QName(element).localname)


def _namespace(element: Any) -> str | None:
    namespace = etree.QName(element).namespace
    return str(namespace) if namespace is not None else None


def _is(element: Any, namespace: str, *names: str) -> bool:
    qname = etree.QName(element)
    return qname.namespace == namespace and qname.localname in names


def _elements(root: Any) -> Iterator[Any]:
    return iter(root.iter(tag=etree.Element))


def _owner_id(element: Any, *, include_self: bool = False) -> str | None:
    """The id of the nearest meaningful element: skips event definitions and loop markers."""
    candidates = itertools.chain([element] if include_self else [], element.iterancestors())
    for candidate in candidates:
        name = _local(candidate)
        if name.endswith(("EventDefinition", "LoopCharacteristics")):
            continue
        if candidate.get("id"):
            return str(candidate.get("id"))
    return None


def _problem(
    doc: _Doc,
    element: Any,
    message: str,
    *,
    severity: Severity = "error",
    line_offset: int = 0,
    own: bool = False,
) -> Problem:
    line = element.sourceline + line_offset if element.sourceline else None
    element_id = element.get("id") if own and element.get("id") else _owner_id(element, include_self=own)
    return Problem(doc.name, element_id, line, message, severity)


def _snippet(text: str, limit: int = 60) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def _check_expression(
    doc: _Doc,
    element: Any,
    text: str | None,
    mode: Mode,
    what: str,
    functions: Iterable[str],
    *,
    own: bool = False,
) -> Problem | None:
    """Run one snippet through the sandbox's checker; a problem when it is refused."""
    if text is None or not text.strip():
        if mode == "exec":
            return None
        return _problem(doc, element, f"{what} is empty", own=own)
    try:
        check_source(text, mode=mode, extra_names=functions)
    except ExpressionError as exc:
        offset = (exc.line - 1) if exc.line else 0
        shown = f" {_snippet(text)!r}" if mode == "eval" else ""
        return _problem(doc, element, f"{what}{shown}: {exc.message}", line_offset=offset, own=own)
    return None
