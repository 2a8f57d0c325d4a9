"""Validators of the open-domain QA skill: a self-contained knowledge question (its user turn holds no passage) whose
answer the seed supports.

The user never sees the seed, so a question that points at "the passage" or leans on an unnamed "the study" cannot be
answered, and an answer that quotes "the text" speaks of something the user never saw. The seed still comes with the
record (`PairView.passage`, from the lineage), so the answer's names, figures and statements are checked against it.
"""

import re
from functools import partial

from agentinstruct.metrics.grounding import entity_words
from agentinstruct.metrics.text import PairView, content_words
from agentinstruct.metrics.validators import (
    Validator,
    constraint_violated,
    contradicts_passage,
    copies_demo,
    first_question,
    invented_details,
    malformed_instruction,
    no_question,
    unsupported_statement,
)

# Nouns that can only mean the document a question was written from. "The text of the Magna Carta", "the author of
# Hamlet", "the passage of the Civil Rights Act" name something else: a following "of", "by", ... excuses them.
_DOCUMENT = r"(?:passage|passages|text|texts|excerpt|paragraph|paragraphs|article|extract|transcript|author|writer)"
_NOT_THE_DOCUMENT = r"(?!\s+(?:of|by|from|through|across|between|into|called|named|entitled)\b)"
_REFERS = re.compile(
    rf"\b(?:the|this|that|these|above|given|following|provided|preceding|accompanying)\s+{_DOCUMENT}\b"
    rf"{_NOT_THE_DOCUMENT}"
    r"|\b(?:mentioned|described|stated|discussed|listed|quoted|shown)\s+(?:above|earlier|below)\b"
    r"|\b(?:in|from)\s+the\s+(?:notes|reading|source text|document)\b",
    re.IGNORECASE,
)
# Referents a question may only use once it has named them: "this study", "the town" (which one?). "That" is left
# out: it is more often a conjunction ("Is it true that research shows ...").
_VAGUE_THE = r"(?:study|studies|research|researchers|experiment|survey|report|project|company|town|village|document)"
_VAGUE_THIS = (
    r"(?:study|studies|research|researchers|experiment|survey|report|project|company|town|village|city|team|"
    r"programme|program|festival|author|writer|speaker|document|article|book|film|war|man|woman|person|scientist|"
    r"researcher|plan|policy|event|place|case|incident)"
)
_UNRESOLVED = re.compile(
    rf"\b(?:this|these|those)\s+(?:(?!(?:the|a|an|every|each|most|some|all|many|no)\b)[a-z]+\s+)?"
    rf"(?P<this>{_VAGUE_THIS})\b"
    rf"|\bthe\s+(?P<the>{_VAGUE_THE})\b(?!\s+(?:of|in|at|on|for|by|from|called|named|known)\b)",
    re.IGNORECASE,
)
_NAMED_NEXT = re.compile(r"\s+(?:[A-Z]|[\"'\u201c\u2018])")


def _document_reference(text: str) -> str | None:
    """The first phrase of `text` that points at a source document, unless a name follows ("the author Jane
    Austen")."""
    for match in _REFERS.finditer(text):
        if not _NAMED_NEXT.match(text, match.end()):
            return match.group(0)
    return None


def _refers_to_source(view: PairView) -> str | None:
    """The question points at the document it was written from, which the user never sees: "the passage", "the
    author", "mentioned above", or an unnamed "this study" / "the town" in a question that names nothing."""
    question = view.instruction
    found = _document_reference(question)
    if found:
        return f"the question refers to '{found}', which the user never sees"
    if entity_words(question):
        return None
    for match in _UNRESOLVED.finditer(question):
        noun = (match.group("this") or match.group("the")).lower()
        if match.group("the") or noun not in question[: match.start()].lower():
            return f"the question leans on '{match.group(0)}' without naming it"
    return None


def _answer_refers_to_source(view: PairView) -> str | None:
    """The answer speaks of a passage or notes the user never saw ("the passage says", "the notes do not state")."""
    found = _document_reference(view.response)
    if found:
        return f"the answer refers to '{found}', which the user never sees"
    return None


_PERSON_PRONOUN = re.compile(r"\b(?:he|she|him|his|hers|himself|herself)\b", re.IGNORECASE)
# What a "he" / "she" may point back to inside the question: an indefinite person, or the person asked for ("Which
# scientist ... his law"); "What did he discover?" has neither.
_ANTECEDENT = re.compile(
    r"\b(?:a|an|any|every|each|one|someone|somebody|anyone|person|people|who|whom|whose)\b"
    r"|\b(?:which|what)\s+(?!(?:did|does|do|is|was|were|are|has|had|have|will|would|can|could)\b)\w+",
    re.IGNORECASE,
)
_THING_PRONOUN_SUBJECT = re.compile(
    r"^\W*(?:(?:what|when|where|why|how|who|which|whom|did|does|do|is|was|are|were|can|could|has|have|had|will|would|"
    r"should|much|many|long|often|old|far)\s+){1,3}(?P<pronoun>it|they|this|that|these|those|its|their)\b",
    re.IGNORECASE,
)
_GENERIC = frozenset(
    re.findall(
        r"\w+",
        """
    happen happened happens happening thing things something anything called name named mean means meaning use used
    make made known kind type example examples important importance main reason reasons cause causes way ways first
    next last later explain describe list give answer yes true false question people person place time year years
    work works result results effect effects role why right wrong good bad best better new old different same
    does did happen start started end ended take took get got come came
    """,
    )
)


def _unnamed_subject(view: PairView) -> str | None:
    """The question does not say what it is about: a "he"/"she" with no name, an "it"/"they" as its subject with
    almost nothing else, or no specific word at all ("What happened next?"). A capitalised name, or two specific
    words ("What is a neap tide?"), is enough to pass."""
    question = first_question(view.instruction)
    if entity_words(question):
        return None
    specific = content_words(question) - _GENERIC
    person = _PERSON_PRONOUN.search(question)
    if person and not _ANTECEDENT.search(question[: person.start()]):
        return f"the question says '{person.group(0)}' without naming the person"
    subject = _THING_PRONOUN_SUBJECT.search(question)
    if subject and len(specific) < 2:
        return f"the question is about '{subject.group('pronoun')}' without naming it"
    if not specific:
        return "the question names no subject"
    return None


VALIDATORS: tuple[Validator, ...] = (
    Validator("no_question", no_question, instruction_only=True),
    Validator("malformed_instruction", malformed_instruction, instruction_only=True),
    Validator("copies_demo", partial(copies_demo, skill="open_domain_qa"), instruction_only=True),
    Validator("refers_to_source", _refers_to_source),
    Validator("unnamed_subject", _unnamed_subject),
    Validator("answer_refers_to_source", _answer_refers_to_source),
    Validator("invented_details", invented_details),
    Validator(
        "unsupported_statement",
        unsupported_statement,
        partial(unsupported_statement, min_support=0.6, min_stems=3),
    ),
    Validator("contradicts_passage", contradicts_passage),
    Validator("constraint_violated", constraint_violated),
)
