"""A skill's prompt text, read from its data file (`signatures/skills/<skill>.yaml`) and checked on load.

Everything a skill says to a model lives in that one readable file: its demo source, its content-transformation
agents, its instruction taxonomy (each type: definition, answer format, eligibility, worked demo), its refinement
goals, its responder's instruction and demos, and the wording the shared stage signatures use. Python keeps only
behaviour (validators, responders, how the user turn is built). The file's digest is part of every `program_id`, so
editing a prompt changes the id of every program built from it.

Schema (unknown keys are errors, so a typo never silently drops a prompt):

    name: reading_comprehension
    description: one line
    seed_kinds: [text]                      # text and/or code
    wording: {source: passage, instruction: question, response: answer}
    demo_source: |                          # the text every worked example is written for
    transformations:                        # at least one; `identity` needs no demo and makes no LM call
      - {name, instruction, demo_output}
    instruction_types:                      # each: its agent's definition and two or three demo instructions
      - {name, definition, answer_format, eligible_after: all | [transformation names], demo_instructions: [..]}
    refinement_goals:
      - {name, instruction, edits: instruction | source, demo_instruction, demo_suggestions, demo_revision}
    response:
      instruction: |                        # the responder's task, as its signature docstring
      demos: [{instruction, response}]
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from agentinstruct.signatures.agents import IDENTITY, InstructionType, RefinementGoal, TransformationAgent

SKILLS_DIR = Path(__file__).parent / "skills"
_TOP = {
    "name",
    "description",
    "seed_kinds",
    "wording",
    "demo_source",
    "transformations",
    "instruction_types",
    "refinement_goals",
    "response",
}
_WORDING = {"source", "instruction", "response"}
_TRANSFORMATION = {"name", "instruction", "demo_output"}
_TYPE = {"name", "definition", "answer_format", "eligible_after", "demo_instructions"}
_GOAL = {"name", "instruction", "edits", "demo_instruction", "demo_suggestions", "demo_revision"}
_RESPONSE = {"instruction", "demos"}
_SEED_KINDS = {"text", "code"}


class SkillDataError(ValueError):
    """A skill's data file is missing, unreadable or breaks the schema; the message names the file and the entry."""


@dataclass(frozen=True)
class Wording:
    """The nouns the shared stage signatures use for this skill: what the source is, what an instruction is, what a
    response is ("passage", "question", "answer" for reading comprehension)."""

    source: str
    instruction: str
    response: str


@dataclass(frozen=True)
class SkillData:
    """A skill's prompt text, as its data file holds it (checked)."""

    name: str
    description: str
    seed_kinds: tuple[str, ...]
    wording: Wording
    demo_source: str
    transformations: tuple[TransformationAgent, ...]
    instruction_types: tuple[InstructionType, ...]
    refinement_goals: tuple[RefinementGoal, ...]
    response_instruction: str
    response_demos: tuple[tuple[str, str], ...]
    digest: str
    """SHA-256 (16 hex digits) of the file's bytes."""


def data_path(skill: str) -> Path:
    return SKILLS_DIR / f"{skill}.yaml"


def available_skills() -> list[str]:
    """The skills that have a data file."""
    return sorted(path.stem for path in SKILLS_DIR.glob("*.yaml"))


@lru_cache(maxsize=64)
def load_skill_data(path: Path) -> SkillData:
    """Read and check one skill's data file.

    Raises:
        SkillDataError: The file is missing, not YAML, or breaks the schema (unknown or missing keys, duplicate
            names, an eligibility naming no transformation, an agent without its worked demo).
    """
    import yaml

    try:
        raw = path.read_bytes()
        data = yaml.safe_load(raw)
    except OSError as exc:
        raise SkillDataError(f"cannot read skill data {path}: {exc}") from exc
    except yaml.YAMLError as exc:
        raise SkillDataError(f"skill data {path} is not valid YAML: {exc}") from exc
    where = path.name
    _keys(data, _TOP, _TOP, where)
    if data["name"] != path.stem:
        raise SkillDataError(f"{where}: name '{data['name']}' does not match the file name")
    kinds = tuple(_list(data["seed_kinds"], f"{where}: seed_kinds"))
    if not kinds or not set(kinds) <= _SEED_KINDS:
        raise SkillDataError(f"{where}: seed_kinds must be a non-empty list of {sorted(_SEED_KINDS)}, got {kinds}")
    _keys(data["wording"], _WORDING, _WORDING, f"{where}: wording")

    transformations = []
    for index, entry in enumerate(_list(data["transformations"], f"{where}: transformations")):
        place = f"{where}: transformations[{index}]"
        required = {"name", "instruction"} | (set() if _get(entry, "name") == IDENTITY else {"demo_output"})
        _keys(entry, required, _TRANSFORMATION, place)
        output = entry.get("demo_output") or data["demo_source"]
        transformations.append(TransformationAgent(entry["name"], _text(entry["instruction"]), _text(output)))
    _unique([t.name for t in transformations], f"{where}: transformations")
    transformation_names = {t.name for t in transformations}

    types = []
    for index, entry in enumerate(_list(data["instruction_types"], f"{where}: instruction_types")):
        place = f"{where}: instruction_types[{index}] ({_get(entry, 'name')})"
        _keys(entry, _TYPE - {"eligible_after"}, _TYPE, place)
        eligible = entry.get("eligible_after", "all")
        if eligible == "all":
            eligible = ()
        else:
            eligible = tuple(_list(eligible, f"{place}: eligible_after"))
            unknown = sorted(set(eligible) - transformation_names)
            if unknown:
                raise SkillDataError(f"{place}: eligible_after names no transformation: {', '.join(unknown)}")
        demos = [_text(d) for d in _list(entry["demo_instructions"], f"{place}: demo_instructions")]
        if not demos or any(not d or "\n" in d for d in demos):
            raise SkillDataError(f"{place}: demo_instructions must be one or more one-line instructions")
        instruction = f"{_text(entry['definition'])} Answer format: {_text(entry['answer_format'])}"
        types.append(InstructionType(entry["name"], instruction, "\n".join(demos), eligible))
    _unique([t.name for t in types], f"{where}: instruction_types")
    for transformation in transformation_names:
        if not any(t.eligible_after(transformation) for t in types):
            raise SkillDataError(f"{where}: no instruction type is eligible after transformation '{transformation}'")

    goals = []
    for index, entry in enumerate(_list(data["refinement_goals"], f"{where}: refinement_goals")):
        place = f"{where}: refinement_goals[{index}] ({_get(entry, 'name')})"
        _keys(entry, _GOAL, _GOAL, place)
        if entry["edits"] not in ("instruction", "source"):
            raise SkillDataError(f"{place}: edits must be 'instruction' or 'source', got {entry['edits']!r}")
        goals.append(
            RefinementGoal(
                entry["name"],
                _text(entry["instruction"]),
                "instruction" if entry["edits"] == "instruction" else "passage",
                _text(entry["demo_instruction"]),
                _text(entry["demo_suggestions"]),
                _text(entry["demo_revision"]),
            )
        )
    _unique([g.name for g in goals], f"{where}: refinement_goals")

    response = data["response"]
    _keys(response, _RESPONSE, _RESPONSE, f"{where}: response")
    demos = []
    for index, entry in enumerate(_list(response["demos"], f"{where}: response.demos")):
        _keys(entry, {"instruction", "response"}, {"instruction", "response"}, f"{where}: response.demos[{index}]")
        demos.append((_text(entry["instruction"]), _text(entry["response"])))
    if not demos:
        raise SkillDataError(f"{where}: response.demos needs at least one worked example")

    wording = data["wording"]
    return SkillData(
        name=data["name"],
        description=_text(data["description"]),
        seed_kinds=kinds,
        wording=Wording(*(str(wording[key]) for key in ("source", "instruction", "response"))),
        demo_source=_text(data["demo_source"]),
        transformations=tuple(transformations),
        instruction_types=tuple(types),
        refinement_goals=tuple(goals),
        response_instruction=_text(response["instruction"]),
        response_demos=tuple(demos),
        digest=hashlib.sha256(raw).hexdigest()[:16],
    )


def _text(value: Any) -> str:
    """A prompt string: YAML block scalars keep line breaks; a folded paragraph becomes one line."""
    if not isinstance(value, str):
        raise SkillDataError(f"expected text, got {type(value).__name__}: {value!r}")
    return value.strip()


def _get(entry: Any, key: str) -> Any:
    return entry.get(key) if isinstance(entry, dict) else None


def _list(value: Any, where: str) -> list:
    if not isinstance(value, list):
        raise SkillDataError(f"{where} must be a list")
    return value


def _keys(entry: Any, required: set[str], allowed: set[str], where: str) -> None:
    if not isinstance(entry, dict):
        raise SkillDataError(f"{where} must be a mapping")
    missing, unknown = sorted(required - set(entry)), sorted(set(entry) - allowed)
    if missing:
        raise SkillDataError(f"{where}: missing {', '.join(missing)}")
    if unknown:
        raise SkillDataError(f"{where}: unknown key {', '.join(unknown)}")
    empty = [key for key in required if entry[key] in (None, "", [])]
    if empty:
        raise SkillDataError(f"{where}: empty {', '.join(sorted(empty))}")


def _unique(names: list[str], where: str) -> None:
    seen = {name for name in names if names.count(name) > 1}
    if seen:
        raise SkillDataError(f"{where}: duplicate names {', '.join(sorted(seen))}")
