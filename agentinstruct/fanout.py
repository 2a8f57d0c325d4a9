"""Run the independent LM calls of one unit at the same time (the instruction agents of a seed, the refinements and
responses of its instructions), in the caller's context, results in order.

How many calls are really in flight is bounded elsewhere, once per process (the endpoint client's in-flight limit);
this only makes independent calls available to fill it, so a run needs far fewer units in flight than calls.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import AbstractContextManager, contextmanager
from typing import TypeVar

T = TypeVar("T")

POOL_THREADS = 1024
"""Threads only ever wait on LM calls, never on each other, so a large pool cannot deadlock; idle ones cost nothing."""

one_call_at_a_time: contextvars.ContextVar[bool] = contextvars.ContextVar("one_call_at_a_time", default=False)
"""Set where the LM serves one call at a time (the embedded model): overlapping calls would only wait on each other
and interleave prompts, which costs llama.cpp the reuse of each predictor's shared prompt prefix (a demo run went
from 3.1 to 4.1 s per call)."""


@contextmanager
def context_value(var: contextvars.ContextVar[T], value: T) -> Iterator[T]:
    """`var` holds `value` inside this block, in the work `fan_out` runs from it too (it copies the caller's
    context), and what it held before afterwards."""
    token = var.set(value)
    try:
        yield value
    finally:
        var.reset(token)


def calls_one_at_a_time(enabled: bool) -> AbstractContextManager[bool]:
    """`fan_out` runs calls one after another inside this block when `enabled`."""
    return context_value(one_call_at_a_time, enabled)


_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _executor() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=POOL_THREADS, thread_name_prefix="agentinstruct-call")
        return _pool


def fan_out(calls: Sequence[Callable[[], T]]) -> list[T]:
    """Run `calls` concurrently and return their results in order (the first exception, in order, is raised).

    Each call runs in a copy of the caller's context, so DSPy settings (LM, callbacks, usage tracking), MLflow spans
    and per-unit counters follow it. While DSPy records a trace for an optimizer, calls run one after another: a
    failed stage removes its own entries from the end of that trace, which only holds when stages do not interleave;
    and where the LM serves one call at a time (`one_call_at_a_time`).
    """
    import dspy

    if len(calls) <= 1 or dspy.settings.trace is not None or one_call_at_a_time.get():
        return [call() for call in calls]
    futures: list[Future] = [_executor().submit(contextvars.copy_context().run, call) for call in calls[1:]]
    results: list[T] = []
    first_error: BaseException | None = None
    try:
        results.append(calls[0]())
    except BaseException as exc:  # re-raised below, after the other calls have finished
        first_error = exc
    for future in futures:
        try:
            results.append(future.result())
        except BaseException as exc:
            first_error = first_error or exc
    if first_error is not None:
        raise first_error
    return results
