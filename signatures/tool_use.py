"""The tool-use responder's small steps: each asks a model for ONE short field, and Python assembles the conversation.

Choosing the functions takes its instruction from the skill's data file (`response.instruction`); the demos of every
step are derived from the data file's worked conversations (`programs/tool_use.py`).
"""

import dspy


class ChooseFunctions(dspy.Signature):
    """Name the functions to call for the request, in the order to call them, separated by commas."""

    functions: str = dspy.InputField(desc="The available functions, one per line: name(parameters) - what it does.")
    request: str = dspy.InputField(desc="What the user asks for.")
    calls: str = dspy.OutputField(desc="Function names separated by commas, nothing else.")


class FillArgument(dspy.Signature):
    """Give the value of one parameter for the function call, copied from the request or from an earlier result.
    Write 'missing' when neither gives it."""

    request: str = dspy.InputField(desc="What the user asks for.")
    function: str = dspy.InputField(desc="The function being called.")
    earlier: str = dspy.InputField(desc="Calls already made in this conversation and their results, or 'none'.")
    parameter: str = dspy.InputField(desc="The parameter to fill: name (type, required or optional): meaning.")
    value: str = dspy.OutputField(desc="The value only (a number, a word or a short text), or 'missing'.")


class SimulateResult(dspy.Signature):
    """Write the value the function returns for these arguments: short and plausible, with no explanation."""

    function: str = dspy.InputField(desc="The function that was called: name(parameters) - what it does.")
    arguments: str = dspy.InputField(desc="The arguments it was called with, as JSON.")
    result: str = dspy.OutputField(desc="The returned value only.")


class AskForValue(dspy.Signature):
    """Ask the user, in one short question, for the value the function call still needs."""

    request: str = dspy.InputField(desc="What the user asked for.")
    function: str = dspy.InputField(desc="The function that needs the value.")
    parameter: str = dspy.InputField(desc="The missing parameter: name (type, required): meaning.")
    question: str = dspy.OutputField(desc="One question ending with '?'.")


class AnswerFromResults(dspy.Signature):
    """Answer the request in one or two sentences, using the results of the function calls."""

    request: str = dspy.InputField(desc="What the user asked for.")
    results: str = dspy.InputField(desc="Each call made and the value it returned, one per line.")
    answer: str = dspy.OutputField(desc="The answer to the user, stating the returned values.")
