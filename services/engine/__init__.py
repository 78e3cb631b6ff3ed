"""The SpiffWorkflow boundary: parse and validate diagrams, run instances, serialize their state.

Owns `runtime` (the Engine wrapper: start, list ready human tasks, complete, fire timers, save and
restore), `sandbox` (the restricted evaluator every condition, script, DMN cell and timer expression
goes through), `validate*` (what `smeflow bpmn validate` and an upload check) and `diagram_labels`.
This is the only package that imports SpiffWorkflow; everything else sees plain dataclasses.
May import: the kernel (`services.errors`). Nothing else of ours.
"""
