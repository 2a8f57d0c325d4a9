"""Building, running and evaluating DSPy optimizers over a skill's pipeline; saving and loading compiled programs."""

from agentinstruct.optimizers.budget import BudgetedLM, BudgetExhausted, CallBudget
from agentinstruct.optimizers.compile import (
    OPTIMIZERS,
    CompileConfig,
    CompileResult,
    Evaluation,
    build_optimizer,
    compile_program,
    compile_skills,
    evaluate,
    split_seeds,
)
from agentinstruct.optimizers.programs import (
    load_program,
    load_program_state,
    program_id,
    program_metadata,
    program_skills,
    program_state,
    read_program_state,
    save_program,
    save_programs,
)

__all__ = [
    "OPTIMIZERS",
    "BudgetExhausted",
    "BudgetedLM",
    "CallBudget",
    "CompileConfig",
    "CompileResult",
    "Evaluation",
    "build_optimizer",
    "compile_program",
    "compile_skills",
    "evaluate",
    "load_program",
    "load_program_state",
    "program_id",
    "program_metadata",
    "program_skills",
    "program_state",
    "read_program_state",
    "save_program",
    "save_programs",
    "split_seeds",
]
