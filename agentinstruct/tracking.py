"""MLflow tracking: one run per `generate` / `compile` / `score`, tagged with its kind, with DSPy traces.

The store defaults to `sqlite:///mlflow.db` in the working folder (MLflow 3's default); `MLFLOW_TRACKING_URI`
overrides it. Nothing secret is logged: keys never reach the LM objects, and URLs lose any credentials they carry.
"""

from __future__ import annotations

import json
import os
import re
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
    mlflow.set_tracking_uri(tracking_uri())
    mlflow.set_experiment(EXPERIMENT)
    mlflow.dspy.autolog(log_traces=True, silent=True, **(autolog or {}))
    with mlflow.start_run(run_name=run_name, tags={KIND_TAG: kind, **(tags or {})}) as run:
        mlflow.log_params({key: _param_value(value) for key, value in redact(dict(params)).items()})
        try:
            yield run
        finally:
            mlflow.flush_trace_async_logging()


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
