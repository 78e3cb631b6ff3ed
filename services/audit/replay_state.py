"""A workflow state in a form that replay can compare: independent of task UUIDs and wall-clock stamps.

`Engine.dumps` is not byte-for-byte reproducible, even with the same diagram, the same commands and
the same injected clock (measured on every demo case):

- task ids are random UUIDs (they key the `tasks` map and appear in `root`, `last_task`,
  `parent`/`children`);
- each task's `last_state_change` is the wall clock (`time.time()`), not the injected clock;
- a task's `delta.deletions` is built from a set, so its order varies between processes.

Everything else (the spec, each task's spec, state, data, internal data such as a timer's due time,
the tree's shape and the order of children) is reproduced exactly. So the canonical form walks the
task tree from the root, depth first in children order, names each task by its position (`T0`,
`T1`, ...), replaces every UUID by that name, drops `last_state_change` and sorts `deletions`. Two
states are "the same" when their canonical forms are equal; `canonical_sha256` is the hash of it.

This module reads the serializer's JSON only; it does not import SpiffWorkflow.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any

import orjson

UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
# SpiffWorkflow's TaskState values as the serializer writes them (tests/audit checks they still match)
COMPLETED = 64
UNKNOWN_TASK = "T?"
SPEC_KEYS = frozenset({"spec", "subprocess_specs"})


@dataclass(frozen=True)
class CanonicalState:
    """A serialized workflow, canonical: `value` is comparable across runs, `labels` maps UUID -> T<n>."""

    value: dict[str, Any]
    labels: dict[str, str]

    @property
    def sha256(self) -> str:
        return hashlib.sha256(orjson.dumps(self.value, option=orjson.OPT_SORT_KEYS)).hexdigest()


def _order(tasks: dict[str, Any], root: str | None) -> dict[str, str]:
    labels: dict[str, str] = {}
    stack = [root] if root else []
    while stack:
        tid = stack.pop()
        if tid in labels or tid not in tasks:
            continue
        labels[tid] = f"T{len(labels)}"
        stack.extend(reversed(tasks[tid].get("children") or []))
    return labels


def _subst(value: Any, labels: dict[str, str]) -> Any:
    if isinstance(value, str):
        if len(value) == 36 and value in labels:
            return labels[value]
        return UUID_RE.sub(lambda m: labels.get(m.group(0), UNKNOWN_TASK), value) if "-" in value else value
    if isinstance(value, list):
        return [_subst(v, labels) for v in value]
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if key == "last_state_change":
                continue
            item = _subst(item, labels)
            out[_subst(key, labels)] = sorted(item, key=repr) if key == "deletions" and isinstance(item, list) else item
        return out
    return value


def canonical(doc: dict[str, Any]) -> CanonicalState:
    """The canonical form of a parsed serializer document (see the module docstring)."""
    tasks: dict[str, Any] = doc.get("tasks") or {}
    labels = _order(tasks, doc.get("root"))
    # the specs come from the diagram and hold no task ids: kept as they are (the largest part, by far)
    value = {k: (v if k in SPEC_KEYS else _subst(v, labels)) for k, v in doc.items() if k != "tasks"}
    value["tasks"] = [_subst(tasks[t], labels) for t in labels]
    value["unreachable_tasks"] = len(tasks) - len(labels)
    return CanonicalState(value, labels)


def canonical_state(state: bytes) -> CanonicalState:
    """The canonical form of `Engine.dumps` output."""
    doc = orjson.loads(state)
    if not isinstance(doc, dict):
        raise ValueError("a serialized workflow is a JSON object")
    return canonical(doc)


def first_difference(recorded: Any, replayed: Any, path: str = "") -> tuple[str, Any, Any] | None:
    """The first place (a path like `tasks[12].data.decision`) where two JSON values differ."""
    if isinstance(recorded, dict) and isinstance(replayed, dict):
        for key in sorted(set(recorded) | set(replayed), key=str):
            sub = f"{path}.{key}" if path else str(key)
            if key not in recorded or key not in replayed:
                return sub, recorded.get(key, "<absent>"), replayed.get(key, "<absent>")
            found = first_difference(recorded[key], replayed[key], sub)
            if found is not None:
                return found
        return None
    if isinstance(recorded, list) and isinstance(replayed, list):
        for i, (a, b) in enumerate(zip(recorded, replayed, strict=False)):
            found = first_difference(a, b, f"{path}[{i}]")
            if found is not None:
                return found
        if len(recorded) != len(replayed):
            return f"{path} (length)", len(recorded), len(replayed)
        return None
    return None if recorded == replayed else (path, recorded, replayed)


def completed_elements(doc: dict[str, Any]) -> list[tuple[str, str]]:
    """(task UUID, BPMN element id) of every COMPLETED task of a diagram element, in tree order."""
    tasks: dict[str, Any] = doc.get("tasks") or {}
    specs: dict[str, Any] = (doc.get("spec") or {}).get("task_specs") or {}
    out: list[tuple[str, str]] = []
    for tid in _order(tasks, doc.get("root")):
        task = tasks[tid]
        bpmn_id = (specs.get(task.get("task_spec")) or {}).get("bpmn_id")
        if task.get("state") == COMPLETED and bpmn_id:
            out.append((tid, str(bpmn_id)))
    return out


@dataclass(frozen=True)
class DataChange:
    field: str
    before: Any
    after: Any


def data_changes(before: dict[str, Any], after: dict[str, Any]) -> tuple[DataChange, ...]:
    """What changed in the case data from one step to the next (absent values are None)."""
    keys = sorted(set(before) | set(after))
    return tuple(DataChange(k, before.get(k), after.get(k)) for k in keys
                 if k not in before or k not in after or before[k] != after[k])
