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

Per-document checks live in engine_validate_xml (loading, schemas, BPMN) and
engine_validate_dmn (decision tables); this module runs them, checks the
references between documents and parses with SpiffWorkflow.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any

from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser

from services.engine.validate_common import (
    BPMN_NS,
    ELEMENT_KINDS,
    SPIFF_NS,
    Problem,
    Severity,
    _Doc,
    _elements,
    _is,
    _local,
    _problem,
)
from services.engine.validate_content import check_active_content
from services.engine.validate_dmn import MAX_DMN_COMBINATIONS, _check_dmn, dmn_entry_expression
from services.engine.validate_xml import (
    MAX_SCHEMA_ERRORS,
    _check_bpmn_snippets,
    _check_gateways,
    _check_processes,
    _check_reserved_ids,
    _check_schema,
    _check_unsupported,
    _load,
)

__all__ = [
    "BPMN_NS",
    "DEFAULT_FUNCTIONS",
    "MAX_DMN_COMBINATIONS",
    "MAX_SCHEMA_ERRORS",
    "SPIFF_NS",
    "DiagramInvalid",
    "Problem",
    "Severity",
    "dmn_entry_expression",
    "parse_documents",
    "validate_documents",
    "validate_files",
]

DEFAULT_FUNCTIONS: tuple[str, ...] = ("stage_deadline",)


class DiagramInvalid(ValueError):
    """Raised by parse_documents; `problems` lists every error found."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        shown = "\n".join(str(problem) for problem in self.problems[:10])
        more = f"\n……另有 {len(self.problems) - 10} 个" if len(self.problems) > 10 else ""
        super().__init__(f"流程图未通过校验（{len(self.problems)} 个问题）：\n{shown}{more}")


@dataclass
class _Analysis:
    problems: list[Problem] = field(default_factory=list)
    parser: Any = None
    docs: list[_Doc] = field(default_factory=list)


# --------------------------------------------------------------------------- references across documents


def _bpmn_elements(docs: Iterable[_Doc], *names: str) -> Iterator[tuple[_Doc, Any]]:
    """(document, element) for every BPMN element with one of `names`, in document order."""
    for doc in docs:
        if doc.kind == "bpmn":
            yield from ((doc, element) for element in _elements(doc.root) if _is(element, BPMN_NS, *names))


def _executable_process_ids(docs: Sequence[_Doc]) -> set[str]:
    return {
        str(p.get("id"))
        for doc in docs
        if doc.kind == "bpmn"
        for p in doc.root
        if _is(p, BPMN_NS, "process") and p.get("isExecutable", "true") == "true"
    }


def _check_call_activities(docs: Sequence[_Doc]) -> list[Problem]:
    """Every call activity calls an executable process that a supplied diagram defines."""
    processes = _executable_process_ids(docs)
    problems: list[Problem] = []
    for doc, activity in _bpmn_elements(docs, "callActivity"):
        called = activity.get("calledElement")
        if not called:
            problems.append(_problem(doc, activity, "调用活动没有指定被调用的流程（calledElement）", own=True))
        elif called not in processes:
            message = f"调用活动调用流程 {called!r}，但上传的流程图中没有定义它"
            problems.append(_problem(doc, activity, message, own=True))
    return problems


def _check_business_rules(docs: Sequence[_Doc], decisions: Mapping[str, str]) -> list[Problem]:
    """Every business rule task names a decision that a supplied DMN file defines."""
    problems: list[Problem] = []
    for doc, task in _bpmn_elements(docs, "businessRuleTask"):
        refs = (el.text or "" for el in _elements(task) if _is(el, SPIFF_NS, "calledDecisionId"))
        ref = next(refs, "").strip()
        if not ref:
            message = "业务规则任务没有指定决策（spiffworkflow:calledDecisionId）"
        elif ref not in decisions:
            known = "、".join(sorted(decisions)) or "（无）"
            message = f"业务规则任务调用决策 {ref!r}，但上传的 DMN 中没有定义它（已定义：{known}）"
        else:
            continue
        problems.append(_problem(doc, task, message, own=True))
    return problems


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
        message = f"流程引擎无法读取：{type(exc).__name__}: {exc}"
        return Problem(default_file, None, None, message)
    element_id = str(exc.id) if exc.id else None
    file = str(exc.file_name) if exc.file_name else None
    line = exc.line_number if isinstance(exc.line_number, int) else None
    if element_id is not None:
        found_file, found_line = index.find(element_id, file)
        file, line = file or found_file, line or found_line
    message = "流程引擎不接受：" + (str(exc.args[0]) if exc.args else type(exc).__name__)
    if "no support implemented" in message and exc.tag:  # the parser's own words: an element it cannot run
        message = f"不支持的元素 {exc.tag}：流程引擎无法执行"
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
        problems += check_active_content(doc)
        if doc.kind == "dmn":
            found, decision_id = _check_dmn(doc, functions)
            problems += found
            if decision_id is not None and decision_id in decisions:
                message = f"决策编号 {decision_id!r} 也在 {decisions[decision_id]} 中定义"
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
        message = f"校验时发生内部错误：{exc!r}"
        analysis.problems.append(Problem("<documents>", None, None, message))
        analysis.parser = None
    analysis.problems = _named(analysis.problems, analysis.docs)
    order = {str(name): position for position, name in enumerate(docs)}
    analysis.problems.sort(key=lambda p: (order.get(p.file, len(order)), p.line or 0))
    return analysis


def _named(problems: list[Problem], docs: Sequence[_Doc]) -> list[Problem]:
    """Each problem with the name its element has in the diagram (`区县初审`), or what kind of element
    it is (`排他网关`) when it has none: a person finds it by that, the id goes beside it."""
    names: dict[tuple[str, str], str] = {}
    for doc in docs:
        for element in _elements(doc.root):
            element_id = element.get("id")
            if element_id:
                name = " ".join(str(element.get("name") or "").split())
                names.setdefault((doc.name, str(element_id)), name or ELEMENT_KINDS.get(_local(element), "元素"))
    return [replace(p, element_name=names.get((p.file, p.element_id), "元素"))
            if p.element_id and p.element_name is None else p for p in problems]


def validate_documents(docs: Mapping[str, bytes], *, functions: Iterable[str] = DEFAULT_FUNCTIONS) -> list[Problem]:
    """Every problem found in a set of BPMN and DMN documents (file name -> content).

    BPMN and DMN are told apart by the root element's namespace. Never raises.
    Problems with severity "warning" do not stop parse_documents.
    """
    return _analyse(docs, tuple(functions)).problems


def _default_process(analysis: _Analysis) -> str:
    parser = analysis.parser
    executable = list(parser.get_process_ids())
    called = {str(el.get("calledElement")) for _, el in _bpmn_elements(analysis.docs, "callActivity")}
    candidates = [pid for pid in executable if pid not in called] or executable
    if len(candidates) != 1:
        message = f"请指定流程：文档定义了 {'、'.join(candidates) or '（没有可执行的流程）'}"
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
        raise DiagramInvalid(errors or [Problem("<documents>", None, None, "没有可解析的内容")])
    parser = analysis.parser
    chosen = process_id or _default_process(analysis)
    if chosen not in parser.get_process_ids():
        known = "、".join(parser.get_process_ids()) or "（无）"
        message = f"找不到流程 {chosen!r}；可执行的流程有：{known}"
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
            result[str(path)].append(Problem(str(path), None, None, "文件不存在"))
        except IsADirectoryError:
            result[str(path)].append(Problem(str(path), None, None, "这是一个目录，不是流程图"))
        except OSError:
            message = "无法读取文件"
            result[str(path)].append(Problem(str(path), None, None, message))
    for problem in validate_documents(docs):
        result.setdefault(problem.file, []).append(problem)
    return result
