"""The coding skill's responder signatures: one short field each, so a small model writes one thing at a time (the
code, the test lines, the explanation) and Python assembles, runs and checks the answer."""

import dspy


class WriteCode(dspy.Signature):
    """Write the code the task asks for, as one complete file in the given language that runs on its own. Write only
    code: no tests, no explanation."""

    source: str = dspy.InputField(desc="The code or the description the task is about.")
    task: str = dspy.InputField(desc="What to do.")
    language: str = dspy.InputField(desc="The language to write: python or javascript.")
    code: str = dspy.OutputField(desc="The whole file of code, nothing else.")


class WritePythonTests(dspy.Signature):
    """Write two to four tests of the code, one assert per line, each calling the code with a concrete input and
    checking the exact result. A line that sets something up may come before its assert."""

    task: str = dspy.InputField(desc="The task the code answers.")
    code: str = dspy.InputField(desc="The Python code under test.")
    asserts: str = dspy.OutputField(desc="Two to four lines such as: assert add(2, 3) == 5")


class WriteJavaScriptTests(dspy.Signature):
    """Write two to four tests of the code, one assert per line, each calling the code with a concrete input and
    checking the exact result. A line that sets something up may come before its assert."""

    task: str = dspy.InputField(desc="The task the code answers.")
    code: str = dspy.InputField(desc="The JavaScript code under test.")
    asserts: str = dspy.OutputField(desc="Two to four lines such as: assert.deepStrictEqual(add(2, 3), 5);")


class ExplainCode(dspy.Signature):
    """In one to three sentences, say what the code does and how it answers the task."""

    task: str = dspy.InputField(desc="The task the code answers.")
    code: str = dspy.InputField(desc="The code of the answer.")
    explanation: str = dspy.OutputField(desc="One to three plain sentences, no code block.")
