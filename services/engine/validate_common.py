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


#: what each kind of diagram element is called, for an element that has no name of its own
ELEMENT_KINDS = {
    "definitions": "文档", "process": "流程", "task": "任务", "userTask": "用户任务", "manualTask": "人工任务",
    "scriptTask": "脚本任务", "serviceTask": "服务任务", "sendTask": "发送任务", "receiveTask": "接收任务",
    "businessRuleTask": "业务规则任务", "callActivity": "调用活动", "subProcess": "子流程", "transaction": "事务子流程",
    "adHocSubProcess": "自由子流程", "startEvent": "开始事件", "endEvent": "结束事件",
    "intermediateCatchEvent": "中间捕获事件", "intermediateThrowEvent": "中间抛出事件", "boundaryEvent": "边界事件",
    "implicitThrowEvent": "隐式抛出事件", "exclusiveGateway": "排他网关", "inclusiveGateway": "包容网关",
    "parallelGateway": "并行网关", "eventBasedGateway": "事件网关", "complexGateway": "复杂网关",
    "sequenceFlow": "顺序流", "decision": "决策", "decisionTable": "决策表", "rule": "规则", "input": "输入列",
    "output": "输出列", "inputEntry": "规则的输入条目", "outputEntry": "规则的输出条目", "lane": "泳道",
    "laneSet": "泳道集", "message": "消息", "dataObject": "数据对象",
}


@dataclass(frozen=True)
class Problem:
    """One finding about a diagram; `severity` is "error" unless said otherwise. `message` is plain
    Chinese; `element_name` is the element's own name in the diagram (or what kind of element it is),
    which the pages show with the id in a <code> beside it."""

    file: str
    element_id: str | None
    line: int | None
    message: str
    severity: Severity = "error"
    element_name: str | None = None

    def __str__(self) -> str:
        where = f"{self.file} 第 {self.line} 行" if self.line else self.file
        element = f" {self.element_name or '元素'} {self.element_id}" if self.element_id else ""
        prefix = "警告：" if self.severity == "warning" else ""
        return f"{where}{element}：{prefix}{self.message}"


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
        return _problem(doc, element, f"{what}为空", own=own)
    try:
        check_source(text, mode=mode, extra_names=functions)
    except ExpressionError as exc:
        offset = (exc.line - 1) if exc.line else 0
        shown = f" {_snippet(text)!r}" if mode == "eval" else ""
        return _problem(doc, element, f"{what}{shown}：{exc.message}", line_offset=offset, own=own)
    return None
