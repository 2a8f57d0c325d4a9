"""Building, running and evaluating DSPy optimizers over a skill's pipeline; saving and loading compiled programs."""

from agentinstruct.optimizers.programs import load_program, program_id, program_state, save_program

__all__ = ["load_program", "program_id", "program_state", "save_program"]
