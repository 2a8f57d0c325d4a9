"""The trace writer: one MLflow trace per unit, written in batches, none dropped silently."""

import json

import mlflow

from agentinstruct.tracking import TraceWriter, count_traces


def _outcome(seed: int, calls: int) -> dict:
    start = 1_700_000_000_000_000_000 + seed * 10**9
    return {
        "calls": calls,
        "tokens_in": 100 * calls,
        "tokens_out": 20 * calls,
        "client": {"retries": {"rate_limited": 1}, "gave_up": {}},
        "trace": {
            "start_ns": start,
            "end_ns": start + 5 * 10**8,
            "seed_source": f"doc{seed}.txt",
            "plan": {"transformation": "summary", "instruction_types": ["literal"], "refinement_goals": []},
            "lm_calls": [
                {
                    "model": "openai/stub",
                    "input": f"prompt {seed}-{i}",
                    "output": f"answer {i}",
                    "start_ns": start,
                    "end_ns": start + 2 * 10**8,
                }
                for i in range(calls - 1)
            ]
            + [
                {
                    "model": "openai/stub",
                    "input": "last",
                    "error": "ServerError: boom",
                    "start_ns": start,
                    "end_ns": start + 1,
                }
            ],
        },
    }


def test_every_unit_gets_its_own_trace_across_batches(mlflow_uri):
    mlflow.set_tracking_uri(mlflow_uri)
    experiment = mlflow.set_experiment("agentinstruct")
    with mlflow.start_run() as run:
        # Batches of three (and a linger long enough to fill them): seven units make three batches.
        writer = TraceWriter(run.info.run_id, experiment.experiment_id, batch_size=3, linger=5.0)
        for seed in range(7):
            writer.submit(
                [0, f"s{seed}"], _outcome(seed, calls=seed % 3 + 2), {"kept": [f"s{seed}-0-0"], "rejected": {}}
            )
        logged, failed = writer.close()
    assert (logged, failed) == (7, [])
    assert count_traces(run.info.run_id, experiment.experiment_id) == 7
    traces = mlflow.search_traces(locations=[experiment.experiment_id], run_id=run.info.run_id, return_type="list")
    by_unit = {t.info.tags["agentinstruct.unit"]: t for t in traces}
    assert sorted(by_unit) == [f"0:s{seed}" for seed in range(7)]
    trace = by_unit["0:s4"]
    assert trace.info.tags["mlflow.traceName"] == "unit"
    assert trace.info.state.value == "OK"
    assert trace.info.request_time == 1_700_000_004_000 and trace.info.execution_duration == 500
    assert json.loads(trace.info.request_preview)["seed_source"] == "doc4.txt"
    assert json.loads(trace.info.response_preview) == {"kept": ["s4-0-0"], "rejected": {}}
    (span,) = trace.data.spans
    assert span.name == "unit" and span.span_type == "CHAIN"
    assert span.inputs["seed_id"] == "s4" and span.outputs["kept"] == ["s4-0-0"]
    assert span.attributes["lm_calls"] == 3 and span.attributes["retries"] == {"rate_limited": 1}
    events = [e.attributes for e in span.events]
    assert [e["input"] for e in events] == ["prompt 4-0", "prompt 4-1", "last"]
    assert events[0]["output"] == "answer 0" and events[0]["seconds"] == 0.2
    assert events[-1]["error"] == "ServerError: boom" and "output" not in events[-1]


def test_a_store_failure_is_counted_per_unit(mlflow_uri):
    mlflow.set_tracking_uri(mlflow_uri)
    mlflow.set_experiment("agentinstruct")
    with mlflow.start_run() as run:
        writer = TraceWriter(run.info.run_id, "999999", linger=0.0)  # an experiment the store does not hold
        for seed in range(2):
            writer.submit([1, f"s{seed}"], _outcome(seed, calls=2), {"kept": []})
        logged, failed = writer.close()
    assert logged == 0
    assert len(failed) == 2 and failed[0].startswith("unit [1, 's0']: ")
