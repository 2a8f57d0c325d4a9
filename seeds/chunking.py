"""Split long documents into seeds of bounded size without cutting sentences where avoidable."""

from __future__ import annotations

import re

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def chunk_text(text: str, max_chars: int) -> list[str]:
    """Cut `text` into chunks of at most `max_chars`, packing whole paragraphs, then sentences, then characters.

    Whitespace inside paragraphs is kept (code stays intact); blank-line runs between paragraphs become one.
    """
    text = text.strip()
    if len(text) <= max_chars:
        return [text] if text else []
    # (piece, separator placed before it when joined to the previous piece)
    pieces: list[tuple[str, str]] = []
    for paragraph in re.split(r"\n\s*\n", text):
        paragraph = paragraph.strip()
        if not paragraph:
            continue
        if len(paragraph) <= max_chars:
            pieces.append((paragraph, "\n\n"))
            continue
        separator = "\n\n"
        for sentence in _SENTENCE_END.split(paragraph):
            for start in range(0, len(sentence), max_chars):
                pieces.append((sentence[start : start + max_chars], separator))
                separator = " "
    chunks: list[str] = []
    current = ""
    for piece, separator in pieces:
        joined = f"{current}{separator}{piece}" if current else piece
        if len(joined) <= max_chars:
            current = joined
        else:
            chunks.append(current)
            current = piece
    if current:
        chunks.append(current)
    return chunks
