"""Validators of the retrieval-augmented generation skill: a question over numbered retrieved passages, answered with
citations ("[2]") of the passages that support it, or, when the relevant passage was withheld, an answer that says
the passages do not hold it and cites nothing.

The user turn holds the passages ("[1] ...", "[2] ...", a blank line apart) and then the question; the record keeps
the relevant source apart (`context`, the view's `passage`). A shown passage taken from that source is *relevant*;
the others were retrieved from other seeds (distractors). An item none of whose passages is relevant is an
*unanswerable* one. Citations are checked against the passage they name: it must exist, and it must share the cited
statement's content words and figures. The answer's claims are checked against the relevant source, as reading
comprehension checks them (citation markers set aside).
"""

from __future__ import annotations

import re
from dataclasses import replace
from functools import partial

from agentinstruct.metrics.grounding import STEM_KEY_LENGTH, content_stems, numbers, stem
from agentinstruct.metrics.text import PairView, retrieved_passages
from agentinstruct.metrics.validators import (
    Validator,
    answers_the_question,
    constraint_violated,
    contradicts_passage,
    copied_share,
    copies_demo,
    copies_passage,
    invented_details,
    malformed_instruction,
    misplaced_fact,
    no_question,
    off_topic,
    says_passage_is_silent,
    unsupported_statement,
)

_CITATION = re.compile(r"\s*\[(\d+(?:\s*,\s*\d+)*)\]")
_NONE_OF_THEM = re.compile(
    r"\bnone of (?:the|these|those) (?:retrieved |given |provided )?passages\b|\bnot (?:in|among) (?:the|these|any of "
    r"the) (?:retrieved |given )?passages\b|\bthe passages (?:do not|don['’]t) (?:contain|hold|include|give|say)\b",
    re.IGNORECASE,
)
_META_STEMS = frozenset(
    stem(word)[:STEM_KEY_LENGTH]
    for word in re.findall(
        r"\w+",
        "passage passages text retrieved states stated says according answer question mentions mentioned source "
        "sources shows given yes true false correct",
    )
)
RELEVANT_SHARE = 0.9
"""A shown passage whose word 4-grams are this much in the record's source was taken from it."""


def citations(text: str) -> list[int]:
    """The passage numbers a text cites, in order ("[2]", "[1, 3]", "[2][4]")."""
    return [int(number) for match in _CITATION.finditer(text) for number in match.group(1).split(",")]


def strip_citations(text: str) -> str:
    """The text without its citation markers."""
    return _CITATION.sub("", text).strip()


def cited_statements(answer: str) -> list[tuple[str, list[int]]]:
    """Each statement (sentence or line) of an answer without its markers, with the passage numbers it cites; a
    marker standing alone after a sentence ("... 1889. [2]") belongs to that sentence."""
    found: list[tuple[str, list[int]]] = []
    for part in re.split(r"(?<=[.!?])\s+|\n+", answer.strip()):
        cited, bare = citations(part), strip_citations(part)
        if not bare.strip(" .;:,") and found:
            found[-1][1].extend(cited)
        elif part.strip():
            found.append((bare, cited))
    return found


def evidence(text: str) -> set[str]:
    """What a statement claims, for matching it to a passage: its content stems (words about passages and answers
    left out) and its figures."""
    return (content_stems(text) - _META_STEMS) | {f"#{value:g}" for value in numbers(text)}


def supports(passage: str, statement: str) -> bool:
    """Whether `passage` holds the content of `statement`: at least two of its stems and figures (all, when it has
    fewer) and at least 40% of them. A statement with nothing to check ("Yes.") is supported."""
    claimed = evidence(statement)
    if not claimed:
        return True
    shared = len(claimed & evidence(passage))
    return shared >= min(2, len(claimed)) and shared >= 0.4 * len(claimed)


def says_not_contained(response: str) -> bool:
    """Whether a response says the passages do not hold the answer."""
    return says_passage_is_silent(response) or bool(_NONE_OF_THEM.search(response))


def shown_passages(view: PairView) -> tuple[list[str], set[int]] | None:
    """The passages of the record's user turn and the numbers of those taken from its source, or None when the user
    turn holds no numbered passages."""
    user = next((m.get("content") for m in reversed(view.messages) if m.get("role") == "user"), None)
    parsed = retrieved_passages(user or "")
    if parsed is None:
        return None
    passages = parsed[0]
    relevant = {n for n, text in enumerate(passages, start=1) if _taken_from(text, view.passage)}
    return passages, relevant


def _taken_from(passage: str, source: str) -> bool:
    flat = " ".join(passage.split())
    return bool(source) and (flat in " ".join(source.split()) or copied_share(passage, source) >= RELEVANT_SHARE)


def _no_passages(view: PairView) -> str | None:
    if shown_passages(view) is None:
        return "the user turn holds no numbered passages ('[1] ...', a blank line apart) before its question"
    return None


def _citation_out_of_range(view: PairView) -> str | None:
    shown = shown_passages(view)
    if shown is None:
        return None
    count = len(shown[0])
    wrong = [n for n in citations(view.response) if not 1 <= n <= count]
    if wrong:
        return f"the answer cites [{wrong[0]}], but there are only {count} passages"
    return None


def _unanswerable(view: PairView) -> str | None:
    """An item whose relevant passage was withheld: the answer must say the passages do not hold the answer, cite
    nothing, and no shown passage may plainly hold it."""
    shown = shown_passages(view)
    if shown is None or shown[1]:
        return None
    passages = shown[0]
    cited = citations(view.response)
    if cited:
        return f"no passage holds the answer, yet the answer cites [{cited[0]}]"
    if not says_not_contained(view.response):
        return "no passage holds the answer, yet the answer does not say that the passages do not contain it"
    asked = content_stems(view.instruction) - _META_STEMS
    for number, passage in enumerate(passages, start=1):
        covered = asked & content_stems(passage)
        if len(asked) >= 3 and len(covered) >= 0.8 * len(asked):
            return f"the item says no passage holds the answer, but passage [{number}] may: it covers the question"
    return None


def _uncited(view: PairView) -> str | None:
    shown = shown_passages(view)
    if shown is None or not shown[1]:
        return None
    if says_not_contained(view.response):
        return f"passage [{min(shown[1])}] holds the answer, yet the answer says the passages do not"
    if not citations(view.response):
        return "the answer cites no passage"
    return None


def _unsupported_citation(view: PairView) -> str | None:
    """Every cited passage must hold what the statement citing it says; at least one must be a relevant one."""
    shown = shown_passages(view)
    if shown is None:
        return None
    passages, relevant = shown
    cited_all: set[int] = set()
    for statement, cited in cited_statements(view.response):
        for number in cited:
            if not 1 <= number <= len(passages):
                continue  # out of range: its own validator says so
            cited_all.add(number)
            if not supports(passages[number - 1], statement):
                return f"passage [{number}] does not support '{statement[:80]}'"
    if relevant and cited_all and not cited_all & relevant:
        shown_numbers = ", ".join(f"[{n}]" for n in sorted(cited_all))
        return f"the answer cites only {shown_numbers}, retrieved from other sources, not the passage with the answer"
    return None


_POINTS_AT = re.compile(r"\b(?:this|these|those)\s+(?!passages?\b|ones?\b)([a-z]+)\b|\b(?:he|she|him|his|her)\b", re.I)


def _unnamed_subject(view: PairView) -> str | None:
    """The question points at "this orchard" or "she" without naming anything: over passages from several sources
    it has no referent."""
    from agentinstruct.metrics.grounding import entity_words

    match = _POINTS_AT.search(view.instruction)
    if match and not entity_words(view.instruction):
        return f"the question says '{match.group(0)}' without naming it, over passages from several sources"
    return None


def _repeats_demo(view: PairView) -> str | None:
    """The relevant passage carries sentences of the skill's worked example (a small model continues the demo into
    its rewrite of the seed), which the user turn would then show as a source."""
    from agentinstruct.metrics.validators import _demo_ngrams, _ngrams, words

    shared = _ngrams(words(view.passage), 5) & _demo_ngrams("rag")
    if len(shared) >= 4:
        return f"the passage repeats the skill's worked example ('{' '.join(sorted(shared)[0])} ...')"
    return None


def _on_answer(check, view: PairView) -> str | None:
    """`check` on the answer without its citation markers (their numbers are no figures), for answerable items: an
    unanswerable item's source was withheld, so the answer cannot be held to it."""
    shown = shown_passages(view)
    if shown is not None and not shown[1]:
        return None
    return check(replace(view, response=strip_citations(view.response)))


def _answer_check(check) -> partial:
    return partial(_on_answer, check)


VALIDATORS: tuple[Validator, ...] = (
    Validator("no_passages", _no_passages),
    Validator("no_question", no_question),
    Validator("malformed_instruction", malformed_instruction),
    Validator("copies_demo", partial(copies_demo, skill="rag")),
    Validator("repeats_demo", _repeats_demo),
    Validator("unnamed_subject", _unnamed_subject),
    Validator("off_topic", off_topic, partial(off_topic, min_share=0.5)),
    Validator("citation_out_of_range", _citation_out_of_range),
    Validator("unanswerable_answered", _unanswerable),
    Validator("uncited", _uncited),
    Validator("unsupported_citation", _unsupported_citation),
    Validator("copies_passage", _answer_check(copies_passage)),
    Validator("invented_details", _answer_check(invented_details)),
    Validator("misplaced_fact", _answer_check(misplaced_fact)),
    Validator(
        "unsupported_statement",
        _answer_check(unsupported_statement),
        _answer_check(partial(unsupported_statement, min_support=0.6, min_stems=3)),
    ),
    Validator("contradicts_passage", _answer_check(contradicts_passage)),
    Validator("unanswered", _answer_check(answers_the_question)),
    Validator("constraint_violated", _answer_check(constraint_violated)),
)
