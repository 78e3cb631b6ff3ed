"""The BPMN side of the diagram validator: loading documents, schema checks, BPMN checks.

Loads each document (BPMN or DMN) safely, checks it against SpiffWorkflow's
XSDs, and checks each BPMN document on its own: Python snippets, timers,
processes, unsupported elements, reserved ids, gateways. References between
documents are checked by services.engine.validate.
"""

from __future__ import annotations

import ast
import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnValidator
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.dmn.parser.BpmnDmnParser import SCHEMAS as DMN_SCHEMAS
from SpiffWorkflow.spiff.parser.process import SPIFF_XSD, SpiffBpmnParser

from services.engine.sandbox import ExpressionError, Mode, check_source
from services.engine.validate_common import (
    BPMN_NS,
    SPIFF_NS,
    Problem,
    _check_expression,
    _Doc,
    _elements,
    _is,
    _local,
    _namespace,
    _owner_id,
    _problem,
    _snippet,
)

MAX_SCHEMA_ERRORS = 20

_NAMESPACE_PREFIXES = {
    BPMN_NS: "bpmn",
    SPIFF_NS: "spiffworkflow",
    "http://www.omg.org/spec/BPMN/20100524/DI": "bpmndi",
    **{ns: "dmn" for ns in DMN_SCHEMAS},
}
_FLOW_NODES = frozenset(
    {
        "task", "userTask", "manualTask", "scriptTask", "serviceTask", "sendTask", "receiveTask",
        "businessRuleTask", "callActivity", "subProcess", "transaction", "adHocSubProcess",
        "startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent",
        "boundaryEvent", "implicitThrowEvent", "exclusiveGateway", "inclusiveGateway",
        "parallelGateway", "eventBasedGateway", "complexGateway",
    }
)  # fmt: skip
_SUPPORTED_TAGS = frozenset(SpiffBpmnParser.PARSER_CLASSES).union(SpiffBpmnParser.OVERRIDE_PARSER_CLASSES)


def _shorten_namespaces(message: str) -> str:
    for namespace, prefix in _NAMESPACE_PREFIXES.items():
        message = message.replace("{" + namespace + "}", prefix + ":")
    return message


# --------------------------------------------------------------------------- loading and schemas


def _load(name: str, content: bytes | str) -> tuple[_Doc | None, list[Problem]]:
    """Parse one document with entity expansion and network access off."""
    data = content.encode("utf-8") if isinstance(content, str) else bytes(content)
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        return None, [Problem(name, None, exc.lineno or None, f"XML 格式错误：{exc.msg}")]
    except (ValueError, etree.LxmlError) as exc:
        return None, [Problem(name, None, None, f"XML 格式错误：{exc}")]
    if root is None:
        return None, [Problem(name, None, None, "XML 格式错误：没有根元素")]
    return _classify(name, root)


def _classify(name: str, root: Any) -> tuple[_Doc | None, list[Problem]]:
    namespace = _namespace(root) or ""
    if _local(root) == "definitions" and namespace == BPMN_NS:
        return _Doc(name, "bpmn", root), []
    if _local(root) == "definitions" and (namespace in DMN_SCHEMAS or "/DMN/" in namespace.upper()):
        return _Doc(name, "dmn", root), []
    message = f"根元素 {_shorten_namespaces(str(root.tag))} 既不是 BPMN 也不是 DMN 的 definitions"
    if name.lower().endswith((".bpmn", ".dmn")):
        message += f"（文件扩展名表明是 {name.rsplit('.', 1)[-1].upper()}）"
    return None, [Problem(name, None, root.sourceline, message)]


_thread_state = threading.local()


def _validator(doc: _Doc) -> BpmnValidator | None:
    """A per-thread schema validator: lxml keeps the error log on the schema object."""
    cache: dict[str, BpmnValidator | None] = _thread_state.__dict__.setdefault("validators", {})
    key = "bpmn" if doc.kind == "bpmn" else (_namespace(doc.root) or "")
    if key not in cache:
        try:
            if doc.kind == "bpmn":
                cache[key] = BpmnValidator(imports={"spiffworkflow": SPIFF_XSD})
            else:
                cache[key] = BpmnValidator(DMN_SCHEMAS[key]) if key in DMN_SCHEMAS else None
        except etree.LxmlError:
            cache[key] = None  # SpiffWorkflow 3.2.0 ships a DMN 1.2 schema that does not load
    return cache[key]


def _check_schema(doc: _Doc) -> list[Problem]:
    """Every XSD violation, where SpiffWorkflow's own validator stops at the last one."""
    validator = _validator(doc)
    if validator is None:
        namespace = _namespace(doc.root)
        reason = "流程引擎自带的该版本模式无法载入" if namespace in DMN_SCHEMAS else "未知的版本"
        message = f"DMN 命名空间 {namespace} 未经模式校验（{reason}）；请另存为 DMN 1.3"
        return [Problem(doc.name, None, doc.root.sourceline, message, "warning")]
    if doc.kind == "bpmn":
        validator.preprocess(doc.root)
    schema = validator.validator
    if schema.validate(doc.root):
        return []
    doc.usable = False
    entries = [(entry.line, entry.message) for entry in schema.error_log][:MAX_SCHEMA_ERRORS]
    owners = _line_owners(doc.root)
    return [
        Problem(doc.name, owners.get(line), line or None, f"不符合模式：{_shorten_namespaces(message)}")
        for line, message in entries
    ]


def _line_owners(root: Any) -> dict[int, str | None]:
    owners: dict[int, str | None] = {}
    for element in _elements(root):
        if element.sourceline and element.sourceline not in owners:
            owners[element.sourceline] = _owner_id(element, include_self=True)
    return owners


# --------------------------------------------------------------------------- BPMN checks

_RETRIEVAL = "correlationPropertyRetrievalExpression"
# (namespace, local name, parent local name or None) -> (mode, description)
_BPMN_SNIPPETS: dict[tuple[str, str, str | None], tuple[Mode, str]] = {
    (BPMN_NS, "conditionExpression", None): ("eval", "条件表达式"),
    (BPMN_NS, "script", "scriptTask"): ("exec", "脚本"),
    (BPMN_NS, "loopCardinality", None): ("eval", "循环次数表达式"),
    (BPMN_NS, "completionCondition", None): ("eval", "完成条件"),
    (BPMN_NS, "loopCondition", None): ("eval", "循环条件"),
    (BPMN_NS, "condition", "conditionalEventDefinition"): ("eval", "事件条件"),
    (BPMN_NS, "formalExpression", _RETRIEVAL): ("eval", "关联表达式"),
    (BPMN_NS, "messagePath", _RETRIEVAL): ("eval", "关联表达式"),
    (SPIFF_NS, "preScript", None): ("exec", "前置脚本 preScript"),
    (SPIFF_NS, "postScript", None): ("exec", "后置脚本 postScript"),
    (SPIFF_NS, "messagePayload", None): ("eval", "消息内容表达式"),
    (SPIFF_NS, "payloadExpression", None): ("eval", "消息内容表达式"),
    (SPIFF_NS, "expression", "processVariableCorrelation"): ("eval", "关联表达式"),
}
_TIMERS = ("timeDate", "timeDuration", "timeCycle")


def _snippet_kind(element: Any) -> tuple[Mode, str] | None:
    qname, parent = etree.QName(element), element.getparent()
    namespace, name = qname.namespace or "", qname.localname
    parent_name = _local(parent) if parent is not None else None
    return _BPMN_SNIPPETS.get((namespace, name, None)) or _BPMN_SNIPPETS.get((namespace, name, parent_name))


def _check_bpmn_snippets(doc: _Doc, functions: tuple[str, ...]) -> list[Problem]:
    """Every Python snippet in a BPMN document through the sandbox checker."""
    problems: list[Problem] = []
    for element in _elements(doc.root):
        found: Problem | None = None
        if _is(element, BPMN_NS, *_TIMERS):
            found = _check_timer(doc, element, functions)
        elif _is(element, SPIFF_NS, "parameter") and element.get("value") is not None:
            what = f"服务参数 {element.get('id', '')!r}"
            found = _check_expression(doc, element, element.get("value"), "eval", what, functions)
        else:
            kind = _snippet_kind(element)
            if kind is not None:
                found = _check_script_host(doc, element)
                found = found or _check_expression(doc, element, element.text, kind[0], kind[1], functions)
        if found is not None:
            problems.append(found)
    return problems


_SCRIPT_HOSTS = frozenset(
    {
        "task", "userTask", "manualTask", "serviceTask", "businessRuleTask", "subProcess",
        "transaction", "callActivity", "sendTask", "receiveTask",
    }
)  # fmt: skip


def _check_script_host(doc: _Doc, element: Any) -> Problem | None:
    """SpiffWorkflow runs pre/post scripts only on some elements and silently drops the rest."""
    if not _is(element, SPIFF_NS, "preScript", "postScript"):
        return None
    extension = element.getparent()
    host = extension.getparent() if extension is not None else None
    if host is None or _local(extension) != "extensionElements" or _local(host) in _SCRIPT_HOSTS:
        return None
    message = f"bpmn:{_local(host)} 上的 {_local(element)} 不会被流程引擎执行"
    if _local(host) == "scriptTask":
        message += "；请把代码写在脚本本身"
    return _problem(doc, element, message)


def _parse_duration(value: str) -> object:
    parsed = TimerEventDefinition.parse_iso_duration(value)
    if not parsed:
        raise ValueError("时长为空")
    return parsed


def _parse_date(value: str) -> object:
    parsed = TimerEventDefinition.parse_time_or_duration(value)
    if not isinstance(parsed, datetime):
        raise ValueError("a timeDate needs a date-time, not a duration (use timeDuration)")
    return parsed


_TIMER_PARSERS: dict[str, tuple[Callable[[str], object], str]] = {
    "timeDuration": (_parse_duration, 'ISO 8601 时长（如 "PT72H"）'),
    "timeDate": (_parse_date, 'ISO 8601 日期时间（如 "2025-01-31T17:00:00+08:00"）'),
    "timeCycle": (TimerEventDefinition.parse_iso_recurring_interval, "ISO 8601 重复间隔"),
}


def _timer_value_error(kind: str, value: str) -> str | None:
    """None when `value` parses the way SpiffWorkflow will parse it at run time."""
    parse, expected = _TIMER_PARSERS[kind]
    try:
        parse(value)
    except Exception as exc:
        detail = str(exc) if isinstance(exc, ValueError) and "timeDate" in str(exc) else ""
        return detail or f"不是 {expected}"
    return None


def _check_timer(doc: _Doc, element: Any, functions: tuple[str, ...]) -> Problem | None:
    kind = _local(element)
    text = element.text or ""
    raw = text.strip()
    if not raw:
        return _problem(doc, element, "计时器表达式为空")
    if raw[0] not in "\"'" and _timer_value_error(kind, raw) is None:
        if raw.isidentifier():
            message = f'计时器表达式 {raw} 是一个裸名称：ISO 8601 时长须加引号，如 "{raw}"'
        else:
            message = f'计时器表达式 {raw} 没有加引号：ISO 8601 值须加引号，如 "{raw}"'
        return _problem(doc, element, message)
    try:
        tree = check_source(text, mode="eval", extra_names=functions)
    except ExpressionError as exc:
        return _problem(doc, element, f"计时器表达式 {_snippet(raw)!r}：{exc.message}")
    return _check_timer_tree(doc, element, kind, raw, tree, functions)


def _check_timer_tree(
    doc: _Doc, element: Any, kind: str, raw: str, tree: ast.AST, functions: tuple[str, ...]
) -> Problem | None:
    body = tree.body if isinstance(tree, ast.Expression) else None
    if isinstance(body, ast.Constant):
        if not isinstance(body.value, str):
            return _problem(doc, element, f"计时器表达式 {raw} 须为带引号的 ISO 8601 字符串")
        error = _timer_value_error(kind, body.value)
        if error is not None:
            return _problem(doc, element, f"计时器表达式 {raw}：{error}")
    elif isinstance(body, ast.Call):
        name = body.func.id if isinstance(body.func, ast.Name) else "?"
        if name not in functions:
            allowed = "、".join(functions) or "（无）"
            message = f"计时器表达式调用了 {name!r}：只有 {allowed} 可以计算计时器"
            return _problem(doc, element, message)
    return None


def _check_processes(doc: _Doc) -> list[Problem]:
    """At least one executable process; warn about non-executable ones with content."""
    processes = [child for child in doc.root if _is(child, BPMN_NS, "process")]
    if not processes:
        return [Problem(doc.name, None, doc.root.sourceline, "文档中没有定义流程")]
    executable = [p for p in processes if p.get("isExecutable", "true") == "true"]
    if not executable:
        ids = "、".join(str(p.get("id")) for p in processes)
        message = f'没有可执行的流程：请在 {ids} 上设置 isExecutable="true"'
        return [Problem(doc.name, str(processes[0].get("id")), processes[0].sourceline, message)]
    return [
        _problem(doc, p, "流程不可执行，将被忽略", severity="warning", own=True)
        for p in processes
        if p not in executable and any(_local(child) in _FLOW_NODES for child in p)
    ]


def _check_unsupported(doc: _Doc) -> list[Problem]:
    """Flow nodes SpiffWorkflow has no parser for, reachable or not."""
    return [
        _problem(doc, el, f"不支持的元素 bpmn:{_local(el)}：流程引擎无法执行", own=True)
        for el in _elements(doc.root)
        if _is(el, BPMN_NS, *_FLOW_NODES) and el.tag not in _SUPPORTED_TAGS
    ]


_RESERVED_IDS = frozenset({"Start", "End", "Root", "StartEventSplit", "StartEventJoin"})
_RESERVED_SUFFIXES = (".EndJoin", ".BoundaryEventSplit", ".BoundaryEventJoin", " [child]")


def _check_reserved_ids(doc: _Doc) -> list[Problem]:
    """Ids SpiffWorkflow uses for its own task specs: a flow node with one is silently lost."""
    message = "编号 {!r} 与流程引擎自行创建的任务重名，请改名"
    return [
        _problem(doc, el, message.format(el.get("id")), own=True)
        for el in _elements(doc.root)
        if _is(el, BPMN_NS, *_FLOW_NODES)
        and (el.get("id") in _RESERVED_IDS or str(el.get("id", "")).endswith(_RESERVED_SUFFIXES))
    ]


def _literal_test(text: str | None) -> tuple[str, set[Any]] | None:
    """`x == "a"`, `x in ("a", "b")` and `or` of these: (variable, literals), else None."""
    try:
        node = ast.parse((text or "").strip(), mode="eval").body
    except (SyntaxError, ValueError):
        return None
    parts = node.values if isinstance(node, ast.BoolOp) and isinstance(node.op, ast.Or) else [node]
    variable: str | None = None
    values: set[Any] = set()
    for part in parts:
        found = _single_literal_test(part)
        if found is None or (variable is not None and found[0] != variable):
            return None
        variable = found[0]
        values |= found[1]
    return (variable, values) if variable is not None else None


def _single_literal_test(node: ast.expr) -> tuple[str, set[Any]] | None:
    if not (isinstance(node, ast.Compare) and len(node.ops) == 1):
        return None
    left, right, op = node.left, node.comparators[0], node.ops[0]
    if isinstance(op, ast.Eq):
        if isinstance(right, ast.Name):
            left, right = right, left
        if isinstance(left, ast.Name) and isinstance(right, ast.Constant):
            return left.id, {right.value}
    if isinstance(op, ast.In) and isinstance(left, ast.Name) and isinstance(right, ast.Tuple | ast.List | ast.Set):
        constants = [item for item in right.elts if isinstance(item, ast.Constant)]
        if len(constants) == len(right.elts):
            return left.id, {item.value for item in constants}
    return None


def _check_gateways(doc: _Doc) -> list[Problem]:
    """Warn when a gateway without default flow tests one variable against literals only."""
    flows: dict[str, list[Any]] = {}
    for flow in _elements(doc.root):
        if _is(flow, BPMN_NS, "sequenceFlow") and flow.get("sourceRef"):
            flows.setdefault(str(flow.get("sourceRef")), []).append(flow)
    problems: list[Problem] = []
    for gateway in _elements(doc.root):
        if not _is(gateway, BPMN_NS, "exclusiveGateway", "inclusiveGateway") or gateway.get("default"):
            continue
        outgoing = flows.get(str(gateway.get("id")), [])
        tests = [_literal_test(_condition_text(flow)) for flow in outgoing]
        if not tests or any(test is None for test in tests):
            continue
        variables = {test[0] for test in tests if test is not None}
        values = set().union(*(test[1] for test in tests if test is not None))
        if len(variables) != 1 or {True, False} <= values:
            continue
        shown = "、".join(sorted(repr(v) for v in values))
        message = (
            f"网关没有默认流向，其条件只覆盖 {variables.pop()} 取 {shown} 的情形："
            "其他取值会使流程出错停止；请添加默认流向"
        )
        problems.append(_problem(doc, gateway, message, severity="warning", own=True))
    return problems


def _condition_text(flow: Any) -> str | None:
    for child in flow:
        if _is(child, BPMN_NS, "conditionExpression"):
            return str(child.text) if child.text else None
    return None
