"""Saving and loading pipeline programs (DSPy JSON state), and the program id recorded on every record."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING

from agentinstruct.errors import UserError

if TYPE_CHECKING:
    from agentinstruct.programs.pipeline import AgentInstructPipeline

SKILL_KEY = "agentinstruct_skill"
METADATA_KEY = "agentinstruct_metadata"
SKILL_DATA_KEY = "agentinstruct_skill_data"
SKILLS_KEY = "agentinstruct_skills"
"""A program file compiled for several skills holds each skill's state (with its metadata) under this key."""


def program_state(program: AgentInstructPipeline) -> dict:
    """The program's DSPy state (every predictor's instructions and demos), tagged with its skill and the digest of
    the skill's data file (its wording, taxonomy and starter demos shape every call but live outside the state)."""
    from agentinstruct.programs import get_skill

    return {
        **program.dump_state(),
        SKILL_KEY: program.skill_name,
        SKILL_DATA_KEY: get_skill(program.skill_name).data.digest,
    }


def program_id(program: AgentInstructPipeline) -> str:
    """First 16 hex digits of the SHA-256 of the program state: the same prompts and demos, the same id."""
    encoded = json.dumps(program_state(program), sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(encoded.encode("utf-8")).hexdigest()[:16]


def save_program(program: AgentInstructPipeline, path: str | Path, metadata: dict | None = None) -> Path:
    """Write the program state as JSON; `metadata` (e.g. the compile run that made it) travels with it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {**program_state(program), METADATA_KEY: metadata or {}}
    path.write_text(json.dumps(state, indent=2, ensure_ascii=False, default=str), encoding="utf-8")
    return path


def save_programs(states: dict[str, dict], path: str | Path) -> Path:
    """Write one program file for several skills: each skill's saved state (`program_state` plus its metadata)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({SKILLS_KEY: states}, indent=2, ensure_ascii=False, default=str), encoding="utf-8")
    return path


def program_skills(path: str | Path) -> list[str]:
    """The skills a program file holds a state for (one for a single-skill file; none if unreadable)."""
    try:
        state = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return []
    if not isinstance(state, dict):
        return []
    if isinstance(state.get(SKILLS_KEY), dict):
        return list(state[SKILLS_KEY])
    return [state[SKILL_KEY]] if isinstance(state.get(SKILL_KEY), str) else []


def program_metadata(path: str | Path, skill: str | None = None) -> dict:
    """The metadata saved with a program (of `skill` in a file of several; empty for a file without any)."""
    try:
        state = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return {}
    if isinstance(state, dict) and isinstance(state.get(SKILLS_KEY), dict):
        state = state[SKILLS_KEY].get(skill, {})
    metadata = state.get(METADATA_KEY) if isinstance(state, dict) else None
    return metadata if isinstance(metadata, dict) else {}


def load_program(program: AgentInstructPipeline, path: str | Path) -> AgentInstructPipeline:
    """Load a saved state into `program` (built for the same skill).

    Raises:
        UserError: The file is missing, not JSON, saved for another skill, or missing predictors.
    """
    return load_program_state(program, read_program_state(path, program.skill_name), str(path))


def read_program_state(path: str | Path, skill: str | None = None) -> dict:
    """The saved state in a program file, as plain JSON data (what a worker process receives); from a file of
    several skills, `skill`'s.

    Raises:
        UserError: The file is missing, not JSON, holds no program state, or none for `skill`.
    """
    path = Path(path)
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise UserError(f"program file does not exist: {path}") from exc
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UserError(f"cannot read program file {path}: {exc}") from exc
    if not isinstance(state, dict):
        raise UserError(f"program file {path} does not hold a program state")
    if isinstance(state.get(SKILLS_KEY), dict):
        states = state[SKILLS_KEY]
        if skill not in states:
            raise UserError(f"program file {path} holds programs for {', '.join(states)}, not for skill '{skill}'")
        return states[skill]
    return state


def load_program_state(program: AgentInstructPipeline, state: dict, source: str = "state") -> AgentInstructPipeline:
    """Load a state read by `read_program_state` into `program` (built for the same skill).

    Raises:
        UserError: The state was saved for another skill, misses predictors, or is corrupt.
    """
    path = source
    saved_for = state.get(SKILL_KEY)
    if saved_for != program.skill_name:
        raise UserError(f"program file {path} was saved for skill '{saved_for}', not '{program.skill_name}'")
    missing = [name for name, _ in program.named_predictors() if name not in state]
    if missing:
        raise UserError(f"program file {path} lacks {len(missing)} predictors of this skill (e.g. {missing[0]})")
    try:
        program.load_state(
            {name: value for name, value in state.items() if name not in (SKILL_KEY, METADATA_KEY, SKILL_DATA_KEY)}
        )
    except Exception as exc:  # DSPy raises KeyError/TypeError/ValueError for malformed predictor state
        raise UserError(f"program file {path} is corrupt: {type(exc).__name__}: {exc}") from exc
    return program
