"""The record schema of a generated dataset, and the failures table beside it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from agentinstruct.programs.pipeline import Sample, StageFailure
from agentinstruct.programs.skills import Skill
from agentinstruct.seeds import Seed

RECORD_COLUMNS = (
    "record_id",
    "messages",
    "context",
    "skill",
    "instruction_type",
    "transformation",
    "refinement_rounds",
    "refinement_goals",
    "seed_id",
    "seed_source",
    "program_id",
    "generator_lm",
    "run_id",
    "created_at",
    "scores",
    "novelty",
)
FAILURE_COLUMNS = (
    "stage",
    "reason",
    "detail",
    "skill",
    "instruction_type",
    "transformation",
    "seed_id",
    "seed_source",
    "draw",
    "program_id",
    "generator_lm",
    "run_id",
    "created_at",
)


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def make_record(sample: Sample, seed: Seed, skill: Skill, *, program_id: str, generator_lm: str, run_id: str) -> dict:
    """One dataset row: chat `messages` (the shape TRL's SFT trainer and orca-agentinstruct-1M use) plus lineage.

    `context` holds the source text the answer is grounded in when the user turn leaves it out (open-domain QA,
    puzzles): not part of the conversation, but what `score` checks the answer against.
    """
    return {
        "messages": sample.messages,
        "context": sample.context,
        "skill": skill.name,
        "instruction_type": sample.instruction_type,
        "transformation": sample.transformation,
        "refinement_rounds": len(sample.refinement_goals),
        "refinement_goals": list(sample.refinement_goals),
        "seed_id": seed.seed_id,
        "seed_source": seed.source,
        "program_id": program_id,
        "generator_lm": generator_lm,
        "run_id": run_id,
        "created_at": now(),
    }


def make_failure(
    failure: StageFailure, seed: Seed, skill: Skill, draw: int, *, program_id: str, generator_lm: str, run_id: str
) -> dict[str, Any]:
    return {
        "stage": failure.stage,
        "reason": failure.reason,
        "detail": failure.detail,
        "skill": skill.name,
        "instruction_type": failure.instruction_type,
        "transformation": failure.transformation,
        "seed_id": seed.seed_id,
        "seed_source": seed.source,
        "draw": draw,
        "program_id": program_id,
        "generator_lm": generator_lm,
        "run_id": run_id,
        "created_at": now(),
    }
