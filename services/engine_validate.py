"""Static validation of uploaded BPMN and DMN diagrams.

Used by `smeflow bpmn validate FILE...` and by the admin upload. It reports,
without running anything:

* malformed XML, XSD violations (every one, with its line), elements
  SpiffWorkflow cannot run, processes that are not executable;
* every Python snippet a diagram carries (conditions, scripts, pre/post
  scripts, timers, multi-instance and loop expressions, message payloads,
  DMN cells) that is not valid Python or not admitted by the sandbox;
* timer expressions that are unquoted ISO 8601 values or do not parse;
* business rule tasks and call activities naming something not supplied;
* DMN decision tables with inputs that match no rule, and UNIQUE tables with
  two rules matching the same input;
* (warning) gateways without a default flow whose conditions test one
  variable against a few literals.

Then it parses everything with SpiffWorkflow's own parser and reports what
that rejects. `validate_documents` never raises.
"""

from __future__ import annotations

import ast
import itertools
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from fractions import Fraction
from functools import partial
from pathlib import Path
from typing import Any, Literal, cast

from lxml import etree
from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnValidator
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.dmn.parser.BpmnDmnParser import SCHEMAS as DMN_SCHEMAS
from SpiffWorkflow.spiff.parser.process import SPIFF_XSD, SpiffBpmnParser

from services.engine_sandbox import ExpressionError, Mode, check_source

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
DEFAULT_FUNCTIONS: tuple[str, ...] = ("stage_deadline",)
MAX_SCHEMA_ERRORS = 20
MAX_DMN_COMBINATIONS = 20_000

Severity = Literal["error", "warning"]
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
# What SpiffWorkflow's DMNEngine does to find a '?' outside quotes.
_DMN_QUESTION_MARK = re.compile(r"(\?)(?=(?:[^'\"]|['\"][^'\"]*['\"])*$)")
_DMN_INPUT = "dmninputexpr"


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


class DiagramInvalid(ValueError):
    """Raised by parse_documents; `problems` lists every error found."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        shown = "\n".join(str(problem) for problem in self.problems[:10])
        more = f"\n... and {len(self.problems) - 10} more" if len(self.problems) > 10 else ""
        super().__init__(f"diagram invalid ({len(self.problems)} problem(s)):\n{shown}{more}")


@dataclass
class _Doc:
    name: str
    kind: Literal["bpmn", "dmn"]
    root: Any  # lxml.etree._Element
    usable: bool = True


@dataclass
class _Analysis:
    problems: list[Problem] = field(default_factory=list)
    parser: Any = None
    docs: list[_Doc] = field(default_factory=list)


# --------------------------------------------------------------------------- helpers


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


def _shorten_namespaces(message: str) -> str:
    for namespace, prefix in _NAMESPACE_PREFIXES.items():
        message = message.replace("{" + namespace + "}", prefix + ":")
    return message


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


# --------------------------------------------------------------------------- loading and schemas


def _load(name: str, content: bytes | str) -> tuple[_Doc | None, list[Problem]]:
    """Parse one document with entity expansion and network access off."""
    data = content.encode("utf-8") if isinstance(content, str) else bytes(content)
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        return None, [Problem(name, None, exc.lineno or None, f"malformed XML: {exc.msg}")]
    except (ValueError, etree.LxmlError) as exc:
        return None, [Problem(name, None, None, f"malformed XML: {exc}")]
    if root is None:
        return None, [Problem(name, None, None, "malformed XML: no root element")]
    return _classify(name, root)


def _classify(name: str, root: Any) -> tuple[_Doc | None, list[Problem]]:
    namespace = _namespace(root) or ""
    if _local(root) == "definitions" and namespace == BPMN_NS:
        return _Doc(name, "bpmn", root), []
    if _local(root) == "definitions" and (namespace in DMN_SCHEMAS or "/DMN/" in namespace.upper()):
        return _Doc(name, "dmn", root), []
    message = f"root element {_shorten_namespaces(str(root.tag))} is neither BPMN nor DMN definitions"
    if name.lower().endswith((".bpmn", ".dmn")):
        message += f" (the file name says {name.rsplit('.', 1)[-1].upper()})"
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
        reason = "SpiffWorkflow's copy of its schema does not load" if namespace in DMN_SCHEMAS else "unknown"
        message = f"DMN namespace {namespace} is not checked against a schema ({reason}); save as DMN 1.3"
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
        Problem(doc.name, owners.get(line), line or None, f"schema: {_shorten_namespaces(message)}")
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
    (BPMN_NS, "conditionExpression", None): ("eval", "condition"),
    (BPMN_NS, "script", "scriptTask"): ("exec", "script"),
    (BPMN_NS, "loopCardinality", None): ("eval", "loop cardinality"),
    (BPMN_NS, "completionCondition", None): ("eval", "completion condition"),
    (BPMN_NS, "loopCondition", None): ("eval", "loop condition"),
    (BPMN_NS, "condition", "conditionalEventDefinition"): ("eval", "event condition"),
    (BPMN_NS, "formalExpression", _RETRIEVAL): ("eval", "correlation expression"),
    (BPMN_NS, "messagePath", _RETRIEVAL): ("eval", "correlation expression"),
    (SPIFF_NS, "preScript", None): ("exec", "preScript"),
    (SPIFF_NS, "postScript", None): ("exec", "postScript"),
    (SPIFF_NS, "messagePayload", None): ("eval", "message payload"),
    (SPIFF_NS, "payloadExpression", None): ("eval", "payload expression"),
    (SPIFF_NS, "expression", "processVariableCorrelation"): ("eval", "correlation expression"),
}
_TIMERS = ("timeDate", "timeDuration", "timeCycle")


def _snippet_kind(element: Any) -> tuple[Mode, str] | None:
    qname = etree.QName(element)
    namespace, name = qname.namespace or "", qname.localname
    found = _BPMN_SNIPPETS.get((namespace, name, None))
    if found is not None:
        return found
    parent = element.getparent()
    return _BPMN_SNIPPETS.get((namespace, name, _local(parent) if parent is not None else None))


def _check_bpmn_snippets(doc: _Doc, functions: tuple[str, ...]) -> list[Problem]:
    """Every Python snippet in a BPMN document through the sandbox checker."""
    problems: list[Problem] = []
    for element in _elements(doc.root):
        found: Problem | None = None
        if _is(element, BPMN_NS, *_TIMERS):
            found = _check_timer(doc, element, functions)
        elif _is(element, SPIFF_NS, "parameter") and element.get("value") is not None:
            what = f"service parameter {element.get('id', '')!r}"
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
    message = f"{_local(element)} on bpmn:{_local(host)} is never run by SpiffWorkflow"
    if _local(host) == "scriptTask":
        message += "; put the code in the script itself"
    return _problem(doc, element, message)


def _parse_duration(value: str) -> object:
    parsed = TimerEventDefinition.parse_iso_duration(value)
    if not parsed:
        raise ValueError("empty duration")
    return parsed


def _parse_date(value: str) -> object:
    parsed = TimerEventDefinition.parse_time_or_duration(value)
    if not isinstance(parsed, datetime):
        raise ValueError("a timeDate needs a date-time, not a duration (use timeDuration)")
    return parsed


_TIMER_PARSERS: dict[str, tuple[Callable[[str], object], str]] = {
    "timeDuration": (_parse_duration, 'an ISO 8601 duration such as "PT72H"'),
    "timeDate": (_parse_date, 'an ISO 8601 date-time such as "2025-01-31T17:00:00+08:00"'),
    "timeCycle": (TimerEventDefinition.parse_iso_recurring_interval, "an ISO 8601 repeating interval"),
}


def _timer_value_error(kind: str, value: str) -> str | None:
    """None when `value` parses the way SpiffWorkflow will parse it at run time."""
    parse, expected = _TIMER_PARSERS[kind]
    try:
        parse(value)
    except Exception as exc:
        detail = str(exc) if isinstance(exc, ValueError) and "timeDate" in str(exc) else ""
        return detail or f"is not {expected}"
    return None


def _check_timer(doc: _Doc, element: Any, functions: tuple[str, ...]) -> Problem | None:
    kind = _local(element)
    text = element.text or ""
    raw = text.strip()
    if not raw:
        return _problem(doc, element, "timer expression is empty")
    if raw[0] not in "\"'" and _timer_value_error(kind, raw) is None:
        if raw.isidentifier():
            message = f'timer expression {raw} is a bare name: quote ISO 8601 durations, e.g. "{raw}"'
        else:
            message = f'timer expression {raw} is not quoted: quote ISO 8601 values, e.g. "{raw}"'
        return _problem(doc, element, message)
    try:
        tree = check_source(text, mode="eval", extra_names=functions)
    except ExpressionError as exc:
        return _problem(doc, element, f"timer expression {_snippet(raw)!r}: {exc.message}")
    return _check_timer_tree(doc, element, kind, raw, tree, functions)


def _check_timer_tree(
    doc: _Doc, element: Any, kind: str, raw: str, tree: ast.AST, functions: tuple[str, ...]
) -> Problem | None:
    body = tree.body if isinstance(tree, ast.Expression) else None
    if isinstance(body, ast.Constant):
        if not isinstance(body.value, str):
            return _problem(doc, element, f"timer expression {raw} must be a quoted ISO 8601 string")
        error = _timer_value_error(kind, body.value)
        if error is not None:
            return _problem(doc, element, f"timer expression {raw}: {error}")
    elif isinstance(body, ast.Call):
        name = body.func.id if isinstance(body.func, ast.Name) else "?"
        if name not in functions:
            allowed = ", ".join(functions) or "no function"
            message = f"timer expression calls {name!r}: only {allowed} may compute a timer"
            return _problem(doc, element, message)
    return None


def _check_processes(doc: _Doc) -> list[Problem]:
    """At least one executable process; warn about non-executable ones with content."""
    processes = [child for child in doc.root if _is(child, BPMN_NS, "process")]
    if not processes:
        return [Problem(doc.name, None, doc.root.sourceline, "the document defines no process")]
    executable = [p for p in processes if p.get("isExecutable", "true") == "true"]
    if not executable:
        ids = ", ".join(str(p.get("id")) for p in processes)
        message = f'no executable process: set isExecutable="true" on {ids}'
        return [Problem(doc.name, str(processes[0].get("id")), processes[0].sourceline, message)]
    return [
        _problem(doc, p, "process is not executable and will be ignored", severity="warning", own=True)
        for p in processes
        if p not in executable and any(_local(child) in _FLOW_NODES for child in p)
    ]


def _check_unsupported(doc: _Doc) -> list[Problem]:
    """Flow nodes SpiffWorkflow has no parser for, reachable or not."""
    return [
        _problem(doc, el, f"unsupported element bpmn:{_local(el)}: SpiffWorkflow cannot run it", own=True)
        for el in _elements(doc.root)
        if _is(el, BPMN_NS, *_FLOW_NODES) and el.tag not in _SUPPORTED_TAGS
    ]


_RESERVED_IDS = frozenset({"Start", "End", "Root", "StartEventSplit", "StartEventJoin"})
_RESERVED_SUFFIXES = (".EndJoin", ".BoundaryEventSplit", ".BoundaryEventJoin", " [child]")


def _check_reserved_ids(doc: _Doc) -> list[Problem]:
    """Ids SpiffWorkflow uses for its own task specs: a flow node with one is silently lost."""
    return [
        _problem(
            doc,
            el,
            f"id {el.get('id')!r} clashes with a task SpiffWorkflow creates itself; rename it",
            own=True,
        )
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
    is_membership = isinstance(op, ast.In) and isinstance(right, ast.Tuple | ast.List | ast.Set)
    if is_membership and isinstance(left, ast.Name) and isinstance(right, ast.Tuple | ast.List | ast.Set):
        items = right.elts
        if all(isinstance(item, ast.Constant) for item in items):
            return left.id, {item.value for item in items if isinstance(item, ast.Constant)}
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
        shown = ", ".join(sorted(repr(v) for v in values))
        message = (
            f"gateway has no default flow and its conditions only cover {variables.pop()} in {shown}: "
            "any other value stops the workflow with an error; add a default flow"
        )
        problems.append(_problem(doc, gateway, message, severity="warning", own=True))
    return problems


def _condition_text(flow: Any) -> str | None:
    for child in flow:
        if _is(child, BPMN_NS, "conditionExpression"):
            return str(child.text) if child.text else None
    return None


def _executable_process_ids(docs: Sequence[_Doc]) -> set[str]:
    return {
        str(p.get("id"))
        for doc in docs
        if doc.kind == "bpmn"
        for p in doc.root
        if _is(p, BPMN_NS, "process") and p.get("isExecutable", "true") == "true"
    }


def _check_call_activities(docs: Sequence[_Doc]) -> list[Problem]:
    processes = _executable_process_ids(docs)
    problems: list[Problem] = []
    for doc in docs:
        if doc.kind != "bpmn":
            continue
        for activity in _elements(doc.root):
            if not _is(activity, BPMN_NS, "callActivity"):
                continue
            called = activity.get("calledElement")
            if not called:
                problems.append(_problem(doc, activity, "call activity names no calledElement", own=True))
            elif called not in processes:
                message = f"call activity calls process {called!r}, which no supplied diagram defines"
                problems.append(_problem(doc, activity, message, own=True))
    return problems


def _check_business_rules(docs: Sequence[_Doc], decisions: Mapping[str, str]) -> list[Problem]:
    """Every business rule task names a decision that a supplied DMN file defines."""
    problems: list[Problem] = []
    for doc in docs:
        if doc.kind != "bpmn":
            continue
        for task in _elements(doc.root):
            if not _is(task, BPMN_NS, "businessRuleTask"):
                continue
            refs = [el.text for el in _elements(task) if _is(el, SPIFF_NS, "calledDecisionId")]
            ref = (refs[0] or "").strip() if refs else ""
            if not ref:
                message = "business rule task names no decision (spiffworkflow:calledDecisionId)"
            elif ref not in decisions:
                known = ", ".join(sorted(decisions)) or "none"
                message = f"business rule task calls decision {ref!r}, which no supplied DMN defines"
                message += f" (known: {known})"
            else:
                continue
            problems.append(_problem(doc, task, message, own=True))
    return problems


# --------------------------------------------------------------------------- DMN checks


def _child(element: Any, name: str) -> Any | None:
    for child in element:
        if isinstance(child.tag, str) and _local(child) == name:
            return child
    return None


def _children(element: Any, name: str) -> list[Any]:
    return [child for child in element if isinstance(child.tag, str) and _local(child) == name]


def _text_of(element: Any) -> str | None:
    text = _child(element, "text")
    return None if text is None else text.text


def dmn_entry_expression(input_expression: str, entry: str) -> str:
    """The Python SpiffWorkflow's DMNEngine evaluates for an input entry.

    `?` outside quotes stands for the input; an entry that parses alone is
    compared with `==`; otherwise (`> 5`, `in (...)`) it is appended to the
    input expression as is.
    """
    replaced = _DMN_QUESTION_MARK.sub(_DMN_INPUT, entry)
    if _DMN_INPUT in replaced:
        return replaced
    try:
        ast.parse(replaced)
        return f"({input_expression}) == ({replaced})"
    except (SyntaxError, ValueError):
        return input_expression + replaced


@dataclass
class _Column:
    element: Any
    label: str
    expression: str
    type_ref: str


@dataclass
class _Rule:
    element: Any
    number: int
    entries: list[str | None]  # None means "any value"


def _check_dmn(doc: _Doc, functions: tuple[str, ...]) -> tuple[list[Problem], str | None]:
    """Problems in one DMN document and the id SpiffWorkflow registers it under."""
    decisions = _children(doc.root, "decision")
    if not decisions:
        doc.usable = False  # SpiffWorkflow's DMN parser fails with an IndexError
        return [Problem(doc.name, None, doc.root.sourceline, "the DMN document defines no decision")], None
    problems: list[Problem] = []
    if len(decisions) > 1:
        ids = ", ".join(str(d.get("id")) for d in decisions)
        message = f"SpiffWorkflow reads one decision per DMN file; this one has {ids}"
        problems.append(_problem(doc, decisions[1], message, own=True))
    for decision in decisions:
        tables = _children(decision, "decisionTable")
        if not tables:
            doc.usable = False  # SpiffWorkflow would fail with an IndexError when a task calls it
            message = "decision has no decision table (only decision tables are supported)"
            problems.append(_problem(doc, decision, message, own=True))
        elif len(tables) > 1:
            problems.append(_problem(doc, tables[1], "only the first decision table is used", own=True))
        if tables:
            problems += _check_table(doc, decision, tables[0], functions)
    first_id = decisions[0].get("id")
    return problems, str(first_id) if first_id else None


def _check_table(doc: _Doc, decision: Any, table: Any, functions: tuple[str, ...]) -> list[Problem]:
    problems = _check_hit_policy(doc, table)
    columns: list[_Column] = []
    for index, element in enumerate(_children(table, "input"), start=1):
        expression_element = _child(element, "inputExpression")
        expression = _text_of(expression_element) if expression_element is not None else None
        label = element.get("label") or element.get("name") or (expression or "").strip() or f"input {index}"
        if not expression or not expression.strip():
            problems.append(_problem(doc, element, f"input {label!r} has no expression", own=True))
            expression = "None"
        else:
            checked = _check_expression(doc, expression_element, expression, "eval", "input", functions, own=True)
            problems += [checked] if checked else []
        type_ref = expression_element.get("typeRef", "") if expression_element is not None else ""
        columns.append(_Column(element, label, expression.strip(), type_ref))
    outputs = _children(table, "output")
    rules: list[_Rule] = []
    for number, element in enumerate(_children(table, "rule"), start=1):
        rule, rule_problems = _read_rule(doc, element, number, columns, len(outputs), functions)
        problems += rule_problems
        rules.append(rule)
    if not rules:
        return [*problems, _problem(doc, table, "decision table has no rules", own=True)]
    return problems + _analyse_table(doc, decision, table, columns, rules)


def _check_hit_policy(doc: _Doc, table: Any) -> list[Problem]:
    policy = (table.get("hitPolicy") or "UNIQUE").upper()
    if policy not in ("UNIQUE", "FIRST", "COLLECT"):
        message = f"hit policy {policy} is run as FIRST by SpiffWorkflow (first matching rule wins)"
        return [_problem(doc, table, message, severity="warning", own=True)]
    if policy == "COLLECT" and table.get("aggregation"):
        message = f"aggregation {table.get('aggregation')} is ignored: SpiffWorkflow returns the list"
        return [_problem(doc, table, message, severity="warning", own=True)]
    return []


def _read_rule(
    doc: _Doc, element: Any, number: int, columns: list[_Column], outputs: int, functions: tuple[str, ...]
) -> tuple[_Rule, list[Problem]]:
    problems: list[Problem] = []
    inputs = _children(element, "inputEntry")
    results = _children(element, "outputEntry")
    if len(inputs) != len(columns) or len(results) != outputs:
        message = (
            f"rule {number} has {len(inputs)} input and {len(results)} output entries "
            f"for {len(columns)} inputs and {outputs} outputs"
        )
        problems.append(_problem(doc, element, message, own=True))
    entries: list[str | None] = []
    for entry, column in zip(inputs, columns, strict=False):
        text = _text_of(entry)
        entries.append(None if text is None or text == "-" else text)
        problems += _check_input_entry(doc, entry, text, column, number, functions)
    entries += [None] * (len(columns) - len(entries))
    for entry in results:
        text = _text_of(entry)
        if text:
            found = _check_expression(doc, entry, text, "eval", f"rule {number} output entry", functions, own=True)
            problems += [found] if found else []
    return _Rule(element, number, entries), problems


def _check_input_entry(
    doc: _Doc, entry: Any, text: str | None, column: _Column, number: int, functions: tuple[str, ...]
) -> list[Problem]:
    if text is None or text == "-":
        return []
    if not text.strip():
        message = f"rule {number}: blank input entry matches nothing; use '-' for any value"
        return [_problem(doc, entry, message, own=True)]
    expression = dmn_entry_expression(column.expression, text)
    shown = f"{_snippet(text)!r} (evaluated as {_snippet(expression)!r})"
    if _glued(column.expression, text, expression):
        message = (
            f"rule {number} input entry {shown}: SpiffWorkflow appends the entry to the input "
            f"expression without a space; write '? {text.strip()}'"
        )
        return [_problem(doc, entry, message, own=True)]
    try:
        check_source(expression, mode="eval", extra_names=(*functions, _DMN_INPUT))
    except ExpressionError as exc:
        return [_problem(doc, entry, f"rule {number} input entry {shown}: {exc.message}", own=True)]
    return []


def _glued(input_expression: str, entry: str, expression: str) -> bool:
    """True when `in (...)`, `not in ...`, `is ...` got glued onto the input name."""
    appended = expression == input_expression + entry
    return appended and bool(re.match(r"\w", entry)) and bool(re.search(r"\w$", input_expression))


class _Other:
    """Stands for any value not named in a column."""

    def __repr__(self) -> str:
        return "<other>"


_OTHER = _Other()


@dataclass
class _Axis:
    """The values worth trying for one input column, and which rules each matches."""

    column: _Column
    values: list[tuple[Any, str]]
    masks: list[int]


def _entry_code(text: str) -> tuple[Any, list[Any]] | None:
    """Compiled code and constants of an entry that only compares the input with literals."""
    expression = dmn_entry_expression(_DMN_INPUT, text)
    try:
        tree = check_source(expression, mode="eval", extra_names=())
    except ExpressionError:
        return None
    constants: list[Any] = []
    negated: set[int] = set()
    for node in ast.walk(tree):  # breadth first: a minus sign comes before its number
        if isinstance(node, ast.Name) and node.id != _DMN_INPUT:
            return None
        if isinstance(node, ast.Call | ast.BinOp | ast.Subscript | ast.IfExp | ast.Dict):
            return None
        if _is_negative_number(node):
            operand = cast(ast.UnaryOp, node).operand
            negated.add(id(operand))
            constants.append(-cast(float, cast(ast.Constant, operand).value))
        elif isinstance(node, ast.Constant) and id(node) not in negated:
            constants.append(node.value)
    return compile(cast(ast.Expression, tree), "<dmn>", "eval"), constants


def _is_negative_number(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.UnaryOp)
        and isinstance(node.op, ast.USub)
        and isinstance(node.operand, ast.Constant)
        and _is_number(node.operand.value)
    )


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _candidate_values(constants: list[Any], type_ref: str) -> list[tuple[Any, str]]:
    """Representative inputs: each literal, and each gap between numbers or 'anything else'."""
    if type_ref.lower() == "boolean":
        return [(True, "True"), (False, "False")]
    unique: dict[tuple[str, Any], Any] = {}
    for value in constants:
        if isinstance(value, str | int | float | bool) or value is None:
            unique.setdefault((type(value).__name__, value), value)
    numbers = sorted({Fraction(v) for v in unique.values() if _is_number(v)})
    others = [(v, f"= {v!r}") for v in unique.values() if not _is_number(v)]
    if not numbers:
        named = ", ".join(repr(v) for v, _ in others[:6]) + (", ..." if len(others) > 6 else "")
        return [*others, (_OTHER, f"not in {named}" if others else "= any value")]
    values: list[tuple[Any, str]] = [(numbers[0] - 1, f"< {_number(numbers[0])}")]
    for low, high in itertools.pairwise(numbers):
        values += [
            (low, f"= {_number(low)}"),
            ((low + high) / 2, f"between {_number(low)} and {_number(high)}"),
        ]
    values += [(numbers[-1], f"= {_number(numbers[-1])}"), (numbers[-1] + 1, f"> {_number(numbers[-1])}")]
    return values + others


def _number(value: Fraction) -> str:
    return str(value.numerator) if value.denominator == 1 else str(float(value))


def _build_axis(column: _Column, index: int, rules: list[_Rule]) -> _Axis | None:
    """Which rules match each representative value of one column, or None if undecidable."""
    codes: dict[int, Any] = {}
    constants: list[Any] = []
    for rule in rules:
        text = rule.entries[index]
        if text is None:
            continue
        compiled = _entry_code(text)
        if compiled is None:
            return None
        codes[rule.number] = compiled[0]
        constants += compiled[1]
    if not codes:
        return None
    values = _candidate_values(constants, column.type_ref)
    masks: list[int] = []
    for value, _ in values:
        mask = 0
        for bit, rule in enumerate(rules):
            code = codes.get(rule.number)
            try:
                hit = code is None or bool(eval(code, {"__builtins__": {}}, {_DMN_INPUT: value}))
            except Exception:
                return None  # e.g. "<other>" > 5: not a column we can reason about
            mask |= (1 << bit) if hit else 0
        masks.append(mask)
    return _Axis(column, values, masks)


def _analyse_table(doc: _Doc, decision: Any, table: Any, columns: list[_Column], rules: list[_Rule]) -> list[Problem]:
    """Inputs that match no rule; in UNIQUE tables, inputs that match two."""
    axes: list[_Axis] = []
    undecided: set[int] = set()
    for index, column in enumerate(columns):
        axis = _build_axis(column, index, rules)
        if axis is not None:
            axes.append(axis)
        elif any(rule.entries[index] is not None for rule in rules):
            undecided |= {bit for bit, rule in enumerate(rules) if rule.entries[index] is not None}
    total = 1
    for axis in axes:
        total *= len(axis.values)
    if total > MAX_DMN_COMBINATIONS:
        return []
    name = decision.get("name") or decision.get("id")
    label = f"decision table {table.get('id')} ({name})"
    unique = (table.get("hitPolicy") or "UNIQUE").upper() == "UNIQUE"
    gaps, overlaps = _walk_combinations(axes, len(rules), undecided, unique)
    problems: list[Problem] = []
    if gaps:
        problems.append(_problem(doc, table, _gap_message(label, axes, gaps), own=True))
    for combination, matched in overlaps[:3]:
        numbers = [str(rules[bit].number) for bit in matched]
        shown = _describe_combination(axes, combination)
        message = (
            f"{label} has hit policy UNIQUE but rules {', '.join(numbers[:-1])} and {numbers[-1]} "
            f"all match {shown}; SpiffWorkflow silently uses the first"
        )
        problems.append(_problem(doc, rules[matched[1]].element, message, own=True))
    return problems


def _walk_combinations(
    axes: list[_Axis], rule_count: int, undecided: set[int], unique: bool
) -> tuple[list[tuple[int, ...]], list[tuple[tuple[int, ...], list[int]]]]:
    everything = (1 << rule_count) - 1
    certain = everything & ~sum(1 << bit for bit in undecided)
    gaps: list[tuple[int, ...]] = []
    overlaps: list[tuple[tuple[int, ...], list[int]]] = []
    seen: set[tuple[int, ...]] = set()
    for combination in itertools.product(*(range(len(axis.values)) for axis in axes)):
        mask = everything
        for axis, position in zip(axes, combination, strict=True):
            mask &= axis.masks[position]
        if mask == 0:
            gaps.append(combination)
        elif unique and (mask & certain).bit_count() > 1:
            matched = [bit for bit in range(rule_count) if mask & certain & (1 << bit)]
            if tuple(matched) not in seen:
                seen.add(tuple(matched))
                overlaps.append((combination, matched))
    return gaps, overlaps


def _describe_combination(axes: list[_Axis], combination: tuple[int, ...]) -> str:
    """'decision = 'approve' and amount < 5'; position -1 means any value of that input."""
    pairs = zip(axes, combination, strict=True)
    parts = [f"{axis.column.label} {axis.values[position][1]}" for axis, position in pairs if position >= 0]
    return " and ".join(parts) or "every input"


def _merge_gaps(axes: list[_Axis], gaps: list[tuple[int, ...]]) -> list[tuple[int, ...]]:
    """Fold gaps that hold for every value of an input into one with -1 ("any") there."""
    current = set(gaps)
    for index, axis in enumerate(axes):
        groups: dict[tuple[int, ...], set[int]] = {}
        for combination in current:
            key = (*combination[:index], -1, *combination[index + 1 :])
            groups.setdefault(key, set()).add(combination[index])
        current = set()
        for key, positions in groups.items():
            if len(positions) == len(axis.values):
                current.add(key)
            else:
                current |= {(*key[:index], position, *key[index + 1 :]) for position in positions}
    return sorted(current)


def _gap_message(label: str, axes: list[_Axis], gaps: list[tuple[int, ...]]) -> str:
    merged = _merge_gaps(axes, gaps)
    examples = "; ".join(_describe_combination(axes, combination) for combination in merged[:4])
    more = f" (and {len(merged) - 4} more)" if len(merged) > 4 else ""
    return (
        f"{label}: some inputs match no rule, so the decision sets nothing: {examples}{more}; "
        "add rules for them or a last rule with '-' in every input"
    )


# --------------------------------------------------------------------------- SpiffWorkflow parse


class _Index:
    """Where each element id is: (file, line)."""

    def __init__(self, docs: Sequence[_Doc]) -> None:
        self.places: dict[str, list[tuple[str, int | None]]] = {}
        for doc in docs:
            for element in _elements(doc.root):
                element_id = element.get("id")
                if element_id:
                    self.places.setdefault(str(element_id), []).append((doc.name, element.sourceline))

    def find(self, element_id: str, file: str | None) -> tuple[str | None, int | None]:
        places = self.places.get(element_id, [])
        for name, line in places:
            if file is None or name == file:
                return name, line
        return places[0] if places else (file, None)


def _from_exception(exc: Exception, default_file: str, index: _Index) -> Problem:
    """A SpiffWorkflow parser exception as a Problem, located through the id index."""
    if not isinstance(exc, ValidationException):
        message = f"SpiffWorkflow could not read this: {type(exc).__name__}: {exc}"
        return Problem(default_file, None, None, message)
    element_id = str(exc.id) if exc.id else None
    file = str(exc.file_name) if exc.file_name else None
    line = exc.line_number if isinstance(exc.line_number, int) else None
    if element_id is not None:
        found_file, found_line = index.find(element_id, file)
        file, line = file or found_file, line or found_line
    message = str(exc.args[0]) if exc.args else type(exc).__name__
    if "no support implemented" in message and exc.tag:
        message = f"unsupported element {exc.tag}: SpiffWorkflow cannot run it"
    notes = [str(note) for note in getattr(exc, "notes", [])]
    message = ". ".join([message.rstrip(". "), *notes]) if notes else message
    return Problem(file or default_file, element_id, line, message)


def _spiff_parse(docs: Sequence[_Doc], index: _Index) -> tuple[Any, list[Problem]]:
    """Feed the documents that passed the schema to SpiffBpmnParser; collect what it rejects.

    The schema check already ran (with the same validators, per thread), so the
    parser is built without one: SpiffWorkflow's shared VALIDATOR keeps its
    error log on a module-level object, and its DMN 1.2 schema does not load.
    """
    parser = SpiffBpmnParser()
    problems: list[Problem] = []
    usable = [doc for doc in docs if doc.usable]
    for doc in (d for d in usable if d.kind == "dmn"):
        problems += _attempt(partial(parser.add_dmn_xml, doc.root, filename=doc.name), doc.name, index)
    for dmn_id, dmn_parser in list(parser.dmn_parsers.items()):
        name = dmn_parser.filename or dmn_id
        problems += _attempt(dmn_parser.parse, name, index)
    for doc in (d for d in usable if d.kind == "bpmn"):
        problems += _attempt(partial(parser.add_bpmn_xml, doc.root, filename=doc.name), doc.name, index)
    for process_id in parser.get_process_ids():
        name = parser.process_parsers[process_id].filename or process_id
        problems += _attempt(partial(parser.get_spec, process_id), name, index)
    return parser, problems


def _attempt(action: Callable[[], object], default_file: str, index: _Index) -> list[Problem]:
    try:
        action()
    except Exception as exc:
        return [_from_exception(exc, default_file, index)]
    return []


# --------------------------------------------------------------------------- public API


def _static_checks(docs: Sequence[_Doc], functions: tuple[str, ...]) -> list[Problem]:
    problems: list[Problem] = []
    decisions: dict[str, str] = {}
    for doc in docs:
        if doc.kind == "dmn":
            found, decision_id = _check_dmn(doc, functions)
            problems += found
            if decision_id is not None and decision_id in decisions:
                message = f"decision id {decision_id!r} is also defined in {decisions[decision_id]}"
                problems.append(Problem(doc.name, decision_id, None, message))
            elif decision_id is not None:
                decisions[decision_id] = doc.name
        else:
            problems += _check_processes(doc)
            problems += _check_unsupported(doc)
            problems += _check_reserved_ids(doc)
            problems += _check_bpmn_snippets(doc, functions)
            problems += _check_gateways(doc)
    problems += _check_business_rules(docs, decisions)
    problems += _check_call_activities(docs)
    return problems


def _analyse(docs: Mapping[str, bytes | str], functions: tuple[str, ...]) -> _Analysis:
    analysis = _Analysis()
    try:
        for name, content in docs.items():
            doc, problems = _load(str(name), content)
            analysis.problems += problems
            if doc is not None:
                analysis.docs.append(doc)
        analysis.problems += _static_checks(analysis.docs, functions)
        for doc in analysis.docs:
            analysis.problems += _check_schema(doc)
        index = _Index(analysis.docs)
        analysis.parser, spiff_problems = _spiff_parse(analysis.docs, index)
        known = {(p.file, p.element_id) for p in analysis.problems if p.element_id}
        analysis.problems += [p for p in spiff_problems if not p.element_id or (p.file, p.element_id) not in known]
    except Exception as exc:  # never raise for bad input; report instead
        message = f"internal error while validating: {exc!r}"
        analysis.problems.append(Problem("<documents>", None, None, message))
        analysis.parser = None
    order = {str(name): position for position, name in enumerate(docs)}
    analysis.problems.sort(key=lambda p: (order.get(p.file, len(order)), p.line or 0))
    return analysis


def validate_documents(docs: Mapping[str, bytes], *, functions: Iterable[str] = DEFAULT_FUNCTIONS) -> list[Problem]:
    """Every problem found in a set of BPMN and DMN documents (file name -> content).

    BPMN and DMN are told apart by the root element's namespace. Never raises.
    Problems with severity "warning" do not stop parse_documents.
    """
    return _analyse(docs, tuple(functions)).problems


def _default_process(analysis: _Analysis) -> str:
    parser = analysis.parser
    executable = list(parser.get_process_ids())
    called = {
        str(el.get("calledElement"))
        for doc in analysis.docs
        if doc.kind == "bpmn"
        for el in _elements(doc.root)
        if _is(el, BPMN_NS, "callActivity")
    }
    candidates = [pid for pid in executable if pid not in called] or executable
    if len(candidates) != 1:
        message = f"choose a process: the documents define {', '.join(candidates) or 'no executable process'}"
        raise DiagramInvalid([Problem(_first_bpmn(analysis), None, None, message)])
    return candidates[0]


def _first_bpmn(analysis: _Analysis) -> str:
    return next((doc.name for doc in analysis.docs if doc.kind == "bpmn"), "<documents>")


def parse_documents(
    docs: Mapping[str, bytes],
    process_id: str | None = None,
    *,
    functions: Iterable[str] = DEFAULT_FUNCTIONS,
) -> tuple[Any, dict[str, Any]]:
    """Validate, then return (process spec, subprocess specs) for `process_id`.

    Without `process_id`, the single executable process that no call activity
    calls is used. Raises DiagramInvalid listing every error.
    """
    analysis = _analyse(docs, tuple(functions))
    errors = [problem for problem in analysis.problems if problem.severity == "error"]
    if errors or analysis.parser is None:
        raise DiagramInvalid(errors or [Problem("<documents>", None, None, "nothing to parse")])
    parser = analysis.parser
    chosen = process_id or _default_process(analysis)
    if chosen not in parser.get_process_ids():
        known = ", ".join(parser.get_process_ids()) or "none"
        message = f"process {chosen!r} not found; executable processes: {known}"
        raise DiagramInvalid([Problem(_first_bpmn(analysis), None, None, message)])
    try:
        return parser.get_spec(chosen), parser.get_subprocess_specs(chosen)
    except Exception as exc:
        problem = _from_exception(exc, _first_bpmn(analysis), _Index(analysis.docs))
        raise DiagramInvalid([problem]) from exc


def validate_files(paths: Sequence[Path]) -> dict[str, list[Problem]]:
    """Problems per file (keyed by str(path)); BPMN and DMN files are checked together.

    A missing or unreadable file is a problem, not an exception.
    """
    result: dict[str, list[Problem]] = {str(path): [] for path in paths}
    docs: dict[str, bytes] = {}
    for path in paths:
        try:
            docs[str(path)] = Path(path).read_bytes()
        except FileNotFoundError:
            result[str(path)].append(Problem(str(path), None, None, "file not found"))
        except IsADirectoryError:
            result[str(path)].append(Problem(str(path), None, None, "is a directory, not a diagram"))
        except OSError as exc:
            message = f"cannot read file: {exc.strerror or exc}"
            result[str(path)].append(Problem(str(path), None, None, message))
    for problem in validate_documents(docs):
        result.setdefault(problem.file, []).append(problem)
    return result
