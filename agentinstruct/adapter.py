"""DSPy's ChatAdapter, remembering the parts of a request that depend only on the signature and the demos.

ChatAdapter builds every request from scratch: the system message (field descriptions, the field structure and the
instructions) and the demo turns are formatted again on every call, each field value through a new pydantic
TypeAdapter, although a predictor sends the same system message and the same demos on every call (0.12 ms of CPU
per format against 0.04 ms here, on every predictor of every skill). This adapter keeps the last few hundred of each;
the messages it returns are exactly ChatAdapter's.
"""

from __future__ import annotations

from typing import Any

import dspy

from agentinstruct.recent import RecentValues

CACHED_SIGNATURES = 512
"""System messages and demo turns kept (each): every predictor of every skill of a mixed run fits."""


class CachingChatAdapter(dspy.ChatAdapter):
    """`dspy.ChatAdapter` that formats a signature's system message and a demo list's turns once.

    Keys: the system message by the signature class (held, so its id is never reused) and its instructions; the demo
    turns by the signature class, its instructions and every demo's values of the signature's fields. Demos with a
    value that is not a string or None are formatted each time: equal values need not format alike (`1`, `1.0` and
    `True` are equal). Conversation history is handled by ChatAdapter as before.
    """

    def __init__(self, *args: Any, cache_size: int = CACHED_SIGNATURES, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._system_messages = RecentValues(cache_size)
        self._demo_turns = RecentValues(cache_size)

    def format_system_message(self, signature: type[dspy.Signature]) -> str:
        return self._system_messages.get_or_make(
            (signature, signature.instructions),
            lambda: super(CachingChatAdapter, self).format_system_message(signature),
        )

    def format_demos(self, signature: type[dspy.Signature], demos: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if not demos:
            return []
        key = _demos_key(signature, demos)
        if key is None:
            return super().format_demos(signature, demos)
        turns = self._demo_turns.get_or_make(
            key, lambda: super(CachingChatAdapter, self).format_demos(signature, demos)
        )
        return [dict(turn) for turn in turns]  # the caller may change its messages; the kept ones stay as made


# DSPy wraps `format` and `parse` with its callbacks again for every subclass of an adapter (`__init_subclass__`);
# ChatAdapter's are wrapped already, so the second wrapper would report each format and parse to the callbacks twice
# and pay for it (a uuid4 and `inspect.getcallargs` each, per call).
CachingChatAdapter.format = dspy.ChatAdapter.format
CachingChatAdapter.parse = dspy.ChatAdapter.parse


def _demos_key(signature: type[dspy.Signature], demos: list[Any]) -> tuple | None:
    """What `format_demos` reads of `demos` for `signature`, or None when a value may format differently from an
    equal one (anything but str or None)."""
    names = tuple(signature.fields)
    values = []
    for demo in demos:
        present = []
        for name in names:
            if name in demo:
                value = demo[name]
                if value is not None and type(value) is not str:
                    return None
                present.append((name, value))
        values.append(tuple(present))
    return (signature, signature.instructions, names, tuple(values))
