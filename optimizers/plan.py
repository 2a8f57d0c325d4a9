"""`--optimizer plan`: learn how often the pipeline draws each transformation and instruction type.

A 270M model cannot write better demonstrations than the hand-written starters, but it is better at some kinds of
pair than others: some transformations give passages it questions well, some instruction types it answers within
the validators and some it almost never does. This optimizer runs the uncompiled pipeline on the train seeds
(several plans per seed), measures the validator pass rate per transformation and per instruction type, and makes
the program draw the ones that pass more often more often. Only `PlanWeights` change; every prompt and demo stays.

- **Smoothed rates.** A type drawn twice says little, so each rate is the posterior mean under a Beta prior centred
  on the overall pass rate, worth `PRIOR_PAIRS` pairs: `(passed + PRIOR_PAIRS * overall) / (pairs + PRIOR_PAIRS)`.
  A type never drawn keeps the overall rate.
- **Weights.** Among draw distributions with a given entropy, the one with the highest expected pass rate is
  `exp(rate / temperature)` (maximum entropy with a mean constraint). The temperature is the lowest that keeps the
  entropy at `ENTROPY_SHARE` of the uniform draw's, so the data keeps its mix: the never-worse gate rejects a program
  whose instruction-type entropy falls under 0.9x the baseline's, and the realised entropy of a hundred pairs varies
  by a few percent, hence 0.95. No weight falls below `FLOOR` of the uniform share either, so every type stays in
  the mix.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import dspy

PRIOR_PAIRS = 4.0
ENTROPY_SHARE = 0.95
FLOOR = 0.25


@dataclass
class Tally:
    """Pairs made and pairs that passed the validators, per name (a transformation or an instruction type)."""

    pairs: dict[str, int] = field(default_factory=dict)
    passed: dict[str, int] = field(default_factory=dict)

    def add(self, name: str, passed: bool) -> None:
        self.pairs[name] = self.pairs.get(name, 0) + 1
        self.passed[name] = self.passed.get(name, 0) + int(passed)

    def smoothed(self, names: Sequence[str], overall: float) -> dict[str, float]:
        """Each name's posterior mean pass rate under a Beta prior of `PRIOR_PAIRS` pairs at `overall`."""
        return {
            name: (self.passed.get(name, 0) + PRIOR_PAIRS * overall) / (self.pairs.get(name, 0) + PRIOR_PAIRS)
            for name in names
        }


def entropy(probabilities: Sequence[float]) -> float:
    return -sum(p * math.log(p) for p in probabilities if p > 0)


def learned_weights(rates: dict[str, float], entropy_share: float = ENTROPY_SHARE, floor: float = FLOOR) -> dict:
    """Weights (mean 1, so 1 is the uniform draw) that favour high pass rates while the draw's entropy stays at
    least `entropy_share` of the uniform draw's and no weight falls under `floor`."""
    names = list(rates)
    if len(names) < 2 or max(rates.values()) == min(rates.values()):
        return {name: 1.0 for name in names}
    target = entropy_share * math.log(len(names))

    def draw(temperature: float) -> list[float]:
        top = max(rates.values())
        raw = [math.exp((rates[name] - top) / temperature) for name in names]
        return with_floor([value / sum(raw) for value in raw], floor / len(names))

    # Entropy grows with the temperature: bisect (on a log scale) for the lowest one that reaches the target.
    low, high = 1e-4, 1e4
    if entropy(draw(low)) >= target:
        high = low
    for _ in range(100):
        middle = math.sqrt(low * high)
        low, high = (low, middle) if entropy(draw(middle)) >= target else (middle, high)
    return {name: round(p * len(names), 4) for name, p in zip(names, draw(high), strict=True)}


def with_floor(shares: list[float], least: float) -> list[float]:
    """`shares` (summing to 1) with every share at least `least`, the others scaled down to make room."""
    floored: set[int] = set()
    while True:
        room = 1.0 - least * len(floored)
        rest = sum(share for i, share in enumerate(shares) if i not in floored)
        scaled = [least if i in floored else share * room / rest for i, share in enumerate(shares)]
        below = {i for i, share in enumerate(scaled) if share < least} - floored
        if not below:
            return scaled
        floored |= below


class PlanOptimizer:
    """Measures the uncompiled pipeline's pass rates on the train seeds and returns a copy whose plan draws each
    transformation and instruction type in proportion to them (see the module docstring).

    Args:
        metric: The compile run's `CompositeMetric` (its `last_details` are the per-pair validator results).
        draws: Plans per train seed: one seed's draw touches one transformation and two of some 40 types.
    """

    TABLE_ARTIFACT = "plan/weights.json"

    def __init__(self, metric: Any, draws: int) -> None:
        self.metric = metric
        self.draws = draws
        self.table: list[dict[str, Any]] = []
        """Per transformation and instruction type: train pairs, passed, smoothed rate and learned weight."""

    def compile(self, student: Any, *, trainset: Sequence[dspy.Example]) -> Any:
        from agentinstruct.optimizers.compile import every_draw
        from agentinstruct.programs.pipeline import PlanWeights

        skill = student.skill
        transformations, types, overall = Tally(), Tally(), Tally()
        for example in every_draw(trainset, self.draws):
            prediction = student(**example.inputs())
            self.metric(example, prediction)
            scores, _ = self.metric.last_details
            for sample, score in zip(prediction.samples, scores, strict=True):
                transformations.add(sample.transformation, score.passed)
                types.add(sample.instruction_type, score.passed)
                overall.add("all", score.passed)
        pairs = overall.pairs.get("all", 0)
        rate = overall.passed.get("all", 0) / pairs if pairs else 0.0
        groups = {
            "transformation": (transformations, [agent.name for agent in skill.transformations]),
            "instruction_type": (types, [kind.name for kind in skill.instruction_types]),
        }
        weights = {}
        self.table = []
        for group, (tally, names) in groups.items():
            smoothed = tally.smoothed(names, rate)
            weights[group] = learned_weights(smoothed) if pairs else {name: 1.0 for name in names}
            self.table += [
                {
                    "group": group,
                    "name": name,
                    "train_pairs": tally.pairs.get(name, 0),
                    "train_passed": tally.passed.get(name, 0),
                    "smoothed_pass_rate": round(smoothed[name], 4),
                    "weight": weights[group][name],
                }
                for name in names
            ]
        program = student.deepcopy()
        program.plan_weights = PlanWeights(weights["transformation"], weights["instruction_type"])
        return program
