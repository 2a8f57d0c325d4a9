"""The retrieval-augmented responder: a question over retrieved passages, answered with citations.

For each final question the responder (1) cuts the seed's final passage into passages (the relevant ones; two at
least for a multi-hop question), (2) retrieves the passages of *other* seeds most similar to the question
(distractors, `programs.retrieval.Retriever`), (3) shuffles them together and numbers them: the user turn is
"[1] ...", "[2] ...", then the question. (4) The teacher answers from the relevant passages only, under their numbers,
in one short field; Python keeps its citations when each names a relevant passage that holds what its statement
says, and otherwise cites, statement by statement, the relevant passages that hold it. An unanswerable item (the
`unanswerable` type) shows distractors only, and its answer says so and cites nothing (written here, no LM call).

The record's `context` stays the seed's final passage, so the validators can tell relevant passages from
distractors and check the answer's claims against the source.
"""

from __future__ import annotations

import random
import re

import dspy

from agentinstruct.metrics.grounding import STEM_KEY_LENGTH, content_stems, sentences, stem
from agentinstruct.metrics.skills.rag import citations, evidence, strip_citations, supports
from agentinstruct.metrics.text import STOPWORDS
from agentinstruct.programs.pipeline import InvalidOutput
from agentinstruct.programs.retrieval import passages_of
from agentinstruct.programs.starter import StarterPredict
from agentinstruct.signatures.rag import cited_answer_signature

UNANSWERABLE = "unanswerable"
"""The instruction type whose relevant passage is withheld."""
MULTI_HOP = "multi_hop"
"""The instruction type whose relevant passage is shown as two passages (when it is one)."""
DISTRACTORS = 3
"""Passages retrieved from other seeds per item (an unanswerable item gets as many more as it lost)."""
_REFERS_TO_ONE = re.compile(r"\b(?:(?P<verb>does|do) )?(?:the|this) (?:passage|text)\b(?!s)", re.IGNORECASE)
_NOT_A_TOPIC = frozenset(
    re.findall(
        r"\w+",
        "many much long often old far high tall big large name named called does did mean means kind type according "
        "passage passages text true false yes list give explain describe state stated find say says said tell happen "
        "happened happens compare",
    )
)
_UNANSWERABLE_SAYINGS = (
    "The passages do not contain the answer: none of them mentions {terms}.",
    "I cannot answer this from the passages: they do not mention {terms}, so the answer is not among them.",
    "The retrieved passages do not contain the answer. They discuss other subjects and do not mention {terms}.",
)
_UNANSWERABLE_BARE = (
    "The passages do not contain the answer to this question.",
    "I cannot answer this from the passages: none of them gives this information, and they do not contain the answer.",
)


def demo_numbered(demo_source: str) -> str:
    """The skill's demo source as the teacher's worked example sees it: its paragraphs (lines) as passages [2], [4],
    ... (the odd numbers stand for distractors the teacher is not shown)."""
    paragraphs = [line.strip() for line in demo_source.splitlines() if line.strip()]
    return "\n\n".join(f"[{2 * (i + 1)}] {text}" for i, text in enumerate(paragraphs))


class RagResponder(dspy.Module):
    """Builds the retrieval-augmented user turn and its cited answer (see the module docstring)."""

    def __init__(self, skill) -> None:
        super().__init__()
        self._wording = skill.wording
        demo = demo_numbered(skill.demo_passage)
        self.respond = StarterPredict(
            cited_answer_signature(skill.wording, skill.response_instruction),
            [
                dspy.Example(**{skill.wording.source: demo, skill.wording.instruction: q, skill.wording.response: a})
                for q, a in skill.response_demos
            ],
        )

    def forward(
        self,
        passage: str,
        instruction: str,
        config: dict | None = None,
        retriever=None,
        seed_id: str = "",
        instruction_type: str = "",
    ) -> dspy.Prediction:
        config = config or {}
        if retriever is None:
            raise InvalidOutput("no corpus to retrieve distractor passages from")
        question = clean_question(instruction)
        relevant = passages_of(passage)
        if not relevant:
            raise InvalidOutput("the passage is empty")
        if instruction_type == MULTI_HOP and len(relevant) == 1:
            relevant = split_in_two(relevant[0])
        unanswerable = instruction_type == UNANSWERABLE
        wanted = DISTRACTORS + (len(relevant) if unanswerable else 0)
        distractors = retriever.search(question, wanted, exclude_seed=seed_id, avoid=[passage])
        if not distractors:
            raise InvalidOutput("the corpus holds no passage of another seed to retrieve")
        shown = ([] if unanswerable else [(text, True) for text in relevant]) + [(d.text, False) for d in distractors]
        rng = random.Random(f"{config.get('seed', 0)}:{question}")
        rng.shuffle(shown)
        user = "\n\n".join(f"[{n}] {text}" for n, (text, _) in enumerate(shown, start=1)) + f"\n\n{question}"
        if unanswerable:
            answer = unanswerable_answer(question, [text for text, _ in shown], rng)
        else:
            held = {n: text for n, (text, is_relevant) in enumerate(shown, start=1) if is_relevant}
            given = "\n\n".join(f"[{n}] {text}" for n, text in held.items())
            wording = self._wording
            result = self.respond(**{wording.source: given, wording.instruction: question}, config=config)
            answer = cite(str(getattr(result, wording.response) or ""), held)
        messages = [{"role": "user", "content": user}]
        if answer:
            messages.append({"role": "assistant", "content": answer})
        return dspy.Prediction(answer=answer, messages=messages)


_QUESTION_LABEL = re.compile(r"^(?:#+\s*|[-*\u2022]\s+|(?:question|q)\s*\d*\s*[:.)]\s*)+", re.IGNORECASE)


def clean_question(instruction: str) -> str:
    """The question on one line, without a heading, bullet or "Question 3:" label before it, pointing at "the
    passages" where it pointed at one ("according to the passage")."""
    text = _QUESTION_LABEL.sub("", " ".join(instruction.split()))
    return _REFERS_TO_ONE.sub(lambda m: "do the passages" if m.group("verb") else "the passages", text)


def split_in_two(text: str) -> list[str]:
    """A passage cut at the sentence boundary nearest its middle (a multi-hop question then spans two passages);
    the passage itself when it is one sentence."""
    parts = list(sentences(text))
    if len(parts) < 2:
        return [text]
    half, total, cut_at = len(text) / 2, 0, []
    for i, part in enumerate(parts[:-1], start=1):
        total += len(part) + 1
        cut_at.append((abs(total - half), i))
    best = min(cut_at)[1]
    return [" ".join(parts[:best]), " ".join(parts[best:])]


def cite(answer: str, held: dict[int, str]) -> str:
    """`answer` made a cited answer from the passages in `held` (number -> text).

    Repairs what a small model gets wrong, deterministically: only the answer's first paragraph is kept (headings and
    "Answer:" labels left out), and its statements up to the first one no held passage grounds (what a model adds
    after answering is mostly invented). Its own citations stay when every one names a held passage that holds what
    its statement says and some statement cites; otherwise every marker is removed and each statement cites the held
    passage that best supports it, plus any other that adds a fact the first lacks. A statement nothing supports
    cites nothing (the validators then reject the answer, with the reason)."""
    kept: list[tuple[int, str]] = []
    for line_number, part in _parts(_first_paragraph(answer)):
        if kept and not any(_grounds(text, strip_citations(part)) for text in held.values()):
            break
        kept.append((line_number, part))
    if not kept:
        return ""
    own = [number for _, part in kept for number in citations(part)]
    if not own or not all(
        number in held and supports(held[number], strip_citations(part))
        for _, part in kept
        for number in citations(part)
    ):
        kept = [(line_number, _with_citations(strip_citations(part), held)) for line_number, part in kept]
    lines: dict[int, list[str]] = {}
    for line_number, part in kept:
        lines.setdefault(line_number, []).append(part)
    return "\n".join(" ".join(parts) for parts in lines.values()).strip()


_LABEL = re.compile(r"^\s*(?:#+\s*)?(?:answer|response)\s*:\s*", re.IGNORECASE)


def _first_paragraph(answer: str) -> str:
    """The answer up to its first blank line, without heading lines or an "Answer:" label."""
    lines = [_LABEL.sub("", line) for line in answer.strip().splitlines()]
    lines = [line for line in lines if not line.lstrip().startswith("#")]
    return re.split(r"\n\s*\n", "\n".join(lines).strip(), maxsplit=1)[0].strip()


def _parts(text: str) -> list[tuple[int, str]]:
    """(line number, statement with its markers) for each sentence of each line; a marker standing alone after a
    sentence belongs to it."""
    found: list[tuple[int, str]] = []
    for line_number, line in enumerate(text.splitlines()):
        for part in re.split(r"(?<=[.!?])\s+", line.strip()):
            if not part:
                continue
            if found and found[-1][0] == line_number and not strip_citations(part).strip(" .;:,"):
                found[-1] = (line_number, f"{found[-1][1]} {part}")
            else:
                found.append((line_number, part))
    return found


def _grounds(passage: str, statement: str) -> bool:
    """Whether `passage` holds `statement`: its content (`supports`) and every figure it gives."""
    from agentinstruct.metrics.grounding import underived_figures

    return supports(passage, statement) and not underived_figures(statement, passage)


def _with_citations(statement: str, held: dict[int, str]) -> str:
    claimed = evidence(statement)
    if not claimed:
        return statement
    ranked = sorted(
        ((len(claimed & evidence(text)), number) for number, text in held.items() if supports(text, statement)),
        key=lambda pair: (-pair[0], pair[1]),
    )
    if not ranked:
        return statement
    chosen = [ranked[0][1]]
    covered = claimed & evidence(held[chosen[0]])
    for _, number in ranked[1:]:
        adds = (claimed & evidence(held[number])) - covered
        if adds:
            chosen.append(number)
            covered |= adds
    markers = "".join(f"[{number}]" for number in sorted(chosen))
    match = re.search(r"[.!?]+[\"')\]]*$", statement)
    if match and not statement.endswith("]"):
        return f"{statement[: match.start()]} {markers}{statement[match.start() :]}"
    return f"{statement} {markers}"


def unanswerable_answer(question: str, shown: list[str], rng: random.Random) -> str:
    """What the answer says when no shown passage holds the answer: that they do not, naming what the question asks
    about that none of them mentions."""
    known = set().union(*(content_stems(text) for text in shown)) if shown else set()
    terms = _missing_terms(question, known)
    if not terms:
        return rng.choice(_UNANSWERABLE_BARE)
    return rng.choice(_UNANSWERABLE_SAYINGS).format(terms=_join(terms[:3]))


def _missing_terms(question: str, known: set[str]) -> list[str]:
    """Runs of the question's topic words that no passage mentions, in order; names first ("the Skerra Sound", from a
    run of words with a capital after the question's first word, cut after its last capitalised word)."""
    tokens = re.findall(r"[A-Za-z0-9][A-Za-z0-9'’-]*", question)
    runs: list[list[int]] = []
    current: list[int] = []
    for index, token in enumerate(tokens):
        lowered = token.lower()
        topical = lowered not in STOPWORDS and lowered not in _NOT_A_TOPIC and len(token) > 2
        if topical and not token.isdigit() and stem(lowered)[:STEM_KEY_LENGTH] not in known:
            current.append(index)
            continue
        if current:
            runs.append(current)
            current = []
    if current:
        runs.append(current)
    named = []
    for run in runs:
        capitals = [index for index in run if index > 0 and tokens[index][:1].isupper()]
        if capitals:
            named.append([index for index in run if index <= capitals[-1]])
    found = []
    for run in named or runs:
        the = "the " if run[0] > 0 and tokens[run[0] - 1].lower() == "the" else ""
        phrase = the + " ".join(tokens[index] for index in run)
        if phrase not in found:
            found.append(phrase)
    return found


def _join(terms: list[str]) -> str:
    return terms[0] if len(terms) == 1 else f"{', '.join(terms[:-1])} or {terms[-1]}"
