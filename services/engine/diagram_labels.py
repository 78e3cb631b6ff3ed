"""The labels and start events of a stored BPMN diagram, read with lxml (no engine needed).

Stored diagrams were validated at install, but they are still parsed without entity resolution
or network access.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from lxml import etree

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, remove_comments=True)


@dataclass(frozen=True)
class DiagramNodes:
    labels: dict[str, str] = field(default_factory=dict)  # element id -> name (or the id when unnamed)
    starts: tuple[str, ...] = ()  # start events of the executable processes


def diagram_nodes(xml: bytes) -> DiagramNodes:
    """Element id -> label for every named flow element, and the start event ids."""
    try:
        root = etree.fromstring(xml, _PARSER)
    except etree.XMLSyntaxError:
        return DiagramNodes()
    labels: dict[str, str] = {}
    starts: list[str] = []
    for process in root.iter(f"{{{BPMN_NS}}}process"):
        for element in process.iter(tag=etree.Element):
            element_id = element.get("id")
            if not element_id or etree.QName(element).namespace != BPMN_NS:
                continue
            labels[element_id] = element.get("name") or element_id
            if etree.QName(element).localname == "startEvent" and element.getparent() is process:
                starts.append(element_id)
    return DiagramNodes(labels, tuple(starts))
