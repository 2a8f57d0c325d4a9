"""Text helpers shared by the metrics: how a chat record splits into passage, instruction and response."""

from __future__ import annotations

import re
from dataclasses import dataclass

_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9'-]*")
STOPWORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "and",
        "or",
        "but",
        "if",
        "of",
        "to",
        "in",
        "on",
        "at",
        "by",
        "for",
        "with",
        "from",
        "as",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "being",
        "it",
        "its",
        "this",
        "that",
        "these",
        "those",
        "there",
        "their",
        "they",
        "them",
        "he",
        "she",
        "his",
        "her",
        "we",
        "our",
        "you",
        "your",
        "i",
        "me",
        "my",
        "not",
        "no",
        "do",
        "does",
        "did",
        "so",
        "than",
        "then",
        "which",
        "what",
        "who",
        "whom",
        "whose",
        "when",
        "where",
        "why",
        "how",
        "all",
        "any",
        "each",
        "some",
        "such",
        "can",
        "could",
        "would",
        "should",
        "may",
        "might",
        "will",
        "shall",
        "into",
        "about",
        "over",
        "under",
        "after",
        "before",
        "between",
        "because",
        "also",
        "only",
        "very",
        "just",
        "more",
        "most",
        "other",
    ]
)


def words(text: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(text)]


def content_words(text: str) -> set[str]:
    return {w for w in words(text) if w not in STOPWORDS and len(w) > 2}


@dataclass(frozen=True, eq=False)
class PairView:
    """The parts of a chat record the metrics look at.

    For text-grounded skills the final user turn is "passage, blank line, instruction", as `generate` writes it; for
    records from elsewhere the last paragraph of the user turn is taken as the instruction. Multi-turn and tool-using
    skills' validators also read the whole conversation (`messages`), the tool schemas offered (`tools`) and, for code,
    what ran in the sandbox (`execution`).
    """

    passage: str
    instruction: str
    response: str
    messages: tuple[dict, ...] = ()
    tools: tuple[dict, ...] = ()
    execution: dict | None = None

    @property
    def multi_turn(self) -> bool:
        """More than one user or assistant turn, or any tool turn."""
        return sum(m.get("role") in ("user", "assistant", "tool") for m in self.messages) > 2

    @property
    def embedding_text(self) -> str:
        """What diversity is measured on: the instruction and its response, not the (shared) passage; for a multi-turn
        record every user and assistant turn (tool calls by name and arguments), so conversations that share a last
        exchange are not taken for duplicates. The (shared) passage is left out of the turns that quote it, such as a
        conversation's first user turn, so conversations on one text are not taken for duplicates either."""
        if not self.multi_turn:
            return f"{self.instruction}\n{self.response}"
        parts = []
        for message in self.messages:
            if message.get("role") not in ("user", "assistant"):
                continue
            content = message.get("content") or ""
            parts.append(content.replace(self.passage, " ").strip() if self.passage else content)
            for call in message.get("tool_calls") or ():
                function = call.get("function") or {}
                parts.append(f"{function.get('name')}({function.get('arguments')})")
        return "\n".join(part for part in parts if part)


def tool_calls(view: PairView) -> list[tuple[int, dict]]:
    """(message index, call) for every tool call of the conversation's assistant turns, in order."""
    return [
        (index, call)
        for index, message in enumerate(view.messages)
        if message.get("role") == "assistant"
        for call in message.get("tool_calls") or ()
    ]


def call_name(call: dict) -> str:
    return str((call.get("function") or {}).get("name") or "")


def call_arguments(call: dict) -> dict | None:
    """A call's arguments as an object ({} when it has none); None when they are not a JSON object."""
    import json

    raw = (call.get("function") or {}).get("arguments")
    if isinstance(raw, dict):
        return raw
    try:
        parsed = json.loads(raw) if isinstance(raw, str) and raw.strip() else {}
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict) else None


_NUMBERED = re.compile(r"\[(\d+)\] ")


def retrieved_passages(user_turn: str) -> tuple[list[str], str] | None:
    """A retrieval-augmented user turn, numbered passages ("[1] ...", "[2] ...", a blank line apart) then the question,
    as (the passages in order, without their numbers; the question); None for any other user turn."""
    blocks = [block.strip() for block in user_turn.strip().split("\n\n")]
    passages = []
    for number, block in enumerate(blocks[:-1], start=1):
        match = _NUMBERED.match(block)
        if not match or int(match.group(1)) != number:
            return None
        passages.append(block[match.end() :].strip())
    if not passages or not blocks[-1]:
        return None
    return passages, blocks[-1]


def view_of(
    messages: list[dict],
    context: str | None = None,
    tools: list[dict] | str | None = None,
    execution: dict | None = None,
) -> PairView:
    """The last user turn and answer of a conversation, and the source they are grounded in: `context` when the record
    keeps it apart from the conversation, else the user turn's text before its last blank line. `tools` may be the
    record's JSON text of them."""
    import json

    user = next((m.get("content") for m in reversed(messages) if m.get("role") == "user"), "") or ""
    response = next((m.get("content") for m in reversed(messages) if m.get("role") == "assistant"), "") or ""
    if isinstance(tools, str):
        try:
            tools = json.loads(tools)
        except ValueError:
            tools = None
    extras = {
        "messages": tuple(messages),
        "tools": tuple(tools) if isinstance(tools, list) else (),
        "execution": execution or None,
    }
    if context:
        # Retrieved passages are what the question is asked over, not part of it (the validators read them in
        # `messages`); the source the record keeps apart is the relevant one.
        retrieved = retrieved_passages(user)
        instruction = retrieved[1] if retrieved else user
        return PairView(context.strip(), instruction.strip(), response.strip(), **extras)
    passage, separator, instruction = user.strip().rpartition("\n\n")
    if not separator:
        passage, instruction = "", user.strip()
    return PairView(passage.strip(), instruction.strip(), response.strip(), **extras)


def record_view(record: dict) -> PairView:
    """`view_of` a dataset row or a generated record (its `messages`, `context`, `tools` and `execution`)."""
    return view_of(record["messages"], record.get("context"), record.get("tools"), record.get("execution"))
