"""Issue 12, item 4: a diagram carrying markup a browser would run (HTML or SVG script, MathML, an
xml-stylesheet instruction, XInclude) is refused at validation, each occurrence named with its line;
the shipped diagrams and a modeller's own extension elements pass."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.engine.validate import validate_documents

BPMN_DIR = Path(__file__).resolve().parents[2] / "bpmn"
HONOUR = (BPMN_DIR / "award_enterprise_honour.bpmn").read_text(encoding="utf-8")
FIRST_DOC = "<bpmn:documentation>企业荣誉奖励"


def _errors(xml: str) -> list[str]:
    problems = validate_documents({"hostile.bpmn": xml.encode()})
    return [f"{p.line}:{p.message}" for p in problems if p.severity == "error"]


@pytest.mark.parametrize(("inserted", "expected"), [
    ('<html:script xmlns:html="http://www.w3.org/1999/xhtml">alert(document.cookie)</html:script>',
     "流程图中不允许 HTML 元素 <script>"),
    ('<svg:svg xmlns:svg="http://www.w3.org/2000/svg"><svg:script>alert(1)</svg:script></svg:svg>',
     "流程图中不允许 SVG 元素 <svg>"),
    ('<m:math xmlns:m="http://www.w3.org/1998/Math/MathML"><m:mi>x</m:mi></m:math>',
     "流程图中不允许 MathML 元素 <math>"),
    ('<xi:include xmlns:xi="http://www.w3.org/2001/XInclude" href="file:///etc/passwd"/>',
     "流程图中不允许 XInclude 元素 <include>"),
])
def test_active_markup_inside_a_diagram_is_refused(inserted: str, expected: str) -> None:
    xml = HONOUR.replace(FIRST_DOC, inserted + FIRST_DOC, 1)
    errors = _errors(xml)
    assert any(expected in e and e.startswith("4:") for e in errors), errors


def test_an_html_event_attribute_and_a_stylesheet_instruction_are_refused() -> None:
    xml = HONOUR.replace('<bpmn:definitions ', '<?xml-stylesheet type="text/xsl" href="data:,x"?>\n'
                         '<bpmn:definitions xmlns:h="http://www.w3.org/1999/xhtml" h:onload="alert(1)" ', 1)
    errors = _errors(xml)
    assert any("流程图中不允许 HTML 属性 'onload'" in e for e in errors), errors
    assert any("流程图中不允许处理指令 <?xml-stylesheet" in e for e in errors), errors


def test_the_shipped_diagrams_and_modeller_extensions_pass() -> None:
    for path in BPMN_DIR.glob("*.bpmn"):
        assert not [p for p in validate_documents({path.name: path.read_bytes()}) if "流程图中不允许" in
                    p.message], path
    extension = HONOUR.replace(FIRST_DOC, '<modeler:note xmlns:modeler="http://example.org/modeler">备注</modeler:note>'
                               + FIRST_DOC, 1)
    assert not [e for e in _errors(extension) if "流程图中不允许" in e]
