"""Content Transformation Flow: rewrite a raw seed into a form that makes good instructions easy to write."""

import dspy


class TransformContent(dspy.Signature):
    """Rewrite the text in another form, keeping every fact (names, numbers, dates) so it stays answerable."""

    text: str = dspy.InputField(desc="The raw seed text.")
    transformed: str = dspy.OutputField(desc="The rewritten text: a complete, self-contained piece, same facts.")
