"""The conversation skill's responder: a follow-up conversation about a text, written one turn at a time.

The assistant answers the current question from the text (`AnswerTurn`); then a user simulator writes the next
question on that answer, the way the conversation's kind follows up (`FollowUpQuestion`, the kind's `answer_format`
in the skill's data file); three exchanges by default. Each predictor asks for one short field, so the embedded
270M model can write it; this module assembles the turns, cleans what the model adds around a turn (labels, a turn
it invents for the other side) and retries a follow-up that does not build on the answer or repeats a question; when
every sample fails, the user's turn quotes the answer and asks about it (`quoted_follow_up`: a user turn is the
simulator's, not what a model trained on the record learns to say; every assistant turn stays the model's). A
conversation that still cannot be made raises `InvalidOutput` with why.

The first user turn holds the text, a blank line, then the opening question (the record also keeps the text in its
`context`, which grounds every answer when it is scored).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import dspy

from agentinstruct.programs.starter import StarterPredict
from agentinstruct.signatures.conversation import AnswerTurn, FollowUpQuestion

DEFAULT_EXCHANGES = 3
FOLLOW_UP_ATTEMPTS = 3
"""Samples of a follow-up question (each with its own seed) before the conversation fails."""
ANSWER_ATTEMPTS = 2
"""Samples of an answer before the conversation fails."""
GENERIC_FOLLOW_UP = "Each follow-up takes something the last answer said and asks more about it."
"""How a conversation follows up when its kind is not known (a responder called without `instruction_type`)."""
NO_CONVERSATION_YET = "(none yet)"
MAX_ANSWER_CHARS = 1200
EXCERPT_SENTENCES = 6
"""The assistant answers from this many of the text's sentences, those most about the question."""
EXCERPT_MIN_CHARS = 700
"""A text this short is given whole."""

_TURN_LABEL = re.compile(r"^\s*(?:\*\*)?(user|assistant|question|answer|follow-?up|q|a)\s*\d*\s*(?:\*\*)?\s*:\s*", re.I)
_NEW_TURN = re.compile(r"^\s*(?:\*\*)?(?:user|question|follow-?up|q)\s*\d*\s*(?:\*\*)?\s*:", re.I | re.M)
_LIST_MARKER = re.compile(r"^\s*(?:[-*\u2022]|\d+[.)])\s*")
_SENTENCE_END = re.compile(r"[.!?)\"”']\s")


@dataclass(frozen=True)
class DemoConversation:
    """A worked conversation of the skill's data file: its kind's follow-up pattern and its (question, answer)s."""

    how_to_follow_up: str
    exchanges: tuple[tuple[str, str], ...]


def parse_transcript(first_question: str, transcript: str) -> tuple[tuple[str, str], ...]:
    """The exchanges of a written conversation: the first answer, then 'User: ...' and 'Assistant: ...' lines."""
    exchanges, question, answer = [], first_question.strip(), []
    for line in transcript.strip().splitlines():
        label = _TURN_LABEL.match(line)
        role = label.group(1).lower() if label else None
        text = line[label.end() :].strip() if label else line.strip()
        if role in ("user", "question", "follow-up", "followup", "q"):
            exchanges.append((question, "\n".join(answer).strip()))
            question, answer = text, []
        else:
            answer.append(text)
    exchanges.append((question, "\n".join(answer).strip()))
    return tuple(exchanges)


def follow_up_pattern(instruction: str) -> str:
    """A kind's follow-up pattern: its `answer_format` (what follows 'Answer format:' in the type's instruction)."""
    _, separator, pattern = instruction.partition("Answer format:")
    return pattern.strip() if separator and pattern.strip() else GENERIC_FOLLOW_UP


def excerpt(passage: str, question: str, previous_answer: str = "", limit: int = EXCERPT_SENTENCES) -> str:
    """The lines of the text a question is about, in the text's order: the `limit` sentences sharing the most content
    words with the question (then with the answer it follows up); the whole text when it is short. A small model
    answers from a few relevant sentences far more faithfully than from a long text."""
    from agentinstruct.metrics.grounding import content_stems, sentences

    found = list(sentences(passage))
    if len(passage) <= EXCERPT_MIN_CHARS or len(found) <= limit:
        return passage
    asked, before = content_stems(question), content_stems(previous_answer)
    scores = [2 * len(asked & content_stems(s)) + len(before & content_stems(s)) for s in found]
    if not any(scores):
        return "\n".join(found[:limit])
    ranked = sorted(range(len(found)), key=lambda i: (-scores[i], i))[:limit]
    return "\n".join(found[i] for i in sorted(ranked))


def transcript(turns: list[dict]) -> str:
    """The conversation so far as the turn writers read it."""
    lines = [f"{'User' if m['role'] == 'user' else 'Assistant'}: {' '.join(m['content'].split())}" for m in turns]
    return "\n".join(lines) or NO_CONVERSATION_YET


def clean_answer(text: str) -> str:
    """The assistant's turn without a label before it and without a user turn the model went on to write."""
    text = _TURN_LABEL.sub("", text.strip(), count=1) if _starts_with_answer_label(text) else text.strip()
    cut = _NEW_TURN.search(text)
    if cut:
        text = text[: cut.start()]
    text = text.strip()
    if len(text) > MAX_ANSWER_CHARS:
        ends = [m.start() + 1 for m in _SENTENCE_END.finditer(text[:MAX_ANSWER_CHARS])]
        text = text[: ends[-1]] if ends else text[:MAX_ANSWER_CHARS]
    return text.strip()


def _starts_with_answer_label(text: str) -> bool:
    label = _TURN_LABEL.match(text)
    return bool(label) and label.group(1).lower() in ("assistant", "answer", "a")


def clean_question(text: str) -> str:
    """The user's next question: the first line that asks something, without a label or list marker, and without
    what follows its question mark."""
    from agentinstruct.metrics.validators import asks_something

    for line in text.strip().splitlines():
        line = _TURN_LABEL.sub("", _LIST_MARKER.sub("", line.strip(), count=1), count=1)
        line = _LIST_MARKER.sub("", line, count=1).strip().strip('"').strip()
        if "?" in line:
            line = line[: line.index("?") + 1]
        if line and asks_something(line):
            return line
    return ""


_CLAUSE = re.compile(r"[^,;:.!?()\"“”]+")
_MARKUP = re.compile(r"<[^>]{1,20}>|[*_`#]+")
QUOTE_WORDS = 8
"""The most words of the last answer a quoted follow-up repeats."""


def quoted_follow_up(previous_question: str, previous_answer: str, pattern: str = GENERIC_FOLLOW_UP) -> str:
    """A follow-up that quotes the part of the last answer the question before did not ask about, then asks about it
    the way the conversation's kind follows up (why, what if, which details, or more about it); '' when the answer
    says nothing new."""
    from agentinstruct.metrics.grounding import content_stems
    from agentinstruct.metrics.skills.conversation import NOT_A_LINK

    new = content_stems(previous_answer) - content_stems(previous_question) - NOT_A_LINK
    clauses = [" ".join(part.split()) for part in _CLAUSE.findall(previous_answer)]
    scored = [(len(content_stems(clause) & new), -index, clause) for index, clause in enumerate(clauses)]
    best = max(scored, default=(0, 0, ""))
    if not best[0]:
        return ""
    phrase = " ".join(_MARKUP.sub(" ", best[2]).strip(" -*\u2022'`").split()[:QUOTE_WORDS])
    how = pattern.lower()
    if "why" in how:
        ask = "Why is that?"
    elif "what would happen if" in how or "were different" in how:
        ask = "What would change if that were different?"
    elif "details" in how:
        ask = "What are the details of that?"
    elif "doubts" in how or "check it" in how:
        ask = "Are you sure about that?"
    else:
        ask = "Can you tell me more about that?"
    return f'You said "{phrase}". {ask}'


class Conversation(dspy.Module):
    """Writes a conversation of `exchanges` user–assistant exchanges on a text, opening with `instruction`.

    Args:
        skill: The conversation skill (its response instruction and worked conversations, its kinds' follow-up
            patterns).
        exchanges: How many user–assistant exchanges to write.
    """

    def __init__(self, skill, exchanges: int = DEFAULT_EXCHANGES) -> None:
        super().__init__()
        self.exchanges = exchanges
        self._patterns = {kind.name: follow_up_pattern(kind.instruction) for kind in skill.instruction_types}
        demos = [
            DemoConversation(self._pattern_of_demo(skill, question), parse_transcript(question, answer))
            for question, answer in skill.response_demos
        ]
        self.answer = StarterPredict(
            AnswerTurn.with_instructions(skill.response_instruction), _answer_demos(demos, skill.demo_passage)
        )
        self.follow_up = StarterPredict(FollowUpQuestion, _follow_up_demos(demos))

    def _pattern_of_demo(self, skill, question: str) -> str:
        for kind in skill.instruction_types:
            if question.strip() in kind.demo_instructions.splitlines():
                return self._patterns[kind.name]
        return GENERIC_FOLLOW_UP

    def forward(
        self, passage: str, instruction: str, config: dict | None = None, instruction_type: str | None = None
    ) -> dspy.Prediction:
        from agentinstruct.metrics.skills.conversation import follows_up, same_text

        config = dict(config or {})
        pattern = self._patterns.get(instruction_type or "", GENERIC_FOLLOW_UP)
        passage, question = passage.strip(), instruction.strip()
        turns: list[dict] = []
        templated: list[str] = []
        for index in range(self.exchanges):
            if index:
                question, quoted = self._next_question(passage, turns, pattern, config, follows_up, same_text)
                templated += [f"user turn {index + 1}"] if quoted else []
            answer = self._answer(passage, turns, question, config, same_text)
            turns += [{"role": "user", "content": question}, {"role": "assistant", "content": answer}]
        turns[0] = {"role": "user", "content": f"{passage}\n\n{turns[0]['content']}"}
        return dspy.Prediction(answer=turns[-1]["content"], messages=turns, written_by_code=templated)

    def _answer(self, passage: str, turns: list[dict], question: str, config: dict, same_text) -> str:
        """The assistant's answer from the lines of the text the question is about, resampled while it is empty,
        repeats an earlier answer or is not grounded in the text and the conversation so far."""
        from agentinstruct.metrics.skills.conversation import ungrounded
        from agentinstruct.programs.pipeline import InvalidOutput, attempt_config

        previous_answer = turns[-1]["content"] if turns else ""
        text = excerpt(passage, question, previous_answer)
        earlier = "\n".join([passage, *(m["content"] for m in turns)])
        why = "it is empty"
        for attempt in range(ANSWER_ATTEMPTS):
            raw = self.answer(
                text=text, conversation=transcript(turns), question=question, config=attempt_config(config, attempt)
            ).answer
            answer = clean_answer(raw or "")
            if not answer:
                why = "it is empty"
            elif any(same_text(answer, m["content"], 0.8) for m in turns if m["role"] == "assistant"):
                why = "it repeats an earlier answer"
            else:
                problem = ungrounded(earlier, question, answer)
                if problem is None:
                    return answer
                why = f"it is not grounded in the text: {problem}"
        turn = len(turns) // 2 + 1
        raise InvalidOutput(f"no usable answer to user turn {turn} in {ANSWER_ATTEMPTS} tries; last: {why}")

    def _next_question(
        self, passage: str, turns: list[dict], pattern: str, config: dict, follows_up, same_text
    ) -> tuple[str, bool]:
        """The user simulator's next question on the last answer, resampled while it asks nothing, does not build on
        the answer or repeats an earlier question; and whether it is the templated `quoted_follow_up`."""
        from agentinstruct.programs.pipeline import InvalidOutput, attempt_config

        previous_question, previous_answer = turns[-2]["content"], turns[-1]["content"]
        asked = [m["content"] for m in turns if m["role"] == "user"]
        earlier = "\n".join([passage, *(m["content"] for m in turns)])
        why = "it asks nothing"
        for attempt in range(FOLLOW_UP_ATTEMPTS):
            raw = self.follow_up(
                how_to_follow_up=pattern, previous_answer=previous_answer, config=attempt_config(config, attempt)
            ).follow_up
            question = clean_question(raw or "")
            if not question:
                why = "it asks nothing"
            elif any(same_text(question, earlier_question, 0.8) for earlier_question in asked):
                why = f"it repeats an earlier question: '{question[:80]}'"
            elif not follows_up(question, previous_question, previous_answer, earlier):
                why = f"it does not build on the answer before it: '{question[:80]}'"
            else:
                return question, False
        # The user's turn is the simulator's, not what a model trained on the record learns to say: a question that
        # quotes the answer keeps the conversation going where the small model wrote none that builds on it.
        question = quoted_follow_up(previous_question, previous_answer, pattern)
        if question and not any(same_text(question, earlier_question, 0.8) for earlier_question in asked):
            return question, True
        turn = len(asked) + 1
        raise InvalidOutput(f"no usable follow-up for user turn {turn} in {FOLLOW_UP_ATTEMPTS} tries; last: {why}")


def _answer_demos(demos: list[DemoConversation], demo_source: str) -> list[dspy.Example]:
    """One answer per worked conversation, each at another point of its conversation (the opening, a follow-up, the
    last), so the assistant sees answers with and without a conversation before them."""
    examples = []
    for number, demo in enumerate(demos):
        index = min(number, len(demo.exchanges) - 1)
        turns = []
        for question, answer in demo.exchanges[:index]:
            turns += [{"role": "user", "content": question}, {"role": "assistant", "content": answer}]
        question, answer = demo.exchanges[index]
        text = excerpt(demo_source, question, turns[-1]["content"] if turns else "")
        examples.append(dspy.Example(text=text, conversation=transcript(turns), question=question, answer=answer))
    return examples


def _follow_up_demos(demos: list[DemoConversation]) -> list[dspy.Example]:
    """Every follow-up of every worked conversation, with the question and answer it builds on."""
    return [
        dspy.Example(
            how_to_follow_up=demo.how_to_follow_up,
            previous_answer=previous[1],
            follow_up=current[0],
        )
        for demo in demos
        for previous, current in zip(demo.exchanges, demo.exchanges[1:], strict=False)
    ]
