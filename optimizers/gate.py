"""Never worse: a compiled program replaces the uncompiled one only when it measurably wins.

Both programs run on the same dev examples (carved from the train seeds; the held-out seeds stay unseen). The win is
measured as the difference of validator pass rates with a 95% interval from a paired bootstrap over the examples (a
seed and draw is one example; both programs see the same ones), and it counts only when

- the interval's lower bound is above zero, and
- the compiled program's Vendi score and instruction-type entropy stay at least `DIVERSITY_FLOOR` of the baseline's
  (a program that wins by writing one kind of pair is not better data), both measured at the same number of pairs
  a side (`optimizers.compile.at_equal_size`: they grow with the pair count).

Why an interval and not a fixed margin: on the embedded model five compiles of the same program moved the held-out
pass rate between 35% and 49% on 24 pairs; noise of that size depends on how many pairs were scored, and the
bootstrap measures it on the run's own examples instead of guessing it once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

DIVERSITY_FLOOR = 0.9
RESAMPLES = 2000
Example = tuple[Any, Any]


@dataclass
class Comparison:
    """`compiled - baseline` validator pass rate over the same examples, with a paired 95% bootstrap interval."""

    baseline: float
    compiled: float
    difference: float
    low: float
    high: float
    examples: int
    baseline_pairs: int
    compiled_pairs: int

    def as_metrics(self, prefix: str) -> dict[str, float]:
        return {f"{prefix}_{k}": float(v) for k, v in asdict(self).items()}

    def describe(self) -> str:
        return (
            f"{self.compiled:.1%} vs {self.baseline:.1%}: {self.difference:+.1%} "
            f"(95% interval {self.low:+.1%} to {self.high:+.1%}, {self.examples} seed-draws)"
        )


@dataclass
class Decision:
    kept: bool
    reason: str
    comparison: Comparison


def _per_example(rows: Sequence[dict[str, Any]]) -> dict[Example, tuple[int, int]]:
    """(pairs, passed) per (seed_id, draw); a failed stage row counts no pair (the unit wrote less)."""
    counts: dict[Example, list[int]] = {}
    for row in rows:
        pair = counts.setdefault((row["seed_id"], row["draw"]), [0, 0])
        if "failed_stage" not in row:
            pair[0] += 1
            pair[1] += bool(row["passed"])
    return {key: (pairs, passed) for key, (pairs, passed) in counts.items()}


def compare(
    baseline_rows: Sequence[dict[str, Any]], compiled_rows: Sequence[dict[str, Any]], *, seed: int = 0
) -> Comparison:
    """Pass rates (passed pairs / pairs) of both programs and the paired bootstrap interval of their difference."""
    import numpy as np

    before, after = _per_example(baseline_rows), _per_example(compiled_rows)
    keys = sorted(set(before) | set(after), key=repr)
    table = np.array([(*before.get(k, (0, 0)), *after.get(k, (0, 0))) for k in keys], dtype=float).reshape(-1, 4)

    def rates(rows: Any) -> tuple[Any, Any]:
        sums = rows.sum(axis=-2)
        with np.errstate(divide="ignore", invalid="ignore"):
            return (
                np.where(sums[..., 0] > 0, sums[..., 1] / sums[..., 0], 0.0),
                np.where(sums[..., 2] > 0, sums[..., 3] / sums[..., 2], 0.0),
            )

    base, comp = rates(table)
    if len(keys) == 0:
        return Comparison(0.0, 0.0, 0.0, 0.0, 0.0, 0, 0, 0)
    picks = np.random.default_rng(seed).integers(0, len(keys), size=(RESAMPLES, len(keys)))
    boot_base, boot_comp = rates(table[picks])
    low, high = np.percentile(boot_comp - boot_base, [2.5, 97.5])
    return Comparison(
        baseline=round(float(base), 4),
        compiled=round(float(comp), 4),
        difference=round(float(comp - base), 4),
        low=round(float(low), 4),
        high=round(float(high), 4),
        examples=len(keys),
        baseline_pairs=int(table[:, 0].sum()),
        compiled_pairs=int(table[:, 2].sum()),
    )


def decide(baseline: Any, compiled: Any, *, changed: bool, finished: bool, seed: int = 0) -> Decision:
    """Whether the compiled program (its dev `Evaluation`) replaces the baseline's, and why, in one line."""
    comparison = compare(baseline.rows, compiled.rows, seed=seed)
    if not finished:
        return Decision(False, "the optimizer did not finish within the budget", comparison)
    if not changed:
        return Decision(False, "the optimizer changed nothing (no demos, no new instructions)", comparison)
    if comparison.low <= 0:
        return Decision(False, f"no measurable win on the dev seeds: {comparison.describe()}", comparison)
    for name in ("vendi_score", "instruction_type_entropy"):
        before, after = getattr(baseline, name), getattr(compiled, name)
        if before and after < DIVERSITY_FLOOR * before:
            return Decision(
                False,
                f"it won on pass rate but lost diversity: {name} {after:.2f} < {DIVERSITY_FLOOR} x {before:.2f}",
                comparison,
            )
    return Decision(True, f"it wins on the dev seeds: {comparison.describe()}", comparison)
