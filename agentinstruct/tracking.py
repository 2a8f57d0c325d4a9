"""MLflow tracking: one run per `generate` / `compile` / `score`, tagged with its kind, with traces.

The store defaults to `sqlite:///mlflow.db` in the working folder (MLflow 3's default); `MLFLOW_TRACKING_URI`
overrides it. Nothing secret is logged: keys never reach the LM objects, and URLs lose any credentials they carry.

Several processes may share one sqlite store (two runs in one folder): its creation and our writes to it take an
exclusive lock on `<store>.lock`, so neither a new store's schema migration nor a write races another process.
Traces are exported synchronously (`MLFLOW_ENABLE_ASYNC_TRACE_LOGGING=false`): MLflow's asynchronous queue discards
traces when it is full, and nothing here may be dropped silently.
"""

from __future__ import annotations

import fcntl
import json
import os
import queue
import re
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

EXPERIMENT = "agentinstruct"
KIND_TAG = "agentinstruct.kind"
_URL_CREDENTIALS = re.compile(r"(?<=://)[^/@\s]+@")
_SECRET_QUERY = re.compile(r"(?i)([?&](?:api[_-]?key|key|token|access_token|sig)=)[^&\s]+")


def tracking_uri() -> str:
    return os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{Path.cwd() / 'mlflow.db'}"


def mlflow_ui_hint() -> str:
    """The command that opens the store runs are recorded in (wherever MLFLOW_TRACKING_URI points)."""
    uri = tracking_uri()
    if uri.startswith(("http://", "https://", "databricks")):
        return f"open {redact(uri)}"
    return f"mlflow ui --backend-store-uri {uri}"


_LOCAL = threading.local()


@contextmanager
def store_lock() -> Iterator[None]:
    """Hold the sqlite store's inter-process lock (reentrant within a thread; a no-op for other stores)."""
    uri = tracking_uri()
    if not uri.startswith("sqlite:///"):
        yield
        return
    if getattr(_LOCAL, "depth", 0):
        _LOCAL.depth += 1
        try:
            yield
        finally:
            _LOCAL.depth -= 1
        return
    path = Path(uri.removeprefix("sqlite:///") + ".lock")
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        _LOCAL.depth = 1
        try:
            yield
        finally:
            _LOCAL.depth = 0
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def synchronous_traces() -> None:
    """Export traces in the thread that ends them, so a full queue can never discard one (see the module doc)."""
    import mlflow

    if os.environ.get("MLFLOW_ENABLE_ASYNC_TRACE_LOGGING") != "false":
        os.environ["MLFLOW_ENABLE_ASYNC_TRACE_LOGGING"] = "false"
        mlflow.tracing.reset()


def redact(value: Any) -> Any:
    """Strip credentials from URLs (user:pass@host, ?api_key=...) in strings, recursively."""
    if isinstance(value, str):
        return _SECRET_QUERY.sub(r"\1***", _URL_CREDENTIALS.sub("***@", value))
    if isinstance(value, Mapping):
        return {key: redact(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [redact(item) for item in value]
    return value


@contextmanager
def tracked_run(
    kind: str,
    params: Mapping[str, Any],
    *,
    run_name: str | None = None,
    autolog: Mapping[str, Any] | None = None,
    tags: Mapping[str, str] | None = None,
) -> Iterator[Any]:
    """Start an MLflow run of `kind` with DSPy autologging (`autolog` adds options such as `log_compiles`), log
    `params`, and yield the active run."""
    import logging

    import mlflow

    # MLflow's first use of a new sqlite store logs each schema migration at INFO: noise for a CLI user.
    logging.getLogger("alembic").setLevel(logging.WARNING)
    synchronous_traces()
    mlflow.set_tracking_uri(tracking_uri())
    with store_lock():
        mlflow.set_experiment(EXPERIMENT)
        mlflow.dspy.autolog(silent=True, **{"log_traces": True, **(autolog or {})})
        # Nested under the active run when there is one: a mix's run holds one run per skill.
        run = mlflow.start_run(run_name=run_name, tags={KIND_TAG: kind, **(tags or {})}, nested=True)
        mlflow.log_params({key: _param_value(value) for key, value in redact(dict(params)).items()})
    status = "FAILED"
    try:
        yield run
        status = "FINISHED"
    except KeyboardInterrupt:
        status = "KILLED"
        raise
    finally:
        with store_lock():
            mlflow.flush_trace_async_logging()
            mlflow.end_run(status)


def _param_value(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= 6000 else text[:5997] + "..."


def log_table_dataset(records: list[dict], *, name: str, source: str, context: str) -> None:
    """Log rows as an MLflow dataset input; nested values (chat messages) are stored as JSON strings."""
    import mlflow
    import pandas as pd

    frame = pd.DataFrame([{k: _flat(v) for k, v in row.items()} for row in records])
    dataset = mlflow.data.from_pandas(frame, source=redact(source), name=name)
    mlflow.log_input(dataset, context=context)


def _flat(value: Any) -> Any:
    return json.dumps(value, ensure_ascii=False) if isinstance(value, list | dict) else value


def mark_killed(run_id: str) -> bool:
    """End a run that a killed process left RUNNING; True when it was still running."""
    import mlflow

    client = mlflow.MlflowClient(tracking_uri())
    with store_lock():
        try:
            run = client.get_run(run_id)
        except Exception:  # deleted, or in another store: nothing to end
            return False
        if run.info.status != "RUNNING":
            return False
        client.set_terminated(run_id, "KILLED")
        client.set_tag(run_id, "agentinstruct.ended_by", "a later run of the same --out found it killed")
    return True


class TraceWriter:
    """Logs one MLflow trace per unit from a background thread: a span for the unit, an event per LM call.

    Traces are written in batches of what queues within `linger` seconds (up to `batch_size`): one transaction stores
    the spans of the whole batch (MLflow creates each trace from its root span, with its name, tags, state and
    previews), a second links the batch to the run. Writing each trace on its own (a live span, then MLflow's
    exporter) took two transactions and about 24 ms of CPU per unit, 3 ms per LM call. A bounded queue: when the store
    falls behind, `submit` waits instead of dropping a trace. `close` returns how many traces were logged and why any
    failed (each failure is also counted, never lost silently).
    """

    def __init__(
        self, run_id: str, experiment_id: str, capacity: int = 512, batch_size: int = 100, linger: float = 1.0
    ) -> None:
        from mlflow.tracing.client import TracingClient

        self.run_id = run_id
        self.experiment_id = experiment_id
        self.client = TracingClient(tracking_uri())
        self.batch_size = batch_size  # MLflow links at most 100 traces to a run per request
        self.linger = linger
        self.logged = 0
        self.failed: list[str] = []
        self._queue: queue.Queue = queue.Queue(maxsize=capacity)
        self._thread = threading.Thread(target=self._work, name="agentinstruct-traces", daemon=True)
        self._thread.start()

    def submit(self, unit: list, outcome: dict[str, Any], admitted: dict[str, Any]) -> None:
        self._queue.put((unit, outcome, admitted))

    def close(self) -> tuple[int, list[str]]:
        self._queue.put(None)
        self._thread.join()
        return self.logged, self.failed

    def _work(self) -> None:
        import time

        closing = False
        while not closing:
            batch = [self._queue.get()]
            # Gather for up to `linger` seconds: fewer, larger batches (a unit's trace is only that much later).
            deadline = time.monotonic() + self.linger
            while batch[-1] is not None and len(batch) < self.batch_size:
                try:
                    batch.append(self._queue.get(timeout=max(0.0, deadline - time.monotonic())))
                except queue.Empty:
                    break
            if batch[-1] is None:
                closing = True
                batch.pop()
            if not batch:
                continue
            try:
                spans = [self._root_span(*item) for item in batch]
                with store_lock():
                    self.client.log_spans(self.experiment_id, spans)
                    self.client.store.link_traces_to_run([span.trace_id for span in spans], self.run_id)
                self.logged += len(batch)
            except Exception as exc:  # counted and reported in the summary; a trace store error never stops a run
                reason = f"{type(exc).__name__}: {str(exc)[:200]}"
                self.failed.extend(f"unit {unit}: {reason}" for unit, _, _ in batch)

    def _root_span(self, unit: list, outcome: dict[str, Any], admitted: dict[str, Any]):
        """The unit's trace as one finished root span (MLflow's span entity over an OpenTelemetry span)."""
        import random

        from mlflow.entities import Span
        from mlflow.tracing.constant import SpanAttributeKey, TraceTagKey
        from mlflow.tracing.utils import build_otel_context, generate_mlflow_trace_id_from_otel_trace_id
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import Event, ReadableSpan
        from opentelemetry.trace import Status, StatusCode

        trace = outcome["trace"]
        otel_trace_id, span_id = random.getrandbits(128), random.getrandbits(64)
        inputs = {"draw": unit[0], "seed_id": unit[1], "seed_source": trace["seed_source"], "plan": trace["plan"]}
        tag = SpanAttributeKey.TRACE_TAG_PREFIX
        attributes = {
            SpanAttributeKey.REQUEST_ID: generate_mlflow_trace_id_from_otel_trace_id(otel_trace_id),
            SpanAttributeKey.SPAN_TYPE: "CHAIN",
            SpanAttributeKey.INPUTS: inputs,
            SpanAttributeKey.OUTPUTS: admitted,
            "lm_calls": outcome["calls"],
            "tokens_in": outcome["tokens_in"],
            "tokens_out": outcome["tokens_out"],
            "retries": outcome["client"]["retries"],
            "gave_up": outcome["client"]["gave_up"],
            tag + TraceTagKey.TRACE_NAME: "unit",
            tag + "agentinstruct.unit": f"{unit[0]}:{unit[1]}",
        }
        events = []
        for call in trace["lm_calls"]:
            event = {
                "model": call["model"],
                "input": call["input"],
                "seconds": (call["end_ns"] - call["start_ns"]) / 1e9,
            }
            event.update({k: call[k] for k in ("output", "error") if k in call})
            events.append(Event("lm_call", attributes=event, timestamp=call["start_ns"]))
        return Span(
            ReadableSpan(
                name="unit",
                context=build_otel_context(otel_trace_id, span_id),
                # MLflow stores span attributes JSON-encoded, as its live spans write them.
                attributes={key: json.dumps(value) for key, value in attributes.items()},
                events=events,
                status=Status(StatusCode.OK),
                start_time=trace["start_ns"],
                end_time=trace["end_ns"],
                resource=Resource.get_empty(),
            )
        )


def count_traces(run_id: str, experiment_id: str) -> int:
    """Traces in the store for `run_id` (read back, so the summary reports what MLflow really holds)."""
    import mlflow

    client = mlflow.MlflowClient(tracking_uri())
    total, token = 0, None
    while True:
        page = client.search_traces(
            locations=[experiment_id], run_id=run_id, include_spans=False, max_results=500, page_token=token
        )
        total += len(page)
        token = page.token
        if not token:
            return total
