"""Build the DSPy LMs of each role (generator, judge, prompt model) from a model string.

`embedded` is the in-process llama.cpp default; anything else is a DSPy/LiteLLM model string, with an optional
`api_base` for OpenAI-compatible servers. API keys are read by the client from the environment only, never passed
here, so they cannot end up in DSPy's LM kwargs, MLflow params or traces.
"""

from __future__ import annotations

import zlib
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from agentinstruct.endpoint import DEFAULT_TIMEOUT, OPENAI_BASE
from agentinstruct.errors import UserError

if TYPE_CHECKING:
    import dspy

EMBEDDED = "embedded"
DEFAULT_TEMPERATURE = 0.7
DEFAULT_MAX_TOKENS = 512


@dataclass(frozen=True)
class LMSpec:
    """Everything needed to build one role's LM, in any process: plain data, no secrets (keys come from the
    environment of the process that makes the calls)."""

    model: str = EMBEDDED
    api_base: str | None = None
    temperature: float = DEFAULT_TEMPERATURE
    max_tokens: int = DEFAULT_MAX_TOKENS
    timeout: float = DEFAULT_TIMEOUT

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def build(self, cache: bool = True) -> dspy.LM:
        return build_lm(
            self.model,
            self.api_base,
            temperature=self.temperature,
            max_tokens=self.max_tokens,
            cache=cache,
            timeout=self.timeout,
        )


def build_lm(
    model: str = EMBEDDED,
    api_base: str | None = None,
    *,
    temperature: float = DEFAULT_TEMPERATURE,
    max_tokens: int = DEFAULT_MAX_TOKENS,
    cache: bool = True,
    num_retries: int = 3,
    timeout: float = DEFAULT_TIMEOUT,
) -> dspy.LM:
    """A `dspy.LM` for `model`.

    `openai/<name>` models (OpenAI, or any OpenAI-compatible server at `api_base`) use agentinstruct's endpoint client
    (`agentinstruct.endpoint`: one in-flight limit, per-call timeout, retries with backoff honouring Retry-After);
    other provider strings use DSPy's own client with `num_retries` and `timeout`.

    Args:
        model: `embedded`, or a model string such as `openai/gpt-4o-mini` or `openai/<served-name>`.
        api_base: Base URL of an OpenAI-compatible server (vLLM, llama.cpp server, ...).
        temperature: Sampling temperature.
        max_tokens: Most tokens per output field (embedded) or per response (endpoints).
        cache: Use DSPy's response cache.
        num_retries: Retries on transient errors for providers DSPy's client serves.
        timeout: Seconds per endpoint call.
    """
    import dspy
    from dspy.utils.exceptions import LMConfigurationError

    if model == EMBEDDED:
        if api_base:
            raise UserError("--api-base applies to endpoint models, not to the embedded model")
        from agentinstruct.embedded import MODEL_NAME

        engine = shared_embedded_engine()
        # DSPy's cache key covers the request, not how the engine decodes it: the engine's fingerprint, passed as
        # the rollout id (which DSPy keys on and never sends), keeps responses of other decoding settings apart.
        return dspy.LM(
            MODEL_NAME,
            engine=engine,
            temperature=temperature,
            max_tokens=max_tokens,
            cache=cache,
            rollout_id=engine.fingerprint,
        )
    if "/" not in model:
        raise UserError(f"--lm must be 'embedded' or a provider/model string such as openai/gpt-4o-mini, got '{model}'")
    from agentinstruct.tracking import redact

    kwargs: dict[str, Any] = {}
    if api_base:
        # DSPy's cache key leaves the endpoint out: two servers serving one model name would share entries. A rollout
        # id derived from the URL (without credentials, so a new key keeps the cache) gives each server its own cache
        # identity; DSPy strips it before sending.
        kwargs["rollout_id"] = zlib.crc32(redact(api_base).rstrip("/").encode())
    try:
        if model.startswith("openai/"):
            from agentinstruct.endpoint import EndpointEngine

            engine = EndpointEngine(api_base or OPENAI_BASE, timeout=timeout)
            return dspy.LM(
                model,
                engine=engine,
                temperature=temperature,
                max_tokens=max_tokens,
                cache=cache,
                num_retries=0,
                **kwargs,
            )
        if api_base:
            kwargs["api_base"] = api_base
        return dspy.LM(
            model,
            temperature=temperature,
            max_tokens=max_tokens,
            cache=cache,
            num_retries=num_retries,
            timeout=timeout,
            **kwargs,
        )
    except ValueError as exc:
        raise UserError(f"invalid --lm '{model}': {redact(str(exc))}") from exc
    except LMConfigurationError as exc:
        if "reasoning" not in str(exc):
            raise UserError(f"invalid --lm '{model}': {redact(str(exc))}") from exc
        # DSPy refuses settings OpenAI's reasoning models (o1-o5, gpt-5.x) reject: a message in our options' terms.
        raise UserError(
            f"{model} is one of OpenAI's reasoning models: it takes temperature 1 and at least 16000 max tokens "
            f"(its reasoning counts against them), not temperature {temperature:g} and {max_tokens} max tokens; "
            "as --lm, pass --temperature 1 --max-tokens 16000; as --judge-lm (greedy, 64 tokens), use another model"
        ) from exc


JUDGE_SETTINGS = {"temperature": 0.0, "max_tokens": 64}
"""The judge decodes greedily and briefly, so a pair's ratings do not change from call to call."""


def role_api_base(model: str, api_base: str | None) -> str | None:
    """The endpoint of a secondary role (judge, prompt model): the run's `--api-base`, except for the embedded
    model, which has none."""
    return None if model == EMBEDDED else api_base


_ENGINE = None


def shared_embedded_engine():
    """The one embedded engine of this process: roles and threads share one model (and its lock)."""
    global _ENGINE
    if _ENGINE is None:
        from agentinstruct.embedded import EmbeddedEngine

        _ENGINE = EmbeddedEngine()
    return _ENGINE


def check_lms(lm: dspy.LM, api_base: str | None, judge: LMSpec | None) -> None:
    """A run's endpoint checks: the judge's LM built first (settings a model refuses are one line before any call),
    then one call to the generator and one to the judge."""
    judge_lm = judge.build() if judge is not None else None
    check_lm(lm, api_base)
    if judge_lm is not None:
        check_lm(judge_lm, judge.api_base)


def check_lm(lm: dspy.LM, api_base: str | None = None) -> None:
    """Fail before the run starts when the LM is unusable: check the embedded model runs on this machine (in a child
    process, the first time) and load it, or make one tiny uncached call to an endpoint.

    Raises:
        UserError: The model cannot be loaded, or the endpoint cannot be reached or refused the call.
    """
    from agentinstruct.embedded import EmbeddedEngine

    if isinstance(getattr(lm, "engine", None), EmbeddedEngine):
        from agentinstruct.health import ensure_embedded_runtime

        engine = lm.engine
        try:
            path = engine.resolved_model_path()
        except Exception as exc:  # the model package is missing or its parts cannot be assembled
            raise UserError(f"cannot load the embedded model: {type(exc).__name__}: {exc}") from exc
        if not path.is_file():
            raise UserError(f"cannot load the embedded model: no model file at {path}")
        # A llama.cpp build this CPU cannot run dies with SIGILL: find out in a child process (once per build, CPU
        # and model), so the user gets one line instead of a core dump in the middle of a run.
        ensure_embedded_runtime(path, engine.n_ctx, engine.n_threads)
        try:
            engine.load()
        except Exception as exc:  # a corrupt GGUF, an unloadable llama.cpp build
            raise UserError(f"cannot load the embedded model: {type(exc).__name__}: {exc}") from exc
        return
    from agentinstruct.endpoint import EndpointEngine
    from agentinstruct.tracking import redact

    probe = lm.copy(cache=False, num_retries=0)
    try:
        if isinstance(getattr(lm, "engine", None), EndpointEngine):
            # One quick attempt, not the run's patience: a wrong port or key should be one line within seconds.
            engine = EndpointEngine(
                lm.engine.base_url, timeout=min(lm.engine.timeout, 30), attempts=1, wait_for_connection=False
            )
            probe = lm.copy(cache=False, engine=engine)
        # Four tokens say whether the endpoint answers; an OpenAI reasoning model's cap (`max_completion_tokens`)
        # counts its reasoning too, and DSPy refuses a second cap beside it: its own settings.
        probe("Say OK.", **({} if "max_completion_tokens" in lm.kwargs else {"max_tokens": 4}))
    except Exception as exc:  # every client/network failure here is the user's endpoint, not a bug
        where = f" at {redact(api_base)}" if api_base else ""
        message = redact(" ".join(str(exc).split()))[:200]
        raise UserError(f"cannot use LM '{lm.model}'{where}: {message}") from exc
