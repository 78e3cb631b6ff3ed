"""Saving a workflow's state with the diagram part converted once.

SpiffWorkflow's serializer converts the whole workflow on every save: the task tree and data that
change, and the process spec and subprocess specs (every task spec of the diagram) that never do.
The second part is most of the work and most of the bytes. `StateWriter` converts the spec part
once per spec object and keeps its JSON bytes; each save converts only the changing part with the
serializer's own converter and joins the two in the order the serializer writes them, so the bytes
are exactly those of the full conversion (tests/engine/test_state_bytes.py compares them).

A workflow kept between steps (services.awards.cases keeps the latest ones) also keeps the JSON of
its completed tasks: a completed task changes no more (its data, its children and its state stay as
they were; a reset would change its state and the time of that change, which are checked), so each
save converts only the tasks still open, predicted or newly completed.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any

import orjson
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter
from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState


class StateWriter:
    """`dumps(wf)`: the serializer's JSON bytes of a workflow, the spec part cached per spec object."""

    def __init__(self, serializer: BpmnWorkflowSerializer, reference: Callable[[BpmnWorkflow], bytes]) -> None:
        self._serializer = serializer
        self._reference = reference
        registry = serializer.registry
        self._typename = registry.typenames.get(BpmnWorkflow)
        bound = registry.convert_to_dict.get(self._typename) if self._typename else None
        func = getattr(bound, "args", (None, None))[1] if bound is not None else None
        converter = getattr(func, "__self__", None)
        # only the converter this module knows the layout of; anything else takes the full path
        self._converter = converter if type(converter) is BpmnWorkflowConverter else None
        self._specs: weakref.WeakKeyDictionary[Any, tuple[tuple[tuple[str, int], ...], list[Any], bytes]] = (
            weakref.WeakKeyDictionary())
        self._done: weakref.WeakKeyDictionary[Any, tuple[tuple[Any, ...], bytes]] = weakref.WeakKeyDictionary()

    def dumps(self, wf: BpmnWorkflow) -> bytes:
        conv = self._converter
        if conv is None or type(wf) is not BpmnWorkflow:
            return self._reference(wf)
        registry = self._serializer.registry
        # WorkflowConverter.to_dict's keys in its order, the task mapping joined from per-task JSON
        head = {"data": registry.convert(registry.clean(wf.data)), "correlations": wf.correlations,
                "last_task": str(wf.last_task.id) if wf.last_task is not None else None,
                "success": wf.success, "completed": wf.completed}
        root = {"root": str(wf.task_tree.id)}
        tail = {"subprocesses": conv.mapping_to_dict(wf.subprocesses), "bpmn_events": registry.convert(wf.bpmn_events),
                "typename": self._typename, self._serializer.VERSION_KEY: self._serializer.VERSION}
        return (orjson.dumps(head)[:-1] + b',"tasks":' + self._tasks_part(wf) + b"," + orjson.dumps(root)[1:-1]
                + b"," + self._spec_part(conv, wf) + b"," + orjson.dumps(tail)[1:])

    def _tasks_part(self, wf: BpmnWorkflow) -> bytes:
        """The `tasks` mapping's JSON: each completed task's entry converted once (kept while it is
        completed and the time of its last change, its children and `triggered` are as they were)."""
        convert = self._serializer.registry.convert
        done = self._done
        parts = []
        for key, task in wf.tasks.items():
            if task.state != TaskState.COMPLETED:
                parts.append(orjson.dumps(str(key)) + b":" + orjson.dumps(convert(task)))
                continue
            mark = (task.last_state_change, tuple(task._children), task.triggered)
            hit = done.get(task)
            if hit is None or hit[0] != mark:
                hit = done[task] = (mark, orjson.dumps(str(key)) + b":" + orjson.dumps(convert(task)))
            parts.append(hit[1])
        return b"{" + b",".join(parts) + b"}"

    def _spec_part(self, conv: BpmnWorkflowConverter, wf: BpmnWorkflow) -> bytes:
        """`"spec":{...},"subprocess_specs":{...}` for the workflow's specs, converted once."""
        subs = wf.subprocess_specs
        key = tuple((str(name), id(spec)) for name, spec in subs.items())
        hit = self._specs.get(wf.spec)
        if hit is not None and hit[0] == key:
            return hit[2]
        part = orjson.dumps({"spec": self._serializer.registry.convert(wf.spec),
                             "subprocess_specs": conv.mapping_to_dict(subs)})[1:-1]
        self._specs[wf.spec] = (key, list(subs.values()), part)  # the specs kept alive: their ids stay theirs
        return part
