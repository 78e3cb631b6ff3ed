"""Static validation of uploaded diagrams."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from services.engine.validate import (
    DiagramInvalid,
    Problem,
    dmn_entry_expression,
    parse_documents,
    validate_documents,
    validate_files,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "bpmn"


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def line_of(name: str, needle: str) -> int:
    """1-based line of the first line of a fixture containing `needle`."""
    for number, line in enumerate(fixture(name).decode().splitlines(), start=1):
        if needle in line:
            return number
    raise AssertionError(f"{needle!r} not in {name}")


def errors(problems: list[Problem]) -> list[Problem]:
    return [p for p in problems if p.severity == "error"]


def only(problems: list[Problem]) -> Problem:
    assert len(problems) == 1, [str(p) for p in problems]
    return problems[0]


def test_valid_diagram_has_no_problems() -> None:
    assert validate_documents({"valid.bpmn": fixture("valid.bpmn")}) == []


def test_valid_diagram_parses_into_a_spec() -> None:
    spec, subprocesses = parse_documents({"valid.bpmn": fixture("valid.bpmn")})
    assert spec.name == "valid_process"
    assert "Gateway_Grade" in spec.task_specs
    assert subprocesses == {}


def test_malformed_xml_is_one_problem_with_a_line() -> None:
    problem = only(validate_documents({"malformed.bpmn": fixture("malformed.bpmn")}))
    assert problem.line == line_of("malformed.bpmn", "</bpmn:startEvnt>")
    assert problem.message.startswith("XML 格式错误：")
    assert problem.file == "malformed.bpmn"


def test_unsupported_element_is_reported() -> None:
    problem = only(validate_documents({"complex_gateway.bpmn": fixture("complex_gateway.bpmn")}))
    assert problem.element_id == "Gateway_Complex"
    assert "complexGateway" in problem.message
    assert problem.line == line_of("complex_gateway.bpmn", '<bpmn:complexGateway id="Gateway_Complex"')


def test_unquoted_duration_names_the_boundary_event_and_line() -> None:
    problem = only(validate_documents({"unquoted_duration.bpmn": fixture("unquoted_duration.bpmn")}))
    assert problem.element_id == "Timer_Review_Deadline"
    assert problem.line == line_of("unquoted_duration.bpmn", ">PT72H<")
    assert problem.message == (
        '计时器表达式 PT72H 是一个裸名称：ISO 8601 时长须加引号，如 "PT72H"'
    )
    assert str(problem).startswith(f"unquoted_duration.bpmn 第 {problem.line} 行 边界事件 Timer_Review_Deadline：")
    assert problem.element_name == "边界事件"  # unnamed: named by its kind


@pytest.mark.parametrize(
    ("expression", "fragment"),
    [
        ('"P3X"', "不是 ISO 8601 时长"),
        ("72", "须为带引号的 ISO 8601 字符串"),
        ('str("PT1H")', "只有 stage_deadline 可以计算计时器"),
        ("deadline.days", "不允许访问属性"),
    ],
)
def test_bad_timer_expressions(expression: str, fragment: str) -> None:
    source = fixture("unquoted_duration.bpmn").replace(b">PT72H<", f">{expression}<".encode())
    problem = only(validate_documents({"timer.bpmn": source}))
    assert fragment in problem.message
    assert problem.element_id == "Timer_Review_Deadline"


@pytest.mark.parametrize("expression", ['"PT72H"', "review_deadline", 'stage_deadline("district")'])
def test_good_timer_expressions(expression: str) -> None:
    source = fixture("unquoted_duration.bpmn").replace(b">PT72H<", f">{expression}<".encode())
    assert validate_documents({"timer.bpmn": source}) == []


def test_condition_syntax_error_names_the_flow() -> None:
    problem = only(validate_documents({"condition_syntax.bpmn": fixture("condition_syntax.bpmn")}))
    assert problem.element_id == "Flow_Big"
    assert "语法错误" in problem.message
    assert problem.line == line_of("condition_syntax.bpmn", "<bpmn:conditionExpression")


def test_malicious_snippets_are_each_reported() -> None:
    problems = validate_documents({"malicious.bpmn": fixture("malicious.bpmn")})
    by_element = {p.element_id: p for p in problems}
    assert set(by_element) == {"Flow_Big", "Task_Prepare", "Task_Big"}, [str(p) for p in problems]
    assert "不允许名称 '__import__'" in by_element["Flow_Big"].message
    assert "不允许访问属性（.__class__）" in by_element["Task_Prepare"].message
    assert "不允许调用 'open'" in by_element["Task_Big"].message
    assert by_element["Task_Big"].message.startswith("前置脚本 preScript：")
    assert by_element["Task_Big"].line == line_of("malicious.bpmn", "<spiffworkflow:preScript>")


def test_script_line_numbers_point_inside_the_script() -> None:
    source = fixture("malicious.bpmn").replace(
        b"<bpmn:script>kind = amount.__class__</bpmn:script>",
        b"<bpmn:script>a = 1\nb = 2\nkind = amount.__class__</bpmn:script>",
    )
    problem = next(p for p in validate_documents({"m.bpmn": source}) if p.element_id == "Task_Prepare")
    assert problem.line == line_of("malicious.bpmn", "<bpmn:script>") + 2


def test_prescript_on_a_script_task_is_reported_as_never_run() -> None:
    source = fixture("valid.bpmn").replace(
        b'<bpmn:scriptTask id="Score" name="Score">',
        b'<bpmn:scriptTask id="Score" name="Score"><bpmn:extensionElements>'
        b"<spiffworkflow:preScript>x = 1</spiffworkflow:preScript></bpmn:extensionElements>",
    )
    problem = only(validate_documents({"v.bpmn": source}))
    assert problem.element_id == "Score"
    assert "不会被流程引擎执行" in problem.message


def test_reserved_id_is_reported() -> None:
    source = fixture("valid.bpmn").replace(b"StartEvent_1", b"Start")
    problem = only(validate_documents({"v.bpmn": source}))
    assert problem.element_id == "Start"
    assert "与流程引擎自行创建的任务重名" in problem.message


def test_non_executable_process_is_reported() -> None:
    problem = only(validate_documents({"non_executable.bpmn": fixture("non_executable.bpmn")}))
    assert "没有可执行的流程" in problem.message
    assert problem.element_id == "sketch_process"


def test_schema_violation_is_reported_with_line() -> None:
    source = fixture("valid.bpmn").replace(b"<bpmn:incoming>Flow_Low</bpmn:incoming>", b"<bpmn:bogus />")
    problems = errors(validate_documents({"v.bpmn": source}))
    assert problems
    assert any("不符合模式：" in p.message and "bpmn:bogus" in p.message for p in problems)
    assert problems[0].line == line_of("valid.bpmn", "<bpmn:incoming>Flow_Low</bpmn:incoming>")


def test_gateway_without_default_over_literals_is_a_warning() -> None:
    source = (
        fixture("valid.bpmn")
        .replace(b' default="Flow_Low"', b"")
        .replace(
            b'<bpmn:sequenceFlow id="Flow_Low" sourceRef="Gateway_Grade" targetRef="Review_Low" />',
            b'<bpmn:sequenceFlow id="Flow_Low" sourceRef="Gateway_Grade" targetRef="Review_Low">'
            b'<bpmn:conditionExpression>grade == "low"</bpmn:conditionExpression></bpmn:sequenceFlow>',
        )
    )
    problem = only(validate_documents({"v.bpmn": source}))
    assert problem.severity == "warning"
    assert problem.element_id == "Gateway_Grade"
    assert "'high'、'low'" in problem.message
    assert "排他网关 Gateway_Grade：警告：网关没有默认流向" in str(problem)
    spec, _ = parse_documents({"v.bpmn": source})  # warnings do not stop parsing
    assert spec.name == "valid_process"


def test_business_rule_task_needs_its_dmn() -> None:
    problem = only(validate_documents({"business_rule.bpmn": fixture("business_rule.bpmn")}))
    assert problem.element_id == "Task_Decide"
    assert "approval_decision" in problem.message


def test_business_rule_task_with_its_dmn_is_valid() -> None:
    docs = {"business_rule.bpmn": fixture("business_rule.bpmn"), "decision.dmn": fixture("decision.dmn")}
    assert validate_documents(docs) == []
    spec, _ = parse_documents(docs)
    assert spec.name == "rule_process"


def test_dmn_gap_is_reported_with_the_uncovered_values() -> None:
    problem = only(validate_documents({"gap.dmn": fixture("gap.dmn")}))
    assert problem.element_id == "Table_grant"
    assert "不匹配任何规则" in problem.message
    assert "decision 不在 'approve'、'reject' 之中" in problem.message
    assert "decision = 'approve' 且 amount 在 100000 与 200000 之间" in problem.message
    assert "decision = 'approve' 且 amount = 100000" in problem.message


def test_dmn_catch_all_rule_closes_the_gap() -> None:
    extra = (
        b'<rule id="Rule_rest"><inputEntry id="E1"><text>-</text></inputEntry>'
        b'<inputEntry id="E2"><text>-</text></inputEntry>'
        b'<outputEntry id="O1"><text>"review"</text></outputEntry></rule>'
    )
    source = fixture("gap.dmn").replace(b"</decisionTable>", extra + b"</decisionTable>")
    source = source.replace(
        b'<decisionTable id="Table_grant">', b'<decisionTable id="Table_grant" hitPolicy="FIRST">'
    )
    assert validate_documents({"gap.dmn": source}) == []


def test_dmn_unique_overlap_is_reported() -> None:
    problem = only(validate_documents({"overlap.dmn": fixture("overlap.dmn")}))
    assert problem.element_id == "Rule_high"
    assert "第 2 与第 3 条规则" in problem.message
    assert "score > 80" in problem.message


def test_dmn_cells_go_through_the_sandbox() -> None:
    source = fixture("decision.dmn").replace(b'<text>"grant"</text>', b"<text>open('x')</text>")
    source = source.replace(b'<text>"approve"</text>', b"<text>&gt; &gt; 1</text>")
    problems = validate_documents({"decision.dmn": source})
    by_element = {p.element_id: p.message for p in problems}
    assert "不允许调用 'open'" in by_element["Outcome_approve"]
    assert "语法错误" in by_element["Entry_approve"]


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ('"approve"', '(decision) == ("approve")'),
        ("> 5", "decision> 5"),
        ('in ("a", "b")', 'decisionin ("a", "b")'),  # sic: SpiffWorkflow adds no space
        ('? in ("a", "b")', 'dmninputexpr in ("a", "b")'),
        ("1 < ? < 5", "1 < dmninputexpr < 5"),
        ('"why?"', '(decision) == ("why?")'),
    ],
)
def test_dmn_entries_become_the_python_spiffworkflow_runs(entry: str, expected: str) -> None:
    assert dmn_entry_expression("decision", entry) == expected


def test_dmn_entry_glued_to_the_input_name_is_reported() -> None:
    source = fixture("decision.dmn").replace(b'<text>"approve"</text>', b'<text>in ("approve", "ok")</text>')
    problem = only(validate_documents({"decision.dmn": source}))
    assert problem.element_id == "Entry_approve"
    assert "decisionin" in problem.message
    assert '请写作 \'? in ("approve", "ok")\'' in problem.message


def test_missing_file_is_a_problem(tmp_path: Path) -> None:
    missing = tmp_path / "nope.bpmn"
    result = validate_files([FIXTURES / "valid.bpmn", missing])
    assert result[str(FIXTURES / "valid.bpmn")] == []
    problem = only(result[str(missing)])
    assert problem.message == "文件不存在"


def test_validate_files_parses_dmn_alongside_bpmn() -> None:
    result = validate_files([FIXTURES / "business_rule.bpmn", FIXTURES / "decision.dmn"])
    assert result == {str(FIXTURES / "business_rule.bpmn"): [], str(FIXTURES / "decision.dmn"): []}


def test_parse_documents_raises_with_every_problem() -> None:
    with pytest.raises(DiagramInvalid) as caught:
        parse_documents({"malicious.bpmn": fixture("malicious.bpmn")})
    assert len(caught.value.problems) == 3
    assert "malicious.bpmn" in str(caught.value)


def test_parse_documents_unknown_process() -> None:
    with pytest.raises(DiagramInvalid, match="找不到流程"):
        parse_documents({"valid.bpmn": fixture("valid.bpmn")}, "other_process")


@pytest.mark.parametrize("seed", range(20))
def test_validate_documents_never_raises_on_random_bytes(seed: int) -> None:
    rng = random.Random(seed)
    content = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 400)))
    problems = validate_documents({"random.bpmn": content, "random.dmn": content[::-1]})
    assert problems
    assert all(isinstance(p, Problem) for p in problems)


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"   ",
        b"<a/>",
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>',
        b'<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"/>',
        b'<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/"/>',
        b'<definitions xmlns="http://www.omg.org/spec/DMN/20180521/MODEL/" id="d" name="d" namespace="x"/>',
        fixture("valid.bpmn")[: len(fixture("valid.bpmn")) // 2],
        fixture("gap.dmn").replace(b"<inputEntry", b"<inputEntry", 1).replace(b"</rule>", b"", 1),
        fixture("valid.bpmn").replace(b"<bpmn:definitions", b"<bpmn:definitions foo:bar='1'"),
    ],
)
def test_validate_documents_never_raises_on_odd_input(content: bytes) -> None:
    problems = validate_documents({"odd.bpmn": content})
    assert problems
    assert all(p.file == "odd.bpmn" for p in problems)


def test_problem_str() -> None:
    assert str(Problem("a.bpmn", "Flow_1", 12, "坏了", element_name="顺序流")) == "a.bpmn 第 12 行 顺序流 Flow_1：坏了"
    assert str(Problem("a.bpmn", None, None, "坏了")) == "a.bpmn：坏了"
