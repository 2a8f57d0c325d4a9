"""Validators of the conversation skill (the paper's follow_up kind): at least three user–assistant exchanges about a
text, in strict alternation, where every follow-up question builds on the answer before it and every answer comes
from the text.

A record keeps its text in `context` (the first user turn also opens with it); the checks read every turn of
`view.messages`. Whether a follow-up builds on the previous answer is decided mechanically (`follows_up`): it takes a
content word from that answer that the question before did not already have, or it refers back to the answer with a
pronoun or demonstrative ("that", "those", "it", "you said") while staying on the conversation's subject.
"""

from __future__ import annotations

import re
from functools import partial

from agentinstruct.metrics.grounding import content_stems
from agentinstruct.metrics.text import PairView, words
from agentinstruct.metrics.validators import (
    Validator,
    answers_the_question,
    asks_something,
    borrows_demo_topic,
    contradicts_passage,
    copies_demo,
    copies_passage,
    degeneracy,
    invented_details,
    malformed_instruction,
    off_topic,
    unsupported_statement,
)

MIN_EXCHANGES = 3
"""A conversation needs at least this many user–assistant exchanges."""
SAME_QUESTION_OVERLAP = 0.8
"""Two questions whose content stems overlap this much (Jaccard) ask the same thing."""
SAME_ANSWER_OVERLAP = 0.8

_BACK_REFERENCE = re.compile(
    r"\b(?:that|this|those|these|it|they|them|he|she|him|there|then|such|you said|you mentioned|you just|"
    r"your answer|the answer|the same)\b",
    re.IGNORECASE,
)
NOT_A_LINK = content_stems(
    "text passage says said say states mention mentioned tells answer question also else other another more thing "
    "things mean means exactly really example"
)
"""Words that a follow-up shares with any answer without building on it ("What else does the text say?")."""


# --------------------------------------------------------------------------------------------------------------------
# Reading a conversation
# --------------------------------------------------------------------------------------------------------------------


def dialogue(view: PairView) -> list[dict]:
    """The conversation's turns without a leading system message."""
    turns = [dict(message) for message in view.messages]
    while turns and turns[0].get("role") == "system":
        turns.pop(0)
    return turns


def source_and_first_question(first_user: str, context: str) -> tuple[str, str]:
    """The text a conversation is about and its opening question: the first user turn opens with the text (the
    record's `context`), a blank line, then the question; without a context, its last paragraph is the question."""
    first_user, context = first_user.strip(), context.strip()
    if context and first_user.startswith(context):
        return context, first_user[len(context) :].strip()
    passage, separator, question = first_user.rpartition("\n\n")
    return (context or passage.strip(), question.strip()) if separator else (context, first_user)


def exchanges(view: PairView) -> tuple[str, list[tuple[str, str]]]:
    """The source text and the conversation's (question, answer) exchanges, in order, the opening question without
    the text. Turns out of alternation are paired as they come (the alternation check reports them)."""
    turns = dialogue(view)
    users = [(m.get("content") or "").strip() for m in turns if m.get("role") == "user"]
    answers = [(m.get("content") or "").strip() for m in turns if m.get("role") == "assistant"]
    source = view.passage
    if users:
        source, users[0] = source_and_first_question(users[0], view.passage)
    return source, list(zip(users, answers, strict=False))


def follows_up(question: str, previous_question: str, previous_answer: str, earlier: str) -> bool:
    """Whether `question` builds on `previous_answer`: it takes a content word from that answer which the question
    before did not have, or it refers back ("that", "it", "you said") and says nothing foreign to the conversation
    (`earlier`: the text and the turns so far)."""
    asked = content_stems(question) - NOT_A_LINK
    from_answer = content_stems(previous_answer) - content_stems(previous_question) - NOT_A_LINK
    if asked & from_answer:
        return True
    if not _BACK_REFERENCE.search(question):
        return False
    return len(asked) <= 1 or bool(asked & content_stems(earlier))


def same_text(a: str, b: str, overlap: float) -> bool:
    """Whether two turns say the same: the same words, or content stems that overlap at least `overlap`."""
    if words(a) == words(b):
        return True
    first, second = content_stems(a), content_stems(b)
    if len(first) < 2 or len(second) < 2:
        return False
    return len(first & second) / len(first | second) >= overlap


# --------------------------------------------------------------------------------------------------------------------
# The validators
# --------------------------------------------------------------------------------------------------------------------


def _too_few_exchanges(view: PairView) -> str | None:
    roles = [m.get("role") for m in dialogue(view)]
    pairs = min(roles.count("user"), roles.count("assistant"))
    if pairs < MIN_EXCHANGES:
        return f"the conversation has {pairs} exchange(s); it needs at least {MIN_EXCHANGES}"
    return None


def _broken_alternation(view: PairView) -> str | None:
    roles = [m.get("role") for m in dialogue(view)]
    for index, role in enumerate(roles):
        expected = "user" if index % 2 == 0 else "assistant"
        if role != expected:
            return f"turn {index + 1} is '{role}' where '{expected}' should come (user and assistant must alternate)"
    if roles and roles[-1] != "assistant":
        return "the conversation ends on a user turn"
    return None


def _empty_message(view: PairView) -> str | None:
    for index, message in enumerate(dialogue(view)):
        if not (message.get("content") or "").strip():
            return f"turn {index + 1} ({message.get('role')}) is empty"
    return None


def _no_question(view: PairView) -> str | None:
    _, pairs = exchanges(view)
    for index, (question, _) in enumerate(pairs):
        if question and not asks_something(question):
            return f"user turn {index + 1} asks nothing: '{question[:80]}'"
    return None


def _malformed_opening(view: PairView) -> str | None:
    source, pairs = exchanges(view)
    return malformed_instruction(PairView(source, pairs[0][0], pairs[0][1])) if pairs else None


def _copies_demo(view: PairView) -> str | None:
    source, pairs = exchanges(view)
    for question, _ in pairs[:1] or [("", "")]:
        reason = copies_demo(PairView(source, question, ""), skill="conversation")
        if reason:
            return reason
    return None


def _off_topic(view: PairView, min_share: float = 0.25) -> str | None:
    source, pairs = exchanges(view)
    if not pairs:
        return None
    reason = off_topic(PairView(source, pairs[0][0], pairs[0][1]), min_share)
    return f"the opening question: {reason}" if reason else None


def _unlinked_follow_up(view: PairView) -> str | None:
    source, pairs = exchanges(view)
    earlier = source
    for index in range(1, len(pairs)):
        (previous_question, previous_answer), (question, _) = pairs[index - 1], pairs[index]
        earlier += f"\n{previous_question}\n{previous_answer}"
        if question and not follows_up(question, previous_question, previous_answer, earlier):
            return (
                f"user turn {index + 1} does not build on the answer before it (no word taken from it, no "
                f"reference back): '{question[:80]}'"
            )
    return None


def _repeated_question(view: PairView) -> str | None:
    _, pairs = exchanges(view)
    questions = [question for question, _ in pairs]
    for later in range(1, len(questions)):
        for earlier in range(later):
            if same_text(questions[later], questions[earlier], SAME_QUESTION_OVERLAP):
                return f"user turn {later + 1} repeats user turn {earlier + 1}: '{questions[later][:80]}'"
    return None


def _repeated_answer(view: PairView) -> str | None:
    _, pairs = exchanges(view)
    answers = [answer for _, answer in pairs]
    for later in range(1, len(answers)):
        for earlier in range(later):
            if same_text(answers[later], answers[earlier], SAME_ANSWER_OVERLAP):
                return f"assistant turn {later + 1} repeats assistant turn {earlier + 1}"
    return None


def _degenerate_turn(view: PairView) -> str | None:
    _, pairs = exchanges(view)
    for index, (question, answer) in enumerate(pairs):
        for role, text in (("user", question), ("assistant", answer)):
            reason = degeneracy(text)
            if reason:
                return f"{role} turn {index + 1} is degenerate: {reason}"
    return None


def _exchange_views(view: PairView):
    """Each exchange as a pair grounded in the text and the conversation before it (a follow-up may use a figure an
    earlier answer computed)."""
    source, pairs = exchanges(view)
    if not source:
        return
    earlier = source
    for index, (question, answer) in enumerate(pairs):
        yield index, PairView(earlier, question, answer)
        earlier += f"\n{question}\n{answer}"


def ungrounded(earlier: str, question: str, answer: str) -> str | None:
    """Why an answer is not grounded in the text and the conversation before it (`earlier`), or None: it invents
    names or figures, states what the text does not support, contradicts it, or copies a long stretch of it."""
    pair = PairView(earlier, question, answer)
    for check in (invented_details, unsupported_statement, contradicts_passage, copies_passage):
        reason = check(pair)
        if reason:
            return reason
    return None


def _ungrounded_answer(view: PairView) -> str | None:
    for index, pair in _exchange_views(view):
        reason = ungrounded(pair.passage, pair.instruction, pair.response)
        if reason:
            return f"assistant turn {index + 1}: {reason}"
    return None


def _unanswered(view: PairView) -> str | None:
    for index, pair in _exchange_views(view):
        reason = answers_the_question(pair)
        if reason:
            return f"assistant turn {index + 1}: {reason}"
    return None


VALIDATORS: tuple[Validator, ...] = (
    Validator("too_few_exchanges", _too_few_exchanges),
    Validator("broken_alternation", _broken_alternation),
    Validator("empty_message", _empty_message),
    Validator("no_question", _no_question),
    Validator("malformed_instruction", _malformed_opening),
    Validator("copies_demo", _copies_demo),
    Validator("borrows_demo_topic", partial(borrows_demo_topic, skill="conversation")),
    Validator("off_topic", _off_topic, partial(_off_topic, min_share=0.5)),
    Validator("unlinked_follow_up", _unlinked_follow_up),
    Validator("repeated_question", _repeated_question),
    Validator("repeated_answer", _repeated_answer),
    Validator("degenerate_turn", _degenerate_turn),
    Validator("ungrounded_answer", _ungrounded_answer),
    Validator("unanswered", _unanswered),
)
