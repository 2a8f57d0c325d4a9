"""The execution seam of `generate`: one unit of work (a seed and a draw) as a callable built from plain data.

`UnitSpec` holds everything a worker needs (skill, program state, each role's LM spec, the run's settings), as JSON
data, so the same `UnitWorker` runs on a thread of the driver, in another process, or on a Ray actor. A worker
returns a unit's outcome as plain data too: its pairs (with the order-free scores: validators and the judge), their
embeddings, its failures, its own LM-call/token/retry counts and its trace. Admission (novelty and duplicates against
the kept set, the quality threshold) is not done here: the driver does it, in plan order.
"""

from __future__ import annotations

import contextvars
import functools
import threading
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from agentinstruct.lm import LMSpec

UnitKey = tuple[int, str]
"""(draw, seed id): a unit's identity, whatever position its seed has in the seed list."""
TRIM_SECONDS = 5.0
"""How often finished units give the memory malloc holds free back to the OS (`release_freed_memory`)."""


@dataclass(frozen=True)
class UnitTask:
    """One unit to run: a seed (id, text, source) and the draw of its plan."""

    draw: int
    seed_id: str
    text: str
    source: str

    @property
    def key(self) -> UnitKey:
        return (self.draw, self.seed_id)


@dataclass(frozen=True)
class UnitSpec:
    """Everything a worker needs to build its LMs, pipeline and scorer, as JSON-serialisable data.

    Attributes:
        program_state: A compiled program's state (`read_program_state`), or None for the skill's starter program.
        judge: The judge's LM spec, or None to score without a judge.
        embedding_model: The sentence-transformers folder the worker embeds pairs with (for the driver's novelty).
        max_inflight: This worker process's share of the run's in-flight limit.
        lineage: `program_id`, `generator_lm` and `run_id`, stamped on every record and failure.
        model_checks: Whether the embedded model's checks (`metrics.lm_checks`) score the pairs validators pass.
        corpus: The job's seeds as [seed id, text] pairs, for a skill whose responder retrieves from the other seeds
            (`Behaviour.uses_corpus`, `programs.retrieval.job_corpus`); None otherwise.
    """

    skill: str
    generator: LMSpec
    random_seed: int
    refine_rounds: int
    lineage: dict[str, str]
    embedding_model: str
    max_inflight: int
    judge: LMSpec | None = None
    program_state: dict | None = None
    model_checks: bool = False
    corpus: list[list[str]] | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> UnitSpec:
        judge = data.get("judge")
        return cls(
            **{
                **data,
                "generator": LMSpec(**data["generator"]),
                "judge": LMSpec(**judge) if judge else None,
            }
        )


@dataclass
class _CallLog:
    """One unit's LM calls: how many, and each one's input and output for its trace."""

    calls: int = 0
    events: list[dict[str, Any]] = field(default_factory=list)
    _open: dict[str, dict[str, Any]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def started(self, call_id: str, instance: Any, inputs: dict[str, Any]) -> None:
        messages = inputs.get("messages") or [{"role": "user", "content": str(inputs.get("prompt") or "")}]
        # The system prompt and demos are the program's (program.json); the trace keeps this call's input.
        last = messages[-1].get("content") if messages else ""
        with self._lock:
            self.calls += 1
            self._open[call_id] = {
                "start_ns": time.time_ns(),
                "model": getattr(instance, "model", ""),
                "input": last if isinstance(last, str) else str(last),
            }

    def ended(self, call_id: str, outputs: Any, exception: Exception | None) -> None:
        with self._lock:
            event = self._open.pop(call_id, None)
            if event is None:
                return
            event["end_ns"] = time.time_ns()
            if exception is not None:
                event["error"] = f"{type(exception).__name__}: {exception}"[:500]
            else:
                first = outputs[0] if isinstance(outputs, list) and outputs else outputs
                event["output"] = first.get("text", str(first)) if isinstance(first, dict) else str(first)
            self.events.append(event)


_UNIT_CALL_LOG: contextvars.ContextVar[_CallLog | None] = contextvars.ContextVar(
    "agentinstruct_unit_call_log", default=None
)


def _log_calls_of(lm) -> None:
    """Report `lm`'s calls to the call log of the unit that makes them (`_UNIT_CALL_LOG`, which `fan_out` carries).

    A callback on the LM itself, not in DSPy's settings: DSPy runs every settings callback around every module call,
    adapter format and parse as well (an `inspect.getcallargs` and a uuid4 each, about five per LM call), while an
    LM's own callbacks run only around its calls.
    """
    from dspy.utils.callback import BaseCallback

    class UnitCallLog(BaseCallback):
        def on_lm_start(self, call_id, instance, inputs) -> None:
            log = _UNIT_CALL_LOG.get()
            if log is not None:
                log.started(call_id, instance, inputs)

        def on_lm_end(self, call_id, outputs, exception=None) -> None:
            log = _UNIT_CALL_LOG.get()
            if log is not None:
                log.ended(call_id, outputs, exception)

    lm.callbacks = [*lm.callbacks, UnitCallLog()]


class UnitWorker:
    """Builds the LMs, pipeline and scorer of a `UnitSpec` once, then runs units (thread-safe; one per process).

    Calling it with a `UnitTask` returns the unit's outcome (`outcome_of` describes it).
    """

    def __init__(self, spec: UnitSpec) -> None:
        from agentinstruct.adapter import CachingChatAdapter
        from agentinstruct.endpoint import set_max_inflight
        from agentinstruct.metrics import Embedder, Scorer
        from agentinstruct.metrics.lm_checks import embedded_lm_checks
        from agentinstruct.optimizers import load_program_state
        from agentinstruct.programs import AgentInstructPipeline, get_skill

        set_max_inflight(spec.max_inflight)
        _disk_cache_only()
        self.spec = spec
        self.skill = get_skill(spec.skill)
        self.pipeline = AgentInstructPipeline(self.skill)
        if spec.program_state is not None:
            load_program_state(self.pipeline, spec.program_state, "--program")
        self.lm = spec.generator.build()
        self.judge_lm = spec.judge.build() if spec.judge else None
        for lm in (self.lm, self.judge_lm):
            if lm is not None:
                _log_calls_of(lm)
        self.adapter = CachingChatAdapter()
        # Validators and the judge are order-free: they run here. Novelty needs the kept set: the driver's job.
        self.scorer = Scorer(
            skill=self.skill.name,
            judge_lm=self.judge_lm,
            embedder=None,
            lm_checks=embedded_lm_checks(spec.model_checks),
        )
        self.embedder = Embedder(spec.embedding_model)
        # One torch thread: the batcher's single thread encodes every unit's texts, and idle OpenMP threads of a
        # larger pool spin between batches, burning the cores the LM calls need (3 ms of CPU per call measured).
        import torch

        torch.set_num_threads(1)
        # Loaded now, once, rather than by the first units (which would all wait on its import).
        self.embedding_dimension = self.embedder.dimension
        self.batcher = EmbeddingBatcher(self.embedder)
        if spec.corpus is not None:
            from agentinstruct.programs.retrieval import Retriever

            # One retriever per worker: its index is built on the first search and shared by every unit.
            self.pipeline.corpus = Retriever(spec.corpus, self.batcher.embed)

    def __call__(self, task: UnitTask) -> dict[str, Any]:
        import dspy

        from agentinstruct.endpoint import CallStats, counting_calls, down_endpoints
        from agentinstruct.fanout import calls_one_at_a_time, context_value
        from agentinstruct.lm import EMBEDDED
        from agentinstruct.metrics import record_view
        from agentinstruct.records import make_failure, make_record
        from agentinstruct.seeds import Seed

        started_ns = time.time_ns()
        log, stats = _CallLog(), CallStats()
        seed = Seed(seed_id=task.seed_id, text=task.text, source=task.source)
        with (
            counting_calls(stats),
            calls_one_at_a_time(self.spec.generator.model == EMBEDDED),
            context_value(_UNIT_CALL_LOG, log),  # where the LMs report this unit's calls (`_log_calls_of`)
            # No LM history: the unit's trace keeps each call, and a history would grow with the run. No DSPy trace
            # either: its default is a list every predictor call appends to (10,000 calls' inputs and outputs), and
            # while it is a list `fan_out` runs a unit's independent calls one after another (as an optimizer needs).
            # No settings callbacks: the LMs report their calls to `log` themselves (`_log_calls_of`), and the unit's
            # trace is written by the driver; MLflow's DSPy callback (autolog with its traces off) only cost time.
            dspy.context(lm=self.lm, adapter=self.adapter, callbacks=[], disable_history=True, trace=None),
            dspy.track_usage() as usage,
        ):
            prediction = self.pipeline(
                seed=task.text,
                seed_id=task.seed_id,
                draw=task.draw,
                random_seed=self.spec.random_seed,
                refine_rounds=self.spec.refine_rounds,
            )
            records = [make_record(pair, seed, self.skill, **self.spec.lineage) for pair in prediction.samples]
            scores = [self.scorer.assess(record_view(record)) for record in records]
        # Per model (the generator and the judge may be priced differently) and with the calls that used them: a
        # call's price depends on its size (`agentinstruct.cost.price`). Cache hits and answers shared with an
        # identical call in flight used no tokens: not counted as calls either.
        tokens_by_model = {}
        for model, entries in usage.usage_data.items():
            used = [(int(e.get("prompt_tokens") or 0), int(e.get("completion_tokens") or 0)) for e in entries]
            used = [tokens for tokens in used if any(tokens)]
            tokens_by_model[str(model)] = [sum(t[0] for t in used), sum(t[1] for t in used), len(used)]
        tokens_in = sum(used[0] for used in tokens_by_model.values())
        tokens_out = sum(used[1] for used in tokens_by_model.values())
        failures = [make_failure(f, seed, self.skill, task.draw, **self.spec.lineage) for f in prediction.failures]
        vectors = self._embed([record_view(r).embedding_text for r in records])
        release_freed_memory()
        down = down_endpoints()
        plan = prediction.plan
        return {
            "unit": [task.draw, task.seed_id],
            "records": records,
            "scores": [_score_data(score) for score in scores],
            "vectors": vectors.tobytes(),
            "failures": failures,
            "resampled": dict(getattr(prediction, "resampled", None) or {}),
            "calls": log.calls,
            "tokens_in": tokens_in,
            "tokens_out": tokens_out,
            "tokens_by_model": tokens_by_model,
            "client": stats.as_dict(),
            # A unit that ran while its endpoint went down holds connection failures, not the model's: never stored.
            "aborted": "; ".join(f"{url}: {why}" for url, why in down.items()) or None,
            "trace": {
                "start_ns": started_ns,
                "end_ns": time.time_ns(),
                "seed_source": task.source,
                "plan": {
                    "transformation": plan.transformation,
                    "instruction_types": list(plan.instruction_types),
                    "refinement_goals": list(plan.refinement_goals),
                },
                "lm_calls": log.events,
            },
        }

    def _embed(self, texts: list[str]):
        import numpy as np

        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        return self.batcher.embed(texts)


class EmbeddingBatcher:
    """Embeds the texts of many units in shared batches on one thread.

    Units finish on many threads at once; each encoding its own few texts would run the model dozens of times in
    parallel (torch threads fighting over two cores) at a fraction of its batch speed. Here they queue their texts,
    and one thread encodes whatever has queued, up to `batch_size` texts a pass, in forwards of `forward_size` texts
    (sentence-transformers sorts a pass's texts by length first, so each forward pads little: 12.9 ms of CPU a text
    for 32 texts in forwards of 8 against 15.6 in one forward of 32, and 18.2 one text at a time, on one torch thread;
    the vectors differ by at most 1.3e-7, as between any two batchings).
    """

    def __init__(self, embedder, batch_size: int = 128, forward_size: int = 8) -> None:
        import queue

        self.embedder = embedder
        self.batch_size = batch_size
        self.forward_size = forward_size
        self._queue: queue.Queue = queue.Queue()
        self._thread = threading.Thread(target=self._work, name="agentinstruct-embed", daemon=True)
        self._thread.start()

    def embed(self, texts: list[str]):
        """Unit-norm float32 embeddings of `texts` (straight from the model: no per-text cache to grow)."""
        from concurrent.futures import Future

        future: Future = Future()
        self._queue.put((texts, future))
        return future.result()

    def _work(self) -> None:
        import numpy as np

        while True:
            waiting = [self._queue.get()]
            size = len(waiting[0][0])
            while size < self.batch_size and not self._queue.empty():
                waiting.append(self._queue.get_nowait())
                size += len(waiting[-1][0])
            texts = [text for batch, _ in waiting for text in batch]
            try:
                vectors = self.embedder.model.encode(
                    texts,
                    batch_size=self.forward_size,
                    normalize_embeddings=True,
                    convert_to_numpy=True,
                    show_progress_bar=False,
                ).astype(np.float32)
            except Exception as exc:  # handed to every unit in the batch: each fails like any unit error
                for _, future in waiting:
                    future.set_exception(exc)
                continue
            start = 0
            for batch, future in waiting:
                future.set_result(vectors[start : start + len(batch)])
                start += len(batch)


def release_freed_memory(every: float = TRIM_SECONDS) -> None:
    """Give the memory glibc's malloc holds free back to the OS (`malloc_trim`), at most once per `every` seconds.

    glibc raises its mmap threshold to the size of each large block freed (up to 32 MB), after which large blocks of
    changing size (the embedder's tensors follow each batch's shape, response bodies, Parquet shards) come from its
    arenas, and what a run freed there stayed resident, in pieces it gives back only from the top of a heap: measured
    on the stub, 170-300 MB free inside the arenas, growing in steps, about 2.5 MB more resident per 1,000 rows.
    Trimming every 5 s gives that back (about 200 MB less resident throughout, 0.66 MB per 1,000 rows) at no cost
    in throughput measured; holding the threshold at 128 KiB (`MALLOC_MMAP_THRESHOLD_`) kept the arenas flatter but
    made runs 17-19% slower. Called here, so that no user has to set anything; nothing where malloc is not glibc's.
    """
    global _trimmed_at
    now = time.monotonic()
    if now - _trimmed_at < every or not _trim_lock.acquire(blocking=False):
        return
    try:
        _trimmed_at = now
        trim = _malloc_trim()
        if trim is not None:
            trim(0)
    finally:
        _trim_lock.release()


_trim_lock = threading.Lock()
_trimmed_at = 0.0


@functools.cache
def _malloc_trim():
    import ctypes

    try:
        return ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):  # not glibc (macOS, musl)
        return None


def _disk_cache_only() -> None:
    """DSPy's response cache on disk only, read without a memory map.

    Its in-memory layer keeps every response of the process (up to a million), which a long run would grow without
    bound; a unit never repeats a request anyway. On disk, diskcache memory-maps up to 64 MB of each of DSPy's 16
    cache files per SQLite connection, and each thread opens its own connection to each file: every page a lookup
    touched stayed resident, once per thread, so resident memory grew with the cache (about 1.7 KB per LM call,
    measured). Without the map SQLite reads into its page cache, which is bounded per connection. The setting is
    stored in the cache's own settings table, which is where diskcache reads it for each new connection.
    """
    import dspy
    from dspy.clients import DISK_CACHE_DIR

    if getattr(dspy.cache, "enable_memory_cache", True):
        dspy.configure_cache(enable_disk_cache=True, enable_memory_cache=False, disk_cache_dir=DISK_CACHE_DIR)
    disk = getattr(dspy.cache, "disk_cache", None)
    if hasattr(disk, "reset"):  # a diskcache cache (a dict when the disk cache is off)
        disk.reset("sqlite_mmap_size", 0)


def _score_data(score) -> dict[str, Any]:
    """A `RecordScore`'s order-free part as plain data (`score_from_data` rebuilds it on the driver)."""
    return {
        "validator_failures": dict(score.validator_failures),
        "judgement": asdict(score.judgement) if score.judgement else None,
        "judge_error": score.judge_error,
    }


def score_from_data(data: dict[str, Any]):
    from agentinstruct.metrics import Judgement, RecordScore

    judgement = data.get("judgement")
    return RecordScore(
        validator_failures=dict(data.get("validator_failures") or {}),
        judgement=Judgement(**judgement) if judgement else None,
        judge_error=data.get("judge_error"),
    )
