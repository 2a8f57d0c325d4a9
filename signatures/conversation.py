"""The conversation skill's two turn writers: the assistant answering the latest question from the text, and the
user simulator writing the next question on the assistant's last answer.

Each asks for one short field, so that a small base model can follow it; the responder (`programs/conversation.py`)
assembles the turns. The assistant's instruction is the skill's response instruction (its data file); the user
simulator's is the docstring below, and each call names how the conversation's kind follows up.
"""

import dspy


class AnswerTurn(dspy.Signature):
    """Answer the user's latest question from the text, using the earlier conversation to see what it refers to."""

    text: str = dspy.InputField(desc="The lines of the text the question is about.")
    conversation: str = dspy.InputField(desc="The conversation so far, one 'User:' or 'Assistant:' turn a line.")
    question: str = dspy.InputField(desc="The user's latest question.")
    answer: str = dspy.OutputField(desc="One to three sentences that answer the question from the text.")


class FollowUpQuestion(dspy.Signature):
    """You are the user in a conversation about a text. Write your next question: one short question that builds on
    the assistant's last answer (ask about something it said, or refer to it with 'that' or 'this'), following the
    way this conversation follows up. Ask something new: never repeat an earlier question."""

    how_to_follow_up: str = dspy.InputField(desc="How this conversation's follow-up questions go.")
    previous_answer: str = dspy.InputField(desc="The assistant's last answer.")
    follow_up: str = dspy.OutputField(desc="The user's next question, one line ending with '?'.")
