"""The client for OpenAI-compatible chat endpoints (vLLM, llama.cpp server, SGLang, hosted APIs), as a DSPy engine.

Built for keeping many calls in flight through faults:

- one in-flight limit for the whole process (`--max-inflight`), whatever the number of units or threads;
- a per-call timeout, so a hung call is retried instead of stalling its unit;
- retries with exponential backoff and jitter on 429, 5xx, timeouts and malformed bodies, honouring `Retry-After`;
- connection failures are retried until the endpoint counts as down: after `DOWN_AFTER_FAILURES` consecutive
  connection failures spanning at least `DOWN_AFTER_SECONDS`, every call fails at once and the run stops with one
  line (its in-flight units are not recorded, so a rerun redoes them);
- every retry and every call given up is counted, per reason, for the run and for the unit that made it.

DSPy's own retry loop is off for these LMs (`num_retries=0`): this client owns retries, so that waiting releases the
in-flight slot and every attempt is counted. The API key comes from `OPENAI_API_KEY` (hosted OpenAI) or the URL; it
is never part of the LM's settings, so it cannot reach DSPy's cache key, MLflow or a progress file.
"""

from __future__ import annotations

import contextvars
import email.utils
import os
import random
import threading
import time
from collections import Counter
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from dspy.lm15 import Request, Response

OPENAI_BASE = "https://api.openai.com/v1"
DEFAULT_MAX_INFLIGHT = 16
"""Calls in flight at once when `--max-inflight` is not given: within hosted APIs' usual concurrency limits."""
DEFAULT_TIMEOUT = 120.0
"""Seconds one call may take before it is abandoned and retried (a long answer from a busy server fits)."""
MAX_ATTEMPTS = 6
"""Attempts per call for 429/5xx/timeouts/malformed bodies (connection failures retry until the endpoint is down)."""
BACKOFF_BASE = 0.5
BACKOFF_CAP = 8.0
RETRY_AFTER_CAP = 120.0
DOWN_AFTER_FAILURES = 8
DOWN_AFTER_SECONDS = 10.0
_RETRIED_STATUS = {408, 409, 425, 429}


class EndpointDown(Exception):
    """The endpoint stopped accepting connections; the run stops and its in-flight units are redone on resume."""


@dataclass
class CallStats:
    """Counts of one run's (or one unit's) endpoint calls; merged across threads and workers."""

    attempts: int = 0
    completed: int = 0
    retries: Counter = field(default_factory=Counter)
    gave_up: Counter = field(default_factory=Counter)
    peak_inflight: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "attempts": self.attempts,
            "completed": self.completed,
            "retries": dict(self.retries),
            "gave_up": dict(self.gave_up),
            "peak_inflight": self.peak_inflight,
        }

    def merge(self, other: dict[str, Any]) -> None:
        self.attempts += other.get("attempts", 0)
        self.completed += other.get("completed", 0)
        self.retries.update(other.get("retries", {}))
        self.gave_up.update(other.get("gave_up", {}))
        self.peak_inflight = max(self.peak_inflight, other.get("peak_inflight", 0))


_UNIT_STATS: contextvars.ContextVar[CallStats | None] = contextvars.ContextVar("agentinstruct_unit_stats", default=None)


def counting_calls(stats: CallStats) -> AbstractContextManager[CallStats]:
    """Count the endpoint calls made in this context (and in work it fans out with copied contexts) into `stats`."""
    from agentinstruct.fanout import context_value

    return context_value(_UNIT_STATS, stats)


class InflightLimit:
    """The process-wide bound on endpoint calls in flight, with the peak reached (for the benchmark)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._slots = threading.BoundedSemaphore(limit)
        self._lock = threading.Lock()
        self.inflight = 0
        self.peak = 0

    @contextmanager
    def slot(self):
        self._slots.acquire()
        with self._lock:
            self.inflight += 1
            self.peak = max(self.peak, self.inflight)
        try:
            yield
        finally:
            with self._lock:
                self.inflight -= 1
            self._slots.release()


_LIMIT = InflightLimit(DEFAULT_MAX_INFLIGHT)
_RUN_STATS = CallStats()
_STATS_LOCK = threading.Lock()


def set_max_inflight(limit: int) -> None:
    """Set the process-wide in-flight limit (before calls start; a worker process sets its share)."""
    global _LIMIT
    _LIMIT = InflightLimit(limit)


def run_stats() -> CallStats:
    """This process's endpoint call counts since `reset_run_stats`."""
    with _STATS_LOCK:
        stats = CallStats()
        stats.merge(_RUN_STATS.as_dict())
        stats.peak_inflight = max(stats.peak_inflight, _LIMIT.peak)
        return stats


def reset_run_stats() -> None:
    global _RUN_STATS
    with _STATS_LOCK:
        _RUN_STATS = CallStats()
    _LIMIT.peak = 0
    for breaker in _BREAKERS.values():
        breaker.reset()


def _count(kind: str, reason: str | None = None) -> None:
    unit = _UNIT_STATS.get()
    with _STATS_LOCK:
        for stats in (_RUN_STATS, unit) if unit is not None else (_RUN_STATS,):
            if kind == "attempt":
                stats.attempts += 1
            elif kind == "completed":
                stats.completed += 1
            elif kind == "retry":
                stats.retries[reason] += 1
            else:
                stats.gave_up[reason] += 1


class Breaker:
    """Counts consecutive connection failures to one endpoint; `down` once they pass both thresholds."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self.failures = 0
            self.first_failure_at = 0.0
            self.down_reason: str | None = None

    @property
    def down(self) -> bool:
        return self.down_reason is not None

    def connected(self) -> None:
        with self._lock:
            if self.down_reason is None:
                self.failures = 0

    def failed(self, reason: str) -> None:
        with self._lock:
            now = time.monotonic()
            if self.failures == 0:
                self.first_failure_at = now
            self.failures += 1
            if self.failures >= DOWN_AFTER_FAILURES and now - self.first_failure_at >= DOWN_AFTER_SECONDS:
                self.down_reason = (
                    f"{self.failures} consecutive connection failures over {now - self.first_failure_at:.0f} s "
                    f"(last: {reason})"
                )


_BREAKERS: dict[str, Breaker] = {}
_BREAKERS_LOCK = threading.Lock()


def breaker_for(base_url: str) -> Breaker:
    with _BREAKERS_LOCK:
        return _BREAKERS.setdefault(base_url, Breaker())


def down_endpoints() -> dict[str, str]:
    """Endpoints of this process that count as down, with why (URLs without credentials)."""
    from agentinstruct.tracking import redact

    return {redact(url): b.down_reason for url, b in _BREAKERS.items() if b.down_reason}


def backoff_delay(attempt: int, retry_after: float | None = None) -> float:
    """Seconds to wait before attempt `attempt + 1`: the server's `Retry-After` when it gives one (capped), else
    exponential backoff with jitter (half fixed, half random, so many callers do not retry in step)."""
    if retry_after is not None:
        return min(max(retry_after, 0.0), RETRY_AFTER_CAP)
    ceiling = min(BACKOFF_CAP, BACKOFF_BASE * 2**attempt)
    return ceiling / 2 + random.uniform(0, ceiling / 2)


def parse_retry_after(value: str | None) -> float | None:
    """`Retry-After` in seconds: a number of seconds or an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


class _Retry(Exception):
    def __init__(self, reason: str, detail: str, retry_after: float | None = None) -> None:
        super().__init__(detail)
        self.reason = reason
        self.retry_after = retry_after


class EndpointEngine:
    """A DSPy 3.4 engine (`complete(Request) -> Response`) speaking OpenAI chat completions over one shared HTTP
    connection pool.

    Args:
        base_url: The server's base URL (`.../v1`); credentials in it (`user:key@` or `?api_key=`) are sent as the
            server expects and never shown.
        timeout: Seconds per call.
        attempts: Attempts per call; `wait_for_connection` retries connection failures until the endpoint is down.
        wait_for_connection: False for a one-shot probe: a refused connection fails the call at once.
        api_key_env: Environment variable holding the bearer key (read per engine, never stored in settings).
    """

    def __init__(
        self,
        base_url: str,
        timeout: float = DEFAULT_TIMEOUT,
        *,
        attempts: int = MAX_ATTEMPTS,
        wait_for_connection: bool = True,
        api_key_env: str = "OPENAI_API_KEY",
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.attempts = attempts
        self.wait_for_connection = wait_for_connection
        self.api_key_env = api_key_env
        self._client = None
        self._client_lock = threading.Lock()
        self._flights: dict[str, Any] = {}
        self._flights_lock = threading.Lock()
        self.breaker = breaker_for(self.base_url)

    # DSPy saves an LM's engine with the program only when asked to; the state holds no secret.
    def dump_state(self) -> dict[str, Any]:
        from agentinstruct.tracking import redact

        return {"base_url": redact(self.base_url), "timeout": self.timeout}

    @classmethod
    def load_state(cls, state: dict[str, Any]) -> EndpointEngine:
        return cls(state["base_url"], state.get("timeout", DEFAULT_TIMEOUT))

    def _http(self):
        with self._client_lock:
            if self._client is None:
                import httpx

                parts = urlsplit(self.base_url)
                auth = None
                if parts.username or parts.password:
                    auth = httpx.BasicAuth(parts.username or "", parts.password or "")
                host = parts.hostname or ""
                netloc = f"{host}:{parts.port}" if parts.port else host
                key = os.environ.get(self.api_key_env)
                headers = {"Authorization": f"Bearer {key}"} if key else {}
                connections = max(_LIMIT.limit, 1) + 4
                self._client = httpx.Client(
                    base_url=parts._replace(netloc=netloc, query="").geturl(),
                    params=dict(_query_pairs(parts.query)),
                    auth=auth,
                    headers=headers,
                    timeout=httpx.Timeout(self.timeout, connect=min(self.timeout, 10.0)),
                    limits=httpx.Limits(max_connections=connections, max_keepalive_connections=connections),
                )
            return self._client

    def complete(self, request: Request) -> Response:
        """The answer to `request`; a request identical to one in flight waits for that one's answer.

        A unit's independent calls run side by side (`fan_out`), and some are the same request (two instruction
        agents proposing the same instruction, say): run one after another, DSPy's cache answered the second. Here
        the second shares the first's answer instead of making another call; if the first fails, it makes its own.
        """
        import copy
        import dataclasses
        import json
        from concurrent.futures import Future

        from dspy.lm15 import Usage

        body = chat_body(request)
        key = json.dumps(body, sort_keys=True)
        with self._flights_lock:
            flight = self._flights.get(key)
            leading = flight is None
            if leading:
                flight = self._flights[key] = Future()
        if not leading:
            if flight.exception() is None:
                # The shared answer cost nothing more, as a cache hit: its usage would count the leader's tokens twice
                # (whether a repeat shares a call or hits the cache afterwards is timing, so the spend would be too).
                return dataclasses.replace(copy.deepcopy(flight.result()), usage=Usage(input_tokens=0, output_tokens=0))
            return self._complete(body, request.model)
        try:
            response = self._complete(body, request.model)
        except BaseException as exc:
            flight.set_exception(exc)
            raise
        else:
            flight.set_result(response)
            return response
        finally:
            with self._flights_lock:
                del self._flights[key]

    def _complete(self, body: dict[str, Any], model: str) -> Response:
        from dspy.lm15 import ServerError, TimeoutError, TransportError

        attempt = 0
        while True:
            if self.breaker.down:
                raise TransportError(f"endpoint down: {self.breaker.down_reason}")
            try:
                with _LIMIT.slot():
                    _count("attempt")
                    return self._post(body, model)
            except _Retry as retry:
                connection = retry.reason == "connection" and self.wait_for_connection
                if connection:
                    self.breaker.failed(str(retry))
                    if self.breaker.down:
                        _count("gave_up", "endpoint_down")
                        raise TransportError(f"endpoint down: {self.breaker.down_reason}") from None
                if not connection and attempt + 1 >= self.attempts:
                    _count("gave_up", retry.reason)
                    message = f"gave up after {attempt + 1} attempts ({retry.reason}): {retry}"
                    raise (TimeoutError if retry.reason == "timeout" else ServerError)(message) from None
                _count("retry", retry.reason)
                time.sleep(backoff_delay(attempt, retry.retry_after))
                attempt += 1

    def _post(self, body: dict[str, Any], model: str) -> Response:
        import httpx
        from dspy.lm15 import AuthError, InvalidRequestError, response_from_openai_chat

        try:
            answer = self._http().post("/chat/completions", json=body)
        except httpx.TimeoutException as exc:
            if isinstance(exc, httpx.ConnectTimeout):
                raise _Retry("connection", f"connect timeout: {exc}") from None
            raise _Retry("timeout", f"no answer within {self.timeout:g} s") from None
        except (httpx.ConnectError, httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError) as exc:
            raise _Retry("connection", f"{type(exc).__name__}: {exc}") from None
        self.breaker.connected()
        status = answer.status_code
        if status == 429 or status in _RETRIED_STATUS or status >= 500:
            reason = "rate_limited" if status == 429 else f"http_{status}"
            raise _Retry(
                reason, f"HTTP {status}: {answer.text[:200]}", parse_retry_after(answer.headers.get("retry-after"))
            )
        if status in (401, 403):
            raise AuthError(f"HTTP {status}: {answer.text[:200]}", status=status)
        if status >= 400:
            raise InvalidRequestError(f"HTTP {status}: {answer.text[:300]}", status=status)
        try:
            payload = answer.json()
            response = response_from_openai_chat(payload, model=model)
        except Exception as exc:  # a body that is not a chat completion: the server's fault, worth another try
            raise _Retry("malformed_response", f"unreadable response body: {type(exc).__name__}: {exc}") from None
        _count("completed")
        return response

    def stream(self, request: Request):
        from dspy.lm15 import response_to_events

        return response_to_events(self.complete(request))

    def close(self) -> None:
        with self._client_lock:
            if self._client is not None:
                self._client.close()
                self._client = None


def _query_pairs(query: str) -> list[tuple[str, str]]:
    from urllib.parse import parse_qsl

    return parse_qsl(query, keep_blank_values=True)


def chat_body(request: Request) -> dict[str, Any]:
    """The OpenAI chat-completions JSON for a DSPy request (text turns; what DSPy's chat and JSON adapters send)."""
    from dspy.lm15 import UnsupportedFeatureError

    if request.tools:
        raise UnsupportedFeatureError("tool calls are not supported by agentinstruct's endpoint client")
    messages = []
    if request.system:
        system = request.system if isinstance(request.system, str) else "".join(p.text for p in request.system)
        messages.append({"role": "system", "content": system})
    messages.extend({"role": m.role, "content": m.text or ""} for m in request.messages)
    model = request.model.split("/", 1)[1] if request.model.startswith("openai/") else request.model
    body: dict[str, Any] = {"model": model, "messages": messages}
    config = request.config
    for name in ("max_tokens", "temperature", "top_p", "seed", "frequency_penalty", "presence_penalty"):
        value = getattr(config, name, None)
        if value is not None:
            body[name] = value
    if config.stop:
        body["stop"] = list(config.stop)
    if config.response_format is not None:
        body["response_format"] = config.response_format
    if config.extensions:
        body.update(config.extensions)
    return body
