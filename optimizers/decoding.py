"""`--optimizer decoding`: pick how each pipeline stage samples by the pairs it makes.

Every stage samples at the LM's temperature (0.7 by default), which suits a capable model asked for varied data. A
270M model sampling at 0.7 wanders: its answers add details the passage never gave and drift off the question, the
validators' commonest rejections. Diversity comes mostly from the plan (transformation, instruction types, goals)
and the seeds, not from the sampling of each stage, so a stage may well do better decoding closer to greedy.

Many rejected pairs are lost before the answer: an instruction off its passage, or malformed, fails however it is
answered. Screening instructions (`AgentInstructPipeline.screen_instructions`) is best-of-N sampling with the skill's
instruction-only validators as the reward: such instructions are dropped or sampled again before a refinement or an
answer is spent on them.

This optimizer measures both rather than assuming them. The screen is tried first: it changes no request of an
instruction that passes, so most of its trial comes from DSPy's cache. Then a coordinate search over the stages'
temperatures, last stage first, where each candidate temperature of a stage is run on the train seeds beside the
current program. A candidate is kept when it makes more pairs that pass the validators, at a pass rate no lower.
The response stage goes first in the search because trying it is cheapest: the earlier stages' requests are
unchanged, so they come from DSPy's cache and only the answers are new. When the call budget runs out the search
stops and keeps what it has found. Only the screen and `StageTemperatures` change; every prompt, demo and plan
weight stays.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import dspy

from agentinstruct.optimizers.budget import BudgetExhausted
from agentinstruct.programs.pipeline import STAGES

CANDIDATE_TEMPERATURES = (0.0, 0.3)
"""Tried for each stage beside the LM's own: greedy, and a little sampling."""

SEARCH_ORDER = tuple(reversed(STAGES))
"""Response first: a change there leaves the earlier stages' requests, and their cache entries, as they were."""


@dataclass
class Trial:
    """One program's pairs on the train draws."""

    pairs: int = 0
    passed: int = 0

    @property
    def pass_rate(self) -> float:
        return self.passed / self.pairs if self.pairs else 0.0

    def beats(self, other: Trial) -> bool:
        """More pairs that pass, at a pass rate no lower (a stage that passes more by making fewer does not win)."""
        return self.passed > other.passed and self.pass_rate >= other.pass_rate


class DecodingOptimizer:
    """The instruction screen, then a coordinate search of per-stage sampling temperatures, on the train seeds (see
    the module docstring).

    Args:
        metric: The compile run's `CompositeMetric` (its `last_details` are the per-pair validator results).
        draws: Plans per train seed each candidate is measured on.
        temperatures: Candidate temperatures per stage, beside the LM's own.

    Before the temperatures it tries screening instructions (`AgentInstructPipeline.screen_instructions`, best-of-N
    with the skill's instruction-only validators as the reward) when the skill has such validators.
    """

    TABLE_ARTIFACT = "decoding/trials.json"

    def __init__(self, metric: Any, draws: int, temperatures: Sequence[float] = CANDIDATE_TEMPERATURES) -> None:
        self.metric = metric
        self.draws = draws
        self.temperatures = tuple(temperatures)
        self.table: list[dict[str, Any]] = []
        """Every trial: the stage changed, the candidate's temperature there (None: the LM's own) and whether it
        screens instructions, train pairs, passed, pass rate, and whether kept."""

    def compile(self, student: Any, *, trainset: Sequence[dspy.Example]) -> Any:
        from agentinstruct.optimizers.compile import every_draw

        examples = every_draw(trainset, self.draws)
        self.table = []
        best = student.deepcopy()
        try:
            best_trial = self._trial(best, examples)
            self._record("(start)", best, best_trial, kept=True)
            # Screening first: it changes no request of an instruction that passes, so most of its pairs come from
            # DSPy's cache, and it drops the pairs the metric would reject for their instruction alone.
            screens = any(v.instruction_only for v in best.skill.validators) and not best.screen_instructions
            candidates = [("instruction_generation", None)] if screens else []
            candidates += [(stage, temperature) for stage in SEARCH_ORDER for temperature in self.temperatures]
            for stage, temperature in candidates:
                candidate = best.deepcopy()
                if temperature is None:
                    candidate.screen_instructions = True
                else:
                    candidate.stage_temperatures = best.stage_temperatures.with_stage(stage, temperature)
                trial = self._trial(candidate, examples)
                won = trial.beats(best_trial)
                self._record(stage, candidate, trial, kept=won)
                if won:
                    best, best_trial = candidate, trial
        except BudgetExhausted:
            # What was found within the budget stands; the never-worse gate still decides whether it is kept.
            if not self.table:
                raise
        return best

    def _trial(self, program: Any, examples: Sequence[dspy.Example]) -> Trial:
        """The program's pairs on `examples`.

        Raises:
            BudgetExhausted: The call budget refused some of its calls: those stages failed for want of calls, so
                the trial says nothing about the temperature.
        """
        budget = getattr(dspy.settings.lm, "budget", None)
        refused = budget.refused if budget is not None else 0
        trial = Trial()
        for example in examples:
            prediction = program(**example.inputs())
            self.metric(example, prediction)
            scores, _ = self.metric.last_details
            trial.pairs += len(scores)
            trial.passed += sum(score.passed for score in scores)
        if budget is not None and budget.refused > refused:
            raise BudgetExhausted("the LM-call budget ran out during a trial")
        return trial

    def _record(self, stage: str, program: Any, trial: Trial, *, kept: bool) -> None:
        self.table.append(
            {
                "stage": stage,
                "temperature": program.stage_temperatures.temperatures.get(stage),
                "screen_instructions": program.screen_instructions,
                "train_pairs": trial.pairs,
                "train_passed": trial.passed,
                "pass_rate": round(trial.pass_rate, 4),
                "kept": kept,
            }
        )
