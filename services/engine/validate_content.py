"""Markup that a browser would run, refused in uploaded diagrams.

A stored diagram is served as XML (sandboxed, see app.web.uploads) and read by bpmn-js; a browser
that opens it directly renders elements of the XHTML, SVG and MathML namespaces as such, follows an
`xml-stylesheet` instruction (XSLT can emit HTML with script) and an XInclude. None of these belongs
in a BPMN or DMN document, so a diagram carrying any of them, as an element or as an attribute, is
refused at upload with the element and line named. Elements of other foreign namespaces (a modeller's
extensions) are inert to browsers and stay allowed.
"""

from __future__ import annotations

from typing import Any

from lxml import etree

from services.engine.validate_common import Problem, _Doc, _problem

ACTIVE_NAMESPACES = {
    "http://www.w3.org/1999/xhtml": "HTML",
    "http://www.w3.org/2000/svg": "SVG",
    "http://www.w3.org/1998/Math/MathML": "MathML",
    "http://www.w3.org/1999/XSL/Transform": "XSLT",
    "http://www.w3.org/2001/XInclude": "XInclude",
    "http://www.w3.org/1999/xlink": "XLink",
}


def _kind(qualified: str) -> str | None:
    namespace = etree.QName(qualified).namespace
    return ACTIVE_NAMESPACES.get(namespace or "")


def _instructions(root: Any) -> list[Any]:
    before = [node for node in root.itersiblings(preceding=True) if isinstance(node, etree._ProcessingInstruction)]
    return before + list(root.iter(etree.ProcessingInstruction))


def check_active_content(doc: _Doc) -> list[Problem]:
    """Every HTML/SVG/MathML/XSLT/XInclude element or attribute, and every processing instruction."""
    problems: list[Problem] = []
    for element in doc.root.iter(etree.Element):
        kind = _kind(element.tag)
        if kind is not None:
            name = etree.QName(element).localname
            problems.append(_problem(doc, element, f"流程图中不允许 {kind} 元素 <{name}>"
                                                   "（浏览器会执行它），请删除", own=True))
            continue
        for attribute in element.attrib:
            kind = _kind(attribute)
            if kind is not None:
                name = etree.QName(attribute).localname
                problems.append(_problem(doc, element, f"流程图中不允许 {kind} 属性 {name!r}，"
                                                       "请删除", own=True))
    for instruction in _instructions(doc.root):
        line = instruction.sourceline or None
        problems.append(Problem(doc.name, None, line, f"流程图中不允许处理指令 <?{instruction.target} ...?>"
                                                      "（浏览器会执行它），请删除"))
    return problems
