"""The web agent's step predictors: the next action with its rationale, and an action's missing value.

Each asks a small model for one short line; `programs/web_agent.py` checks it against the page and assembles the
tool calls. The step's docstring is replaced by the skill's response instruction (its data file).
"""

import dspy


class NextAction(dspy.Signature):
    """Do the task on the web page one action at a time: say why, then write the next action."""

    page: str = dspy.InputField(desc="The web page as an accessibility tree: one element a line, its id in brackets.")
    task: str = dspy.InputField(desc="What the user wants done on the page.")
    history: str = dspy.InputField(desc="The actions taken so far and what each changed, or 'none'.")
    rationale: str = dspy.OutputField(desc="One short sentence: why the next action helps the task.")
    action: str = dspy.OutputField(
        desc="One action: click [id], type [id] 'text', select [id] 'option', scroll down, or stop 'answer'."
    )


class ActionValue(dspy.Signature):
    """Write what the action needs: the text to type, the option to choose, or the answer that ends the task."""

    page: str = dspy.InputField(desc="The web page as an accessibility tree: one element a line, its id in brackets.")
    task: str = dspy.InputField(desc="What the user wants done on the page.")
    action: str = dspy.InputField(desc="The action that needs a value, such as type [15] or stop.")
    value: str = dspy.OutputField(desc="One short line: the text, the option, or the answer.")
