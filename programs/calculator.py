"""The responder of skills whose answers compute (Fermi estimation, analytical reasoning): the teacher answers with its
arithmetic written out, and every step is recomputed with the calculator tool and corrected where it is wrong.

A 270M model cannot drive a ReAct loop (pick a tool, write its JSON arguments, read the result, go on), but it can
write "20,000 × 2 = 40,000". So the model answers exactly as the plain responder would (same predictor, signature and
demos: compiled programs and optimizers see no difference), and `agentinstruct.calculator.check_arithmetic` does the
tool use deterministically: it finds each written step, calls the calculator on it, replaces a wrong result (and the
later uses of it that are certain), and keeps every call.

What a record carries (`tool_turns`):
- False (the registry's choice): the conversation stays user -> assistant with the corrected answer, and the calls are
  kept in the record's `execution` column (`command`: the expressions, `tests_passed`/`tests_failed`: steps right or
  wrong as the model wrote them, `output`: each call and its value, `verified`: every step now checks out). The calls
  were a check made after the answer was written, not a decision the model took: writing them into the conversation
  would teach a student to call a calculator before every Fermi answer, which needs a calculator at inference, is not
  what the paper's published fermi/analytical_reasoning data looks like (one user and one assistant turn), and would
  make these skills' records multi-turn.
- True: the record is a tool-use conversation TRL can train on: an assistant turn calling `calculator` once per step,
  a `tool` turn with each value, then the final answer, with the calculator's schema in `tools`. For a dataset meant
  to teach calculator use.
"""

from __future__ import annotations

from collections.abc import Sequence

import dspy

from agentinstruct.calculator import CALCULATOR, calculator_schema, check_arithmetic
from agentinstruct.programs.response import Response
from agentinstruct.signatures.skill_data import Wording


class CalculatorResponse(Response):
    """The plain `Response`, then its arithmetic checked and corrected with the calculator tool.

    Args:
        tool_turns: Put the calculator calls into the conversation (tool-use records) instead of only the `execution`
            column.
    """

    def __init__(
        self,
        demos: Sequence[tuple[str, str]],
        demo_source: str,
        wording: Wording,
        instruction: str,
        tool_turns: bool = False,
    ) -> None:
        super().__init__(demos, demo_source, wording, instruction)
        self.tool_turns = tool_turns
        self.calculator = CALCULATOR

    def forward(self, passage: str, instruction: str, config: dict | None = None) -> dspy.Prediction:
        answer = super().forward(passage=passage, instruction=instruction, config=config).answer
        if not isinstance(answer, str) or not answer.strip():
            return dspy.Prediction(answer=answer)  # the pipeline fails the stage as empty_output
        check = check_arithmetic(answer.strip(), question=instruction, tool=self.calculator)
        prediction = dspy.Prediction(answer=check.text, execution=check.execution(), calculator_calls=check.calls)
        if self.tool_turns and check.calls:
            prediction.messages = [*check.tool_turns(), {"role": "assistant", "content": check.text}]
            prediction.tools = [calculator_schema()]
        return prediction


def calculator_responder(skill, tool_turns: bool = False) -> CalculatorResponse:
    """The responder factory for `Behaviour(responder=...)`: the skill's own response instruction and demos."""
    return CalculatorResponse(
        skill.response_demos, skill.demo_passage, skill.wording, skill.response_instruction, tool_turns=tool_turns
    )
