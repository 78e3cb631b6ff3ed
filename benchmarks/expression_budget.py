"""What the diagram evaluator's budget costs (issue 12 item 6), per evaluation.

    .venv/bin/python benchmarks/expression_budget.py [--rounds 20000]

The expressions the shipped routes run (gateway conditions, a DMN-style membership test, a script
assigning an amount, a list display), evaluated through services.engine.sandbox.RestrictedEnvironment
(every operator, display and safe function guarded, a fresh budget per evaluation), against the same
checked source compiled without the guards and evaluated through the same environment code path
(the baseline, in the same run: the sandbox as it was before the budget, whitelist only). Printed per
expression: µs per evaluation of each and the ratio budgeted/baseline; a whole step of a route is
about 1-2 ms (README, Benchmarks), and runs a few evaluations.
"""

from __future__ import annotations

import argparse
import ast
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from collections import ChainMap
from typing import cast

from services.engine.sandbox import RestrictedEnvironment, check_source


class Unbudgeted(RestrictedEnvironment):
    """The same environment with the checked code compiled as written: no guards, no budget."""

    def __init__(self) -> None:
        super().__init__()
        self._plain: dict[tuple[str, str], Any] = {}

    def _code(self, source: str, mode: str) -> Any:
        code = self._plain.get((mode, source))
        if code is None:
            tree = check_source(source, mode=mode)  # type: ignore[arg-type]
            code = self._plain[(mode, source)] = compile(ast.fix_missing_locations(tree), "<string>", mode)
        return code

    def evaluate(self, expression: str, context: Any, external_context: Any = None) -> Any:
        names = ChainMap(context, cast(dict[str, Any], external_context)) if external_context else context
        return eval(self._code(expression, "eval"), self._scope, names)

    def execute(self, script: str, context: Any, external_context: Any = None) -> bool:
        external = dict(external_context or {})
        self.check_for_overwrite(context, external)
        names = ChainMap(context, external) if external else context
        try:
            exec(self._code(script, "exec"), self._scope, names)
        finally:
            self._remove_globals_and_functions_from_context(context, external)
        return True

CASES: list[tuple[str, str, str]] = [
    ("condition", "eval", 'decision == "approve"'),
    ("amount check", "eval",
     'decision == "approve" and award_amount_fen is not None and 0 < award_amount_fen <= cap_fen'),
    ("membership", "eval", 'level in ("national", "province") and len(honours) > 0'),
    ("script", "exec", "share = award_amount_fen * 30 // 100\nrest = award_amount_fen - share"),
    ("display", "eval", "sorted([cap_fen, award_amount_fen, 100]) + [len(honours)]"),
]
DATA = {"decision": "approve", "award_amount_fen": 300_000_00, "cap_fen": 500_000_00, "level": "province",
        "honours": ["a", "b"]}


def _time(run: Any, rounds: int) -> float:
    samples = []
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(rounds):
            run()
        samples.append((time.perf_counter() - start) / rounds * 1e6)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=20_000)
    rounds = parser.parse_args().rounds
    env, plain = RestrictedEnvironment(), Unbudgeted()
    print(f"{'expression':14} {'budgeted µs':>12} {'baseline µs':>12} {'ratio':>7}")
    for name, mode, source in CASES:
        if mode == "eval":
            budgeted = _time(lambda: env.evaluate(source, dict(DATA)), rounds)  # noqa: B023
            baseline = _time(lambda: plain.evaluate(source, dict(DATA)), rounds)  # noqa: B023
        else:
            budgeted = _time(lambda: env.execute(source, dict(DATA)), rounds)  # noqa: B023
            baseline = _time(lambda: plain.execute(source, dict(DATA)), rounds)  # noqa: B023
        print(f"{name:14} {budgeted:12.2f} {baseline:12.2f} {budgeted / baseline:7.2f}")

if __name__ == "__main__":
    main()
