"""Where units run: threads of this process (`--backend threads`), or a Ray Data actor pool (`--backend ray`).

Both take the same `UnitSpec` and the same tasks and yield the same outcome dicts as units finish; everything else
(resume, admission, output, MLflow) is the driver's and does not know which backend ran a unit.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any

from agentinstruct.errors import UserError
from agentinstruct.units import UnitSpec, UnitTask, UnitWorker

BACKENDS = ("threads", "ray")
CALLS_PER_ACTOR = 32
"""In-flight calls one Ray actor serves: what one Python process keeps up with; more calls means more actors."""


class ThreadsBackend:
    """Units on threads of this process, sharing one worker (one LM client, one pipeline, one embedder)."""

    def __init__(self, spec: UnitSpec) -> None:
        self.worker = UnitWorker(spec)
        self.window = spec.max_inflight

    def run(self, tasks: Iterator[UnitTask], wanted: Callable[[int], bool]) -> Iterator[dict[str, Any]]:
        """Outcomes as units finish. A new unit starts while `wanted(units in flight)` holds (and the window has
        room); when the caller stops asking, the units in flight still finish and are yielded."""
        in_flight: set[Future] = set()
        pool = ThreadPoolExecutor(max_workers=self.window, thread_name_prefix="agentinstruct-unit")
        try:
            while True:
                while len(in_flight) < self.window and wanted(len(in_flight)):
                    task = next(tasks, None)
                    if task is None:
                        break
                    in_flight.add(pool.submit(self.worker, task))
                if not in_flight:
                    return
                done, in_flight = wait(in_flight, return_when=FIRST_COMPLETED)
                for future in done:
                    yield future.result()
        finally:
            pool.shutdown(wait=True, cancel_futures=True)

    def close(self) -> None:
        pass


class RayBackend:
    """Units on a Ray Data actor pool: each actor builds its worker (LMs, pipeline, embedder) once from the spec and
    runs several units at a time; outcomes stream back to the driver as they finish.

    Args:
        spec: The unit spec; each actor gets its share of the in-flight limit.
        address: A running cluster (`ray start --head` prints it); None starts a local instance for the run.
    """

    def __init__(self, spec: UnitSpec, address: str | None) -> None:
        import logging

        ray = require_ray()
        self.ray = ray
        # Ray's start-up notices and Ray Data's per-dataset INFO lines are not the user's news: the run has its bar.
        for name in ("ray", "ray.data"):
            logging.getLogger(name).setLevel(logging.ERROR)
        self.started_here = not ray.is_initialized()
        if self.started_here:
            try:
                ray.init(address=address, include_dashboard=False, log_to_driver=False, configure_logging=False)
            except (ConnectionError, ValueError, RuntimeError) as exc:
                where = f"at {address}" if address else "locally"
                raise UserError(f"cannot start or reach a Ray cluster {where}: {exc}") from exc
        context = ray.data.DataContext.get_current()
        context.enable_progress_bars = False
        context.print_on_execution_start = False
        cpus = max(1, int(ray.cluster_resources().get("CPU", 1)))
        self.actors = max(1, min(cpus, math.ceil(spec.max_inflight / CALLS_PER_ACTOR)))
        self.units_per_actor = math.ceil(spec.max_inflight / self.actors)
        self.spec = UnitSpec.from_dict({**spec.as_dict(), "max_inflight": self.units_per_actor})

    def run(self, tasks: Iterator[UnitTask], wanted: Callable[[int], bool]) -> Iterator[dict[str, Any]]:
        """Outcomes as units finish (in any order). Ray Data schedules every task it is given; the caller stops by
        closing this iterator, which shuts the pipeline down (units still in flight are abandoned, not recorded)."""
        ray = self.ray
        # The actors receive every seed once (through the object store); each block names one unit by position.
        seeds: dict[str, tuple[str, str]] = {}
        positions: list[tuple[int, str]] = []
        for task in tasks:
            seeds.setdefault(task.seed_id, (task.text, task.source))
            positions.append(task.key)
        if not positions:
            return
        dataset = ray.data.from_items(
            [{"position": i} for i in range(len(positions))], override_num_blocks=len(positions)
        ).map_batches(
            _RayUnitActor,
            batch_size=1,
            batch_format="pyarrow",
            compute=ray.data.ActorPoolStrategy(
                size=self.actors,
                max_tasks_in_flight_per_actor=self.units_per_actor,
                max_concurrent_calls_per_actor=self.units_per_actor,
                enable_true_multi_threading=True,
            ),
            fn_constructor_kwargs={"spec": self.spec.as_dict(), "plan": ray.put((positions, seeds))},
            num_cpus=min(1.0, _available_cpus(ray) / self.actors),
        )
        threads_before = set(threading.enumerate())
        rows = iter(dataset.iter_rows())
        try:
            for row in rows:
                yield _outcome_from_row(row)
        finally:
            # A Ray Data thread still running after `ray.shutdown()` makes Ray end the whole process with exit code 1
            # ("The core worker has already been shutdown"). Closing the row iterator tells the streaming executor
            # and the row fetchers to stop, but a fetcher waiting for a unit still in flight only notices once its
            # wait returns, and the executor gives its own thread 2 s: wait for them here, before `close`.
            rows.close()
            _join_ray_data_threads(threads_before)

    def close(self) -> None:
        if self.started_here:
            self.ray.shutdown()


def require_ray():
    """The `ray` module with Ray Data, or one line saying how to install it."""
    try:
        import ray
        import ray.data  # noqa: F401
    except ImportError:
        raise UserError(
            "--backend ray needs Ray: pip install 'agentinstruct[ray]' (or pip install 'ray[data]')"
        ) from None
    return ray


RAY_DATA_THREADS = ("StreamingExecutor-", "iter_threaded")
"""Names of the threads Ray Data starts per iteration that call into Ray and end once the iteration is closed (its
block prefetcher parks without calling Ray, and lives on)."""


def _join_ray_data_threads(threads_before: set[threading.Thread], timeout: float = 60.0) -> None:
    """Wait (at most `timeout` in all) for the Ray Data threads started since `threads_before` to end."""
    import time

    deadline = time.monotonic() + timeout
    for thread in set(threading.enumerate()) - threads_before:
        if thread.name.startswith(RAY_DATA_THREADS):
            thread.join(max(0.0, deadline - time.monotonic()))


def _available_cpus(ray) -> float:
    return float(ray.cluster_resources().get("CPU", 1.0))


class _RayUnitActor:
    """A Ray Data UDF class: one per actor, holding the worker built from the spec."""

    def __init__(self, spec: dict[str, Any], plan: Any) -> None:
        import ray

        from agentinstruct.cli import quiet_libraries

        quiet_libraries()
        self.positions, self.seeds = ray.get(plan) if isinstance(plan, ray.ObjectRef) else plan
        self.worker = UnitWorker(UnitSpec.from_dict(spec))

    def __call__(self, batch):
        import json

        import pyarrow as pa

        draw, seed_id = self.positions[batch["position"][0].as_py()]
        text, source = self.seeds[seed_id]
        outcome = self.worker(UnitTask(draw, seed_id, text, source))
        vectors = outcome.pop("vectors")
        return pa.table({"outcome": [json.dumps(outcome, ensure_ascii=False)], "vectors": [vectors]})


def _outcome_from_row(row: dict[str, Any]) -> dict[str, Any]:
    import json

    outcome = json.loads(row["outcome"])
    outcome["vectors"] = row["vectors"]
    return outcome


def make_backend(name: str, spec: UnitSpec, ray_address: str | None):
    if name == "threads":
        if ray_address:
            raise UserError("--ray-address applies to --backend ray")
        return ThreadsBackend(spec)
    if name == "ray":
        return RayBackend(spec, ray_address)
    raise UserError(f"unknown --backend '{name}' (available: {', '.join(BACKENDS)})")
