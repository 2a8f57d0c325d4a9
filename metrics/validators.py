"""Deterministic validators: fast rule checks that each name one way a pair is unusable, with a readable reason.

A record passes when no validator fails. Validators see a `PairView` (passage, instruction, response); skills add
their own in `metrics/skills/<skill>.py`; the checks here that several skills share (grounding in a passage,
constraints, options) are what those modules assemble.
"""

from __future__ import annotations

import re
import zlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from agentinstruct.metrics.grounding import STEM_KEY_LENGTH, stem
from agentinstruct.metrics.text import STOPWORDS, PairView, content_words, words

Check = Callable[[PairView], str | None]
"""Returns why the pair fails, or None when it passes."""

MIN_INSTRUCTION_WORDS = 3
MAX_INSTRUCTION_CHARS = 2000
MAX_RESPONSE_CHARS = 6000
_DIGIT_RUN = re.compile(r"\d[\d\s,.]{14,}\d")
_QUESTION_START = re.compile(
    r"^(which|what|who|whom|whose|when|where|why|how|is|are|was|were|do|does|did|can|could|would|should|will|"
    r"according|identify|list|name|explain|describe|summarize|summarise|compare|contrast|match|order|arrange|rank|"
    r"choose|select|fill|complete|decide|determine|state|give|find|calculate|compute|estimate|true or false|"
    r"rewrite|write|classify|evaluate|discuss|infer|based on|in the passage|using the passage|restate|rephrase|"
    r"paraphrase|put|sort|outline|show|tell|suggest|assess|analy[sz]e|justify|interpret|define|predict|translate|"
    r"convert|simplify|expand|provide|argue|propose|recommend|in your own words|in a short|in one|in two|in three|"
    r"replace|remove|delete|capitali[sz]e|redact|reword|shorten|correct|fix|format|normali[sz]e|annotate|"
    r"highlight|mark|change|make|turn|add|insert|translate|summari[sz]e|extract|label|tag|draft|compose|narrate|"
    r"announce|open|search|click|go to|navigate|visit|scroll|enter|submit|book|buy|sign up|log in|look up|"
    r"implement|refactor|optimi[sz]e|review|debug|test|document|port)\b",
    re.IGNORECASE,
)
_TASK_VERB = re.compile(
    r"^(identify|list|name|explain|describe|summarize|summarise|compare|contrast|match|order|arrange|rank|choose|"
    r"select|fill|complete|decide|determine|state|give|find|calculate|compute|estimate|rewrite|write|classify|"
    r"evaluate|discuss|infer|restate|rephrase|paraphrase|put|sort|outline|show|tell|suggest|assess|analy[sz]e|"
    r"justify|interpret|define|predict|translate|convert|simplify|expand|provide|argue|propose|recommend|replace|"
    r"remove|delete|capitali[sz]e|redact|reword|shorten|correct|fix|format|normali[sz]e|annotate|highlight|mark|"
    r"change|make|turn|add|insert|extract|label|tag|draft|compose|narrate|announce|open|search|click|go to|navigate|"
    r"visit|scroll|enter|submit|book|buy|sign up|log in|look up|implement|refactor|optimi[sz]e|review|debug|test|"
    r"document|port)\b",
    re.IGNORECASE,
)
_NOT_IN_PASSAGE = re.compile(
    r"\b(?:does not|doesn['’]t|do not|don['’]t|did not|didn['’]t|never|nowhere)\s+(?:\w+\s+)?(?:say|states?|"
    r"mentions?|gives?|specif(?:y|ies)|provides?|contains?|includes?|names?|tells?|indicates?|reveals?|reports?|"
    r"lists?|explains?|confirms?|address(?:es)?|identif(?:y|ies)|record(?:s)?|describes?)\b"
    r"|\bnot (?:stated|mentioned|given|specified|provided|named|reported|known|said|clear from|explained|addressed)\b"
    r"|\b(?:cannot|can['’]t|could not|couldn['’]t) be (?:determined|answered|known|told|said|inferred)\b"
    r"|\bno information\b|\bnobody knows\b|\b(?:is|are) silent\b|\bneither confirms\b",
    re.IGNORECASE,
)


def says_passage_is_silent(response: str) -> bool:
    """Whether a response says the passage does not give the answer ("the passage does not say ...")."""
    return bool(_NOT_IN_PASSAGE.search(response))


@dataclass(frozen=True)
class Validator:
    """A named rule check; `name` is stable (reports and metrics use it).

    `demo_check`, where set, is a tighter version of `check` for pairs that become an optimizer's demonstrations:
    a pair that passes by a hair teaches the model to write borderline pairs.
    """

    name: str
    check: Check
    demo_check: Check | None = None
    instruction_only: bool = False
    """The check reads only the passage and the instruction, never the response: it can judge an instruction before
    any answer is written (a program that screens its instructions runs these at the instruction stage)."""


def _empty(view: PairView) -> str | None:
    if not view.instruction:
        return "the instruction is empty"
    if not view.response:
        return "the response is empty"
    return None


def _length(view: PairView) -> str | None:
    if len(words(view.instruction)) < MIN_INSTRUCTION_WORDS:
        return f"the instruction has fewer than {MIN_INSTRUCTION_WORDS} words"
    if len(view.instruction) > MAX_INSTRUCTION_CHARS:
        return f"the instruction is longer than {MAX_INSTRUCTION_CHARS} characters"
    if len(view.response) > MAX_RESPONSE_CHARS:
        return f"the response is longer than {MAX_RESPONSE_CHARS} characters"
    return None


def degeneracy(text: str) -> str | None:
    """Why `text` looks like degenerate LM output (a loop, token soup, a digit run), or None."""
    tokens = words(text)
    if len(tokens) >= 12:
        trigrams = Counter(zip(tokens, tokens[1:], tokens[2:], strict=False))
        top, count = trigrams.most_common(1)[0]
        if count >= 4 and count * 3 >= 0.3 * len(tokens):
            return f"a repetition loop ('{' '.join(top)}' x{count})"
    if len(tokens) >= 6:
        stutters = sum(a == b for a, b in zip(tokens, tokens[1:], strict=False))
        if stutters >= 3 and stutters >= 0.15 * len(tokens):
            return f"stuttering ({stutters} words repeat the word before them)"
        repeats = Counter(tokens)
        word, count = repeats.most_common(1)[0]
        if count >= 4 and count >= 0.3 * len(tokens) and word not in STOPWORDS:
            return f"one word over and over ('{word}' x{count})"
    if len(text) >= 200:
        raw = text.encode("utf-8")
        if len(zlib.compress(raw)) / len(raw) < 0.2:
            return "a repetition loop (text compresses over 5x)"
    tokens_by_space = text.split()
    if len(text) >= 20 and len(tokens_by_space) >= 4:
        # Figures and arithmetic are text too ("47 years (1978 - 1931 = 47)"); soup is runs of bare symbols.
        # Table rules and JSON punctuation are structure, not soup ("| Item | Price |", "{", "},").
        structure = {"|", "{", "}", "[", "]", "},", "],", ":", "-", "---", "|---|"}
        bare = sum(
            not any(ch.isalnum() for ch in token) and token not in structure and not set(token) <= set("|-:")
            for token in tokens_by_space
        )
        if bare >= 0.4 * len(tokens_by_space):
            return "token soup (mostly bare symbols)"
    if _DIGIT_RUN.search(text):
        return "a long run of digits"
    return None


def _degenerate(view: PairView) -> str | None:
    for part, text in (("instruction", view.instruction), ("response", view.response)):
        reason = degeneracy(text)
        if reason:
            return f"the {part} is degenerate: {reason}"
    return _unfinished(view.response)


_HEADING_ONLY = re.compile(r"^\W*(?:#+\s*)?[\w ]{0,30}:?\W*$")
_TERMINAL = re.compile(r"[.!?)\]}|\"'’”%]\s*$|\d\s*$|#\w+\s*$")  # a post may end on its hashtags


def _unfinished(response: str) -> str | None:
    """A response that is only a label ("Answer:", "## Answer") or stops mid-sentence (cut at the token limit)."""
    text = response.strip()
    if _HEADING_ONLY.match(text) and (text.endswith(":") or text.startswith("#")):
        return "the response is only a heading"
    last_line = text.splitlines()[-1].strip() if text else ""
    # A closing "Answer: sweet" is a labelled value, not a cut sentence.
    labelled_value = re.search(r"\b[A-Za-z]+:\s*\S+(?:\s+\S+){0,3}\s*$", last_line)
    if len(words(last_line)) >= 10 and not _TERMINAL.search(last_line) and not labelled_value:
        return "the response stops mid-sentence"
    return None


def _ngrams(tokens: list[str], n: int) -> set[tuple[str, ...]]:
    return {tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)}


def copied_share(text: str, source: str, n: int = 4) -> float:
    """Share of `text`'s word n-grams that also occur in `source`."""
    grams = _ngrams(words(text), n)
    return len(grams & _ngrams(words(source), n)) / len(grams) if grams else 0.0


def _copies(view: PairView) -> str | None:
    if view.passage and len(words(view.instruction)) >= 8 and copied_share(view.instruction, view.passage) >= 0.8:
        return "the instruction copies its passage"
    question, answer = content_words(view.instruction), content_words(view.response)
    if (
        answer
        and answer <= question
        and len(words(view.response)) >= 4
        and copied_share(view.response, view.instruction) >= 0.8
        and not options_of(view.instruction)
    ):
        return "the response copies the instruction"
    return None


def copies_passage(view: PairView) -> str | None:
    """An answer that copies a long stretch of its passage instead of answering (shorter when the task asked for
    own words or a summary). Skills whose task is to transform the passage do not use it."""
    if not view.passage:
        return None
    copied = _longest_copied_run(view.response, view.passage)
    own_words = _OWN_WORDS.search(view.instruction)
    if copied >= 40 or (own_words and copied >= 14 and copied >= 0.5 * len(words(view.response))):
        return f"the response copies {copied} consecutive words of the passage"
    return None


_OWN_WORDS = re.compile(r"\b(own words|paraphrase|summari[sz]e|in one sentence|briefly|rephrase|restate)\b", re.I)


def _longest_copied_run(text: str, source: str) -> int:
    """The length in words of the longest stretch of `text` that appears word for word in `source`."""
    tokens, source_tokens = words(text), words(source)
    grams = _ngrams(source_tokens, 6)
    longest = run = 0
    for i in range(len(tokens) - 5):
        run = run + 1 if tuple(tokens[i : i + 6]) in grams else 0
        longest = max(longest, run + 5 if run else 0)
    return longest


def asks_something(instruction: str) -> bool:
    """Whether an instruction asks a question or sets a task: a question mark, a blank, or a task verb opening it or
    one of its clauses ("In a short essay, compare ...")."""
    text = instruction.strip()
    clauses = (part.strip() for part in re.split(r"[,:;]", text)[1:3])
    return (
        "?" in text
        or "____" in text
        or bool(_QUESTION_START.search(text))
        or any(_TASK_VERB.search(clause) for clause in clauses)
    )


def no_question(view: PairView) -> str | None:
    return None if asks_something(view.instruction) else "the instruction asks nothing (no question mark, no task verb)"


def off_topic(view: PairView, min_share: float = 0.25) -> str | None:
    if not view.passage:
        return None
    from agentinstruct.metrics.grounding import content_stems

    asked = content_stems(first_question(view.instruction)) - _GENERIC_TASK_STEMS
    if len(asked) < 3:
        return None
    share = len(asked & content_stems(view.passage)) / len(asked)
    if share < min_share:
        return f"the instruction is not about its passage ({share:.0%} of its content words occur there)"
    return None


_GENERIC_TASK_WORDS = frozenset(
    [
        "ask",
        "answer",
        "question",
        "questions",
        "passage",
        "text",
        "author",
        "following",
        "true",
        "false",
        "best",
        "statement",
        "describe",
        "explain",
        "identify",
        "list",
        "name",
        "summarize",
        "compare",
        "contrast",
        "match",
        "order",
        "choose",
        "select",
        "write",
        "essay",
        "short",
        "according",
        "many",
        "much",
        "main",
        "idea",
        "purpose",
        "own",
        "words",
        "paragraph",
        "sentence",
        "sentences",
        "excerpt",
        "article",
        "transcript",
        "poem",
        "speaker",
        "speakers",
        "writer",
        "reader",
        "argument",
        "case",
        "stronger",
        "weaken",
        "strengthen",
        "assumption",
        "assume",
        "evaluate",
        "evaluative",
        "discuss",
        "attitude",
        "tone",
        "suggest",
        "line",
        "restate",
        "paraphrase",
        "summarise",
        "summary",
        "brief",
        "briefly",
        "following",
        "likely",
        "most",
        "persuasive",
        "explain",
        "describe",
    ]
)
_GENERIC_TASK_STEMS = frozenset(stem(word)[:STEM_KEY_LENGTH] for word in _GENERIC_TASK_WORDS)


def options_of(instruction: str) -> dict[str, str]:
    """Multiple-choice options by letter (see `grounding.options`)."""
    from agentinstruct.metrics.grounding import options

    return options(instruction)


_WRITER_NOTE = re.compile(
    r"^\s*(?:please\s+)?(?:write|generate|create|compose|draft|make up|come up with|produce|formulate)\b[^.?!]*"
    r"\bquestions?\b|^\s*ask\s+(?:about|what|who|how|whether|why|when|where|the reader|a question|one)\b"
    r"|\bmake (?:it|them|the question) (?:harder|hard|tricky|difficult|more difficult)\b",
    re.IGNORECASE | re.MULTILINE,
)
_PLACEHOLDER = re.compile(r"\[[A-Z][A-Z _]+\]|\{[a-z_]+\}|<[a-z][a-z _]+>")
_BULLET_LINE = re.compile(r"^\s*[-*\u2022]\s+", re.MULTILINE)
_DANGLING = frozenset(
    [
        "of",
        "the",
        "a",
        "an",
        "and",
        "or",
        "to",
        "in",
        "for",
        "with",
        "that",
        "which",
        "who",
        "by",
        "from",
        "at",
        "on",
        "is",
        "are",
        "was",
        "were",
    ]
)


def malformed_instruction(view: PairView) -> str | None:
    """Instructions that are not a task a user would send: notes to the question writer, template placeholders,
    bullet notes, or a fragment that stops on a function word."""
    text = view.instruction
    if _PLACEHOLDER.search(text):
        return "the instruction holds an unfilled template placeholder"
    if _WRITER_NOTE.search(text):
        return "the instruction is a note to the question writer, not a question"
    if len(_BULLET_LINE.findall(text)) >= 1 and not options_of(text):
        return "the instruction is a list of notes"
    if re.search(r"\(A\)", text) and not re.search(r"\(B\)", text):
        return "the instruction offers a single option"
    last = words(text.rstrip(" ?.!"))[-1:] or [""]
    if not text.rstrip().endswith(("?", ".", "!", ":", ")")) and last[0] in _DANGLING:
        return f"the instruction stops on '{last[0]}'"
    if view.passage and _MATCHING.search(text):
        from agentinstruct.metrics.grounding import digit_numbers, numbers

        # A matching task's items come from the passage: a figure it never states is the worked example's pattern
        # filled in with an invented item.
        items = _LIST_LABEL.sub(" ", text)
        invented = sorted(digit_numbers(items) - numbers(view.passage))
        if invented:
            return f"the matching task lists {invented[0]:g}, which the passage never states"
    return None


NUMERIC_QUESTION = re.compile(
    r"\bhow (?:many|much|long|far|old|often|high|tall|deep|wide|big|large|heavy|fast|soon|late|early)\b"
    r"|\b(?:what|which) (?:year|percentage|percent|share|proportion|number|amount|fraction|temperature|distance|price"
    r"|date|time|age)\b|\bin (?:what|which) year\b|\bby how much\b",
    re.IGNORECASE,
)
_QUANTITY = re.compile(
    r"\d|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|forty|fifty|hundred"
    r"|thousand|million|half|third|quarter|dozen|once|twice|every|each|daily|weekly|monthly|yearly|annually|hourly"
    r"|minutes?|hours?|days?|weeks?|months?|years?|decades?|centur(?:y|ies)|several|few|no|none|all)\b",
    re.IGNORECASE,
)
_TRUE_FALSE = re.compile(r"\btrue or false\b|\btrue/false\b", re.IGNORECASE)
_VERDICT = re.compile(r"\b(?:true|false|correct|incorrect|wrong|right|yes|no|not)\b", re.IGNORECASE)
_ITEM_LABEL = re.compile(r"\(([a-h1-9])\)")
_ORDERING = re.compile(r"\b(?:order|sequence|arrange|chronolog|put these|rank)\w*", re.IGNORECASE)
_MATCHING = re.compile(r"\bmatch\w*\b", re.IGNORECASE)
_LIST_LABEL = re.compile(r"\(\s*(?:\d{1,2}|[a-h])\s*\)|(?<!\S)\d{1,2}[.)](?=\s)", re.IGNORECASE)
"""Item labels of a list ("(1)", "(b)", "2.", "3)"): numbers that are no figures."""


def answers_the_question(view: PairView) -> str | None:
    """The response has the form the question asks for: a quantity for "how many", a verdict for true/false,
    every item for an ordering or matching task. Responses saying the passage does not tell are exempt."""
    instruction, response = view.instruction, view.response
    if _NOT_IN_PASSAGE.search(response):
        return None
    labels = set(_ITEM_LABEL.findall(instruction))
    if (
        len(labels) >= 3
        and not options_of(instruction)
        and (_ORDERING.search(instruction) or _MATCHING.search(instruction))
    ):
        named = {label for label in labels if re.search(rf"(?<![a-z0-9]){label}(?![a-z0-9])", response.lower())}
        if len(named) < len(labels) - 1:
            return f"the response names {len(named)} of the {len(labels)} items the question lists"
        return None
    if _TRUE_FALSE.search(instruction) and not _VERDICT.search(response):
        return "the question asks true or false, and the response says neither"
    if NUMERIC_QUESTION.search(first_question(instruction)) and not _QUANTITY.search(response):
        return "the question asks for a quantity, and the response gives none"
    return None


def first_question(instruction: str) -> str:
    """The part of an instruction that asks (options and later sentences left out)."""
    return re.split(r"\(A\)|\n", instruction, maxsplit=1)[0]


def constraint_violated(view: PairView) -> str | None:
    """The response breaks a form constraint the instruction states (one word, N words, N sentences, N items,
    true/false only, the name only)."""
    from agentinstruct.metrics.grounding import answer_items, constraints, sentences

    response = view.response.strip()
    count = len(words(response))
    for constraint in constraints(view.instruction):
        if constraint.kind == "max_words" and count > constraint.value + (1 if constraint.value <= 2 else 0):
            return f"the instruction asks for at most {constraint.value} words; the response has {count}"
        if constraint.kind == "sentences":
            found = len([s for s in sentences(response) if len(words(s)) >= 2])
            if found != constraint.value:
                return f"the instruction asks for {constraint.value} sentences; the response has {found}"
        if constraint.kind == "items":
            found = len(answer_items(response))
            if found != constraint.value:
                return f"the instruction asks for {constraint.value} items; the response lists {found}"
        if constraint.kind in ("true_false", "yes_no") and count > 2:
            expected = "True or False" if constraint.kind == "true_false" else "yes or no"
            return f"the instruction asks for only {expected}; the response has {count} words"
        if constraint.kind == "only" and (count > 6 or len(sentences(response)) > 1):
            return f"the instruction asks for the bare answer; the response has {count} words"
    return None


def invented_details(view: PairView) -> str | None:
    """Names and figures in the response that neither the passage nor the instruction contains (a figure may be
    computed from the passage's own figures)."""
    from agentinstruct.metrics.arithmetic import arithmetic_error
    from agentinstruct.metrics.grounding import (
        asks_or_shows_computation,
        entity_words,
        stem,
        underived_figures,
    )

    if not view.passage:
        return None
    # Options are not evidence: a chosen option's figure must be the passage's.
    source = f"{view.passage}\n{first_question(view.instruction) if options_of(view.instruction) else view.instruction}"
    known_words = set(words(source)) | {stem(w) for w in words(source)}
    invented = sorted(w for w in entity_words(view.response) if w not in known_words and stem(w) not in known_words)
    computing = asks_or_shows_computation(view.instruction, view.response)
    figures = underived_figures(view.response, source, computing=computing)
    error = arithmetic_error(view.response)
    if error:
        return f"the response's arithmetic is wrong: {error}"
    if invented or figures:
        shown = [*invented[:3], *(f"{v:g}" for v in figures[:3])]
        return f"the response mentions {', '.join(shown)}, found nowhere in the passage"
    return None


_INTERPRETIVE = re.compile(
    r"\b(?:own words|paraphrase|rephrase|restate|summari[sz]e|summary|evaluate|assess|discuss|essay|paragraph|"
    r"opinion|persuasive|stronger case|attitude|tone|suggest|imply|implies|infer|interpret|why do you think|"
    r"what does .{0,40} (?:mean|show|reveal|tell)|most likely|explain|refers? to|mean by|meaning of|as used in|"
    r"if true|weaken|strengthen|assum\w+|flaw\w*|principle|conclusion|reasoning)\b",
    re.IGNORECASE,
)
_ANSWER_SPLIT = re.compile(
    r"(?<=[.!?;])\s+|,\s+(?=(?:and|but|which|so|while|although)\b)|\s+(?:and|but)\s+(?=\w+\s+\w+)"
)


def misplaced_fact(view: PairView) -> str | None:
    """For a factual question: the response's figure comes from another part of the passage than the one the
    question is about, or it says the passage is silent although one sentence holds everything the question asks
    about."""
    from agentinstruct.metrics.grounding import (
        asks_or_shows_computation,
        content_stems,
        digit_numbers,
        focus_sentences,
        numbers,
        quantities,
        sentence_stems,
        sentences,
    )

    if not view.passage or options_of(view.instruction) or _INTERPRETIVE.search(view.instruction):
        return None
    question = first_question(view.instruction)
    asked = content_stems(question) - _GENERIC_TASK_STEMS
    focus, overlap = focus_sentences(view.passage, asked)
    if overlap < 2:
        return None
    numeric = bool(NUMERIC_QUESTION.search(question))
    if _NOT_IN_PASSAGE.search(view.response):
        answered = [s for s in focus if not numeric or digit_numbers(s)]
        if len(asked) >= 3 and overlap >= len(asked) - (len(asked) >= 4) and answered:
            return f"the response says the passage does not tell, but it does: '{answered[0][:80]}'"
        return None
    if not numeric and "____" not in question:
        return _answer_from_elsewhere(view, asked, focus, overlap)
    if question.count("____") > 1 or asks_or_shows_computation(view.instruction, view.response):
        return None  # several blanks draw on several sentences; a computed figure is nowhere as such
    # Figures in digits (or a bare number word, as a blank's filling): "two of them" is not a figure.
    said = quantities(view.response) or (numbers(view.response) if len(words(view.response)) <= 3 else set())
    stated = said - numbers(question)
    focus_figures = set().union(*(numbers(sentence) for sentence in focus))
    # The figure must come from a sentence as much about the question as the focus (a tie counts as focus).
    nearer = {
        v
        for sentence, stems in sentence_stems(view.passage)
        if len(asked & stems) > overlap - 1
        for v in numbers(sentence)
    }
    elsewhere = set().union(*(numbers(sentence) for sentence in sentences(view.passage) if sentence not in focus))
    if stated and not stated & nearer and (focus_figures or stated <= elsewhere):
        shown = ", ".join(f"{v:g}" for v in sorted(stated)[:2])
        return f"the response gives {shown}, but the sentence the question is about says otherwise: '{focus[0][:80]}'"
    return None


_WH_QUESTION = re.compile(r"^\W*(?:what|which|who|whom|whose|when|where|why|how)\b", re.IGNORECASE)


def _answer_from_elsewhere(view: PairView, asked: set[str], focus: list[str], overlap: int) -> str | None:
    """A short answer to a wh-question whose content comes from a passage sentence other than the one the question
    is plainly about (it shares at least three of the question's words and most of them)."""
    from agentinstruct.metrics.grounding import content_stems, sentences

    if not _WH_QUESTION.search(view.instruction) or len(words(view.response)) > 15 or len(focus) != 1:
        return None
    if overlap < 3 or overlap < 0.6 * len(asked):
        return None
    new = content_stems(_VERDICT_OPENING.sub("", view.response)) - asked
    if len(new) < 2:
        return None
    index = sentences(view.passage).index(focus[0])
    around = content_stems(" ".join(sentences(view.passage)[max(0, index - 1) : index + 2]))
    elsewhere = content_stems(view.passage) - around
    if len(new & around) == 0 and len(new & elsewhere) >= 2:
        return f"the response answers from another part of the passage than '{focus[0][:80]}'"
    return None


_META_STEMS = frozenset(
    stem(word)[:STEM_KEY_LENGTH]
    for word in re.findall(
        r"\w+",
        "passage text says said states stated gives given mentions mentioned according author writer reader answer "
        "question about one two three four five six seven eight nine ten hundred thousand million",
    )
)
"""Words about the passage rather than from it, and number words: no claim a passage must support."""
_SHOWS_WORKING = re.compile(r"[=×÷]|\d\s*[-−+*/]\s*\$?\d")


def unsupported_statement(view: PairView, min_support: float = 0.25, min_stems: int = 5) -> str | None:
    """For a factual question: a statement of the response whose content the passage does not contain (an added
    claim beside a correct answer). Interpretive tasks (own words, evaluate, explain) paraphrase and are exempt."""
    from agentinstruct.metrics.grounding import content_stems

    if not view.passage or _INTERPRETIVE.search(view.instruction) or _NOT_IN_PASSAGE.search(view.response):
        return None
    known = content_stems(view.passage) | content_stems(view.instruction)
    for statement in _ANSWER_SPLIT.split(view.response):
        stems = content_stems(statement) - _META_STEMS
        if len(stems) >= min_stems and not _SHOWS_WORKING.search(statement):
            support = len(stems & known) / len(stems)
            if support < min_support:
                return f"the passage does not support '{statement.strip()[:80]}' ({support:.0%} of its content)"
    return None


_VERDICT_OPENING = re.compile(r"^\W*(?:yes|no|true|false|correct|incorrect)\b\W*", re.IGNORECASE)
_OPPOSITES = (
    ("more", "fewer"),
    ("more", "less"),
    ("higher", "lower"),
    ("increase", "decrease"),
    ("increased", "decreased"),
    ("rose", "fell"),
    ("rise", "fall"),
    ("risen", "fallen"),
    ("grown", "shrunk"),
    ("rising", "falling"),
    ("warm", "cool"),
    ("warms", "cools"),
    ("warmer", "cooler"),
    ("before", "after"),
    ("earlier", "later"),
    ("larger", "smaller"),
    ("bigger", "smaller"),
    ("longer", "shorter"),
    ("above", "below"),
    ("won", "lost"),
    ("always", "only"),
    ("all", "only"),
    ("approved", "deferred"),
    ("approved", "rejected"),
    ("open", "closed"),
    ("opened", "closed"),
    ("random", "chose"),
)
_OPPOSITE: dict[str, set[str]] = {}
for _a, _b in _OPPOSITES:
    _OPPOSITE.setdefault(_a, set()).add(_b)
    _OPPOSITE.setdefault(_b, set()).add(_a)


def contradicts_passage(view: PairView) -> str | None:
    """A statement of the response that restates a passage sentence with the opposite polarity: a negation one of
    them has and the other lacks, or a word the passage's sentence has the opposite of ("warms" / "cools")."""
    from agentinstruct.metrics.grounding import content_stems, sentences

    if not view.passage or _INTERPRETIVE.search(view.instruction) or _NOT_IN_PASSAGE.search(view.response):
        return None
    passage = [(sentence, content_stems(sentence)) for sentence in sentences(view.passage)]
    for statement in _ANSWER_SPLIT.split(view.response):
        statement = _VERDICT_OPENING.sub("", statement)
        stems = content_stems(statement)
        if len(stems) < 3:
            continue
        overlap, sentence = max(((len(stems & found), text) for text, found in passage), default=(0, ""))
        if overlap < 3 or overlap < 0.6 * len(stems):
            continue
        said, source = set(words(statement)), set(words(sentence))
        flipped = sorted(w for w in said if _OPPOSITE.get(w, set()) & source and w not in source)
        if flipped:
            return (
                f"the response says '{flipped[0]}' where the passage says "
                f"'{sorted(_OPPOSITE[flipped[0]] & source)[0]}': '{sentence[:80]}'"
            )
    return None


def option_picked(view: PairView) -> str | None:
    """A multiple-choice response picks a listed option, and what it quotes after the letter is that option."""
    from agentinstruct.metrics.grounding import chosen_letters, numbers, options

    listed = options(view.instruction)
    if len(listed) < 2:
        return None
    chosen = chosen_letters(view.response)
    if not chosen:
        if any(len(text) > 3 and text.lower() in view.response.lower() for text in listed.values()):
            return None
        return "the response picks none of the instruction's options"
    # The first letter is the pick; later ones usually discuss the other options.
    letter, quoted = chosen[0]
    if letter not in listed:
        return f"the response picks ({letter}), which is not among the options"
    said, option = set(words(quoted)), set(words(listed[letter]))
    figures_differ = numbers(quoted) and numbers(listed[letter]) and not numbers(quoted) & numbers(listed[letter])
    if figures_differ or (len(said) >= 2 and option and len(said & option) < 0.5 * min(len(said), len(option))):
        return f"the response quotes ({letter}) as something other than that option"
    return None


@lru_cache(maxsize=16)
def _demo_ngrams(skill: str) -> frozenset[tuple[str, ...]]:
    """Word 5-grams of a skill's worked examples (its demo passage and every agent's demo output)."""
    from agentinstruct.programs.skills import get_skill

    found: set[tuple[str, ...]] = set()
    for text in get_skill(skill).demo_texts():
        found |= _ngrams(words(text), 5)
    return frozenset(found)


def _demo_material(skill: str) -> str:
    """A skill's worked material: its demo passage and what each transformation made of it."""
    from agentinstruct.programs.skills import get_skill

    spec = get_skill(skill)
    return "\n".join([spec.demo_passage, *(agent.demo_output for agent in spec.transformations)])


@lru_cache(maxsize=16)
def _material_subject_stems(skill: str) -> frozenset[str]:
    """The content stems of a skill's worked material (its demo passage and transformed passages) that its task
    vocabulary (instruction types' names and definitions) and generic task words do not explain: the subject.
    (tool_use's `_demo_subject_stems` is another measure: its demo words that no other skill's demos use.)"""
    from agentinstruct.metrics.grounding import content_stems
    from agentinstruct.programs.skills import get_skill

    spec = get_skill(skill)
    material = content_stems(_demo_material(skill))
    tasks = " ".join(f"{kind.name.replace('_', ' ')} {kind.instruction}" for kind in spec.instruction_types)
    return frozenset(material - content_stems(tasks) - _GENERIC_TASK_STEMS)


def copies_demo(view: PairView, skill: str) -> str | None:
    """The passage or instruction is the skill's worked example rather than the seed: a small model that cannot
    follow its input continues the demo instead, and the dataset fills with copies of one text. An instruction that
    shares only the example's phrasing ("Review this code, point out the bug in it") is a task of the same type, not
    a copy: its copied runs must carry the example's subject, words of its material that the passage lacks."""
    from agentinstruct.metrics.grounding import content_stems

    demo = _demo_ngrams(skill)
    subject = _material_subject_stems(skill) - content_stems(view.passage)
    for part, text in (("passage", view.passage), ("instruction", view.instruction)):
        grams = _ngrams(words(text), 5)
        copied = grams & demo
        if part == "instruction":
            copied = {gram for gram in copied if content_stems(" ".join(gram)) & subject}
        if len(grams) >= 4 and len(copied) >= 0.4 * len(grams):
            return f"the {part} copies the skill's worked example"
    return None


@lru_cache(maxsize=64)
def _demo_stems(skill: str) -> frozenset[str]:
    from agentinstruct.metrics.grounding import content_stems
    from agentinstruct.programs.skills import get_skill

    return frozenset().union(*(content_stems(text) for text in get_skill(skill).demo_texts()))


@lru_cache(maxsize=16)
def _demo_names(skill: str) -> frozenset[str]:
    """The names in a skill's worked material (its demo passage and transformed passages): Valdora, Sokol, ..."""
    from agentinstruct.metrics.grounding import entity_words

    return frozenset(entity_words(_demo_material(skill)))


def borrows_demo_topic(view: PairView, skill: str) -> str | None:
    """The conversation talks about the worked example's subject, not the source's: it names one of the demo's
    names (a small model rewrites the seed into the demo's village, and the source turn then carries it too), or a
    content word of the demo that the source never uses recurs in three or more turns (a small model that answers
    "the ferry ..." about a text on a lighthouse, because the demo was about a ferry). Number words do not count."""
    from agentinstruct.metrics.grounding import CARDINAL_WORDS, content_stems

    turns = [m.get("content") or "" for m in view.messages] or [view.passage, view.instruction, view.response]
    named = sorted(_demo_names(skill) & set(words(" ".join(turns))))
    if named:
        return f"it names the worked example's {', '.join(named[:3])}"
    if not view.passage:
        return None
    own = content_stems(view.passage)
    said = [m.get("content") or "" for m in view.messages if m.get("role") in ("user", "assistant")] or [
        view.instruction,
        view.response,
    ]
    said[0] = said[0].replace(view.passage, " ")
    counts = Counter(key for text in said for key in content_stems(text))
    ignored = own | _GENERIC_TASK_STEMS | content_stems(" ".join(CARDINAL_WORDS))
    borrowed = sorted(w for w, n in counts.items() if n >= 3 and w in _demo_stems(skill) and w not in ignored)
    if borrowed:
        return f"it is about the worked example's subject, not the source's ({', '.join(borrowed[:3])})"
    return None


VALIDATORS: tuple[Validator, ...] = (
    Validator("empty_turn", _empty),
    Validator("length", _length),
    Validator("degenerate", _degenerate),
    Validator("copies", _copies),
)
"""Validators every skill runs."""


def validators_for(skill: str | None) -> tuple[Validator, ...]:
    """The generic validators, then the skill's own (`metrics/skills/<skill>.py`); a name no skill has gets the
    generic ones only."""
    from agentinstruct.programs.skills import get_skill, skill_names

    return VALIDATORS + (get_skill(skill).validators if skill in skill_names() else ())


def validate(view: PairView, skill: str | None = None, *, for_demo: bool = False) -> dict[str, str]:
    """The failed validators of a pair, by name, with their reasons (empty when it passes).

    An empty turn stops further checks: every other validator would fail on it for the same reason. `for_demo`
    applies the validators' tighter demonstration checks.
    """
    failures: dict[str, str] = {}
    for validator in validators_for(skill):
        check = (validator.demo_check or validator.check) if for_demo else validator.check
        reason = check(view)
        if reason:
            failures[validator.name] = reason
            if validator.name == "empty_turn":
                break
    return failures
