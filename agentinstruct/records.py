"""The record schema of a generated dataset, and the failures table beside it."""

from __future__ import annotations

import json
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
    "tools",
    "execution",
    "written_by_code",
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
        "messages": [_turn(message) for message in sample.messages],
        "context": sample.context,
        # JSON text, as TRL's SFT trainer accepts it: one Parquet column cannot hold every skill's schemas as structs.
        "tools": json.dumps(sample.tools, ensure_ascii=False) if sample.tools else None,
        "execution": _execution(sample.execution),
        # So a user can tell (and filter) what no model wrote: answers made from a seed's code, templated turns, ...
        "written_by_code": list(sample.written_by_code),
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


TURN_KEYS = ("role", "content", "tool_calls", "tool_call_id", "name")
EXECUTION_KEYS = ("verified", "command", "exit_code", "tests_passed", "tests_failed", "output", "detail")


def _turn(message: dict) -> dict:
    """A turn in the record's one schema: OpenAI's `role`/`content`, and `tool_calls` (arguments as JSON text),
    `tool_call_id` and `name` where the turn has them."""
    unknown = set(message) - set(TURN_KEYS)
    if unknown:
        raise ValueError(f"a message has keys outside the record schema: {sorted(unknown)}")
    turn = {key: message.get(key) for key in TURN_KEYS}
    if turn["tool_calls"]:
        turn["tool_calls"] = [
            {
                "id": str(call["id"]),
                "type": call.get("type", "function"),
                "function": {
                    "name": str(call["function"]["name"]),
                    "arguments": _arguments(call["function"].get("arguments")),
                },
            }
            for call in turn["tool_calls"]
        ]
    return turn


def _arguments(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value if value is not None else {}, ensure_ascii=False)


def _execution(execution: dict | None) -> dict | None:
    """The sandbox outcome kept with a code record (`execution` column), in its fixed shape."""
    if not execution:
        return None
    unknown = set(execution) - set(EXECUTION_KEYS)
    if unknown:
        raise ValueError(f"an execution outcome has keys outside the record schema: {sorted(unknown)}")
    return {key: execution.get(key) for key in EXECUTION_KEYS}


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
