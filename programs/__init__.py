"""DSPy modules of the AgentInstruct flows and the per-skill pipeline that composes them."""

from agentinstruct.programs.instruction import InstructionGeneration, split_instructions
from agentinstruct.programs.pipeline import AgentInstructPipeline, Plan, Sample, StageFailure
from agentinstruct.programs.refinement import Refinement
from agentinstruct.programs.response import Response
from agentinstruct.programs.skills import Skill, get_skill, skill_names
from agentinstruct.programs.starter import StarterPredict
from agentinstruct.programs.transformation import ContentTransformation

__all__ = [
    "AgentInstructPipeline",
    "ContentTransformation",
    "InstructionGeneration",
    "Plan",
    "Sample",
    "Refinement",
    "Response",
    "Skill",
    "StageFailure",
    "StarterPredict",
    "get_skill",
    "skill_names",
    "split_instructions",
]
