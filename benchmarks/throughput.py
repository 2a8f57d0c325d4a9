"""Throughput and memory of `agentinstruct generate` against an OpenAI-compatible stub with a fixed latency.

    python benchmarks/throughput.py [--latency 0.2] [--limits 8 32 64] [--n 600] [--repeats 3]
        [--clone PATH/TO/open-agentinstruct-generate] [--ray] [--baseline PATH/TO/other/agentinstruct]
    python benchmarks/throughput.py --rows 1000 10000 100000 [--row-seeds 2000] [--row-timeout 1800]

The stub (`tests/stub_server.py`) runs in its own process. Every measured command is a fresh process with a fresh
DSPy cache (so every call reaches the stub) and a fresh MLflow sqlite store, with tracing and scoring on, on the same
64 generated seed documents. Runs of different configurations alternate within each repeat (side by side, under the
same machine load), and medians over the repeats are printed.

Figures, per configuration:
- calls/s: calls the stub answered between the start of the run's own calls and its last call, over that time
  (start-up, including our endpoint check before the pipeline loads, and writing the outputs are outside it; each
  repeat's stderr line also gives the figures from the very first call);
- ideal: in-flight limit / latency, and the ratio of calls/s to it;
- CPU ms/call: CPU time of the client's whole process tree (the driver, and Ray's processes for `--backend ray`)
  over the same window, per call;
- peak in flight: most calls the stub was answering at once;
- peak RSS: the largest resident memory of the client process tree.

`--baseline` runs another build of agentinstruct (e.g. main's `.venv/bin/agentinstruct`) at the same limits, in the
same repeats. `--clone` adds open-agentinstruct 0.1.0 (installed in its own environment; pass its
`open-agentinstruct-generate`) at the largest limit, on the same stub and the same documents. `--rows` instead
generates 1k / 10k / ... records against a near-zero-latency stub, from documents of real words (`vocabulary`), and
prints the peak RSS of each run's `generate` process (sampled every 0.1 s; flat memory means about the same at every
size), the rows it wrote (records, rejects and failures) and how its resident memory grew per 1,000 of them while it
generated (a least-squares slope from a quarter of its rows on, read every second; a run stopped by `--row-timeout`
still gives it).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORDS = [
    *("river", "glacier", "desert", "harbor", "bridge", "orchard", "village", "council", "engineer", "farmer"),
    *("tower", "market", "winter", "summer", "forest", "canal", "railway", "station", "library", "museum"),
    *("festival", "bakery", "factory", "island", "mountain", "valley", "meadow", "lantern", "compass", "ferry"),
    *("quarry", "vineyard", "lighthouse", "mill", "school", "hospital", "stadium", "theatre", "garden", "tunnel"),
]


@dataclass
class Measured:
    calls: int
    seconds: float
    cpu_seconds: float
    peak_inflight: int
    peak_rss_mb: float
    wall: float
    returncode: int
    own_peak_rss_mb: float = 0.0
    growth: list[tuple[int, float]] = field(default_factory=list)
    """(records so far, the client process's resident MB), about once a second (`--rows` mode)."""
    from_first_call: tuple[int, float, float] = (0, 0.0, 0.0)
    """calls, seconds and CPU seconds from the very first call (the start-up check included), for comparison with
    figures measured before the window left that check out."""

    @property
    def rate(self) -> float:
        return self.calls / self.seconds if self.seconds else 0.0

    @property
    def cpu_ms_per_call(self) -> float:
        return 1000 * self.cpu_seconds / self.calls if self.calls else 0.0


def write_seeds(folder: Path, count: int, seed: int = 0, words: list[str] = WORDS) -> list[str]:
    """`count` documents of eight sentences each, with names and years that differ, as .txt files."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    docs = []
    for i in range(count):
        sentences = [
            f"In {1900 + rng.randrange(120)} the {rng.choice(words)} of {rng.choice(words).title()}{i} "
            + " ".join(rng.choice(words) for _ in range(10))
            + "."
            for _ in range(8)
        ]
        docs.append(" ".join(sentences))
        (folder / f"doc{i:05d}.txt").write_text(docs[-1])
    return docs


def vocabulary() -> list[str]:
    """The whole English words of the embedding model's vocabulary (about 20,000): documents drawn from them give
    pairs that are not near-duplicates of each other, so a `--rows` run keeps most of what it generates, as a run on
    real documents does (from `WORDS` alone, most pairs are rejected as near-duplicates)."""
    from agentinstruct.metrics.diversity import default_embedding_model_path

    lines = (default_embedding_model_path() / "vocab.txt").read_text().split()
    return [word for word in lines if word.isascii() and word.isalpha() and len(word) >= 4]


class Stub:
    """The stub server in its own process."""

    def __init__(self, latency: float) -> None:
        self.process = subprocess.Popen(
            [sys.executable, str(ROOT / "tests" / "stub_server.py"), "--latency", str(latency)],
            stdout=subprocess.PIPE,
            text=True,
        )
        self.url = self.process.stdout.readline().strip()
        self.root = self.url.removesuffix("/v1")

    def stats(self, reset: bool = False) -> dict:
        with urllib.request.urlopen(f"{self.root}/stats{'?reset=1' if reset else ''}", timeout=10) as answer:
            return json.loads(answer.read())

    def close(self) -> None:
        self.process.terminate()
        self.process.wait()


class ProgressRows:
    """Records (kept and rejected) and failures a run has written to its progress log so far, read incrementally."""

    def __init__(self, out: Path) -> None:
        self.path = out / ".progress" / "units.jsonl"
        self.offset = self.rows = 0

    def count(self) -> int:
        if not self.path.exists():
            return self.rows
        with self.path.open("rb") as handle:
            handle.seek(self.offset)
            for line in handle:
                if not line.endswith(b"\n"):  # being written
                    break
                self.offset += len(line)
                unit = json.loads(line)
                self.rows += len(unit.get("records", [])) + len(unit.get("failures", []))
        return self.rows


def measure(
    command: list[str], env: dict, cwd: Path, stub: Stub, timeout: float = 1800, progress: Path | None = None
) -> Measured:
    """Run `command`, sampling the stub's served count and the process tree's CPU and memory every 0.1 s (and, with
    `progress`, the output folder's record count and the client's memory every second)."""
    import psutil

    stub.stats(reset=True)
    started, epoch_started = time.perf_counter(), time.time()
    # Output goes to a file, not a pipe: a chatty client would block on a full pipe nobody reads until the end.
    log = (cwd / "client.log").open("w+")
    process = subprocess.Popen(command, env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT, text=True)
    tree = psutil.Process(process.pid)
    samples: list[tuple[float, int, float]] = []
    peak_rss = own_peak_rss_mb = 0.0
    known: dict[int, psutil.Process] = {}
    rows, growth, counted = ProgressRows(progress) if progress else None, [], 0.0
    last_cpu: dict[int, float] = {}  # a process that exits keeps the CPU it used (Ray's processes end in the window)
    while process.poll() is None and time.perf_counter() - started < timeout:
        cpu = rss = 0.0
        try:
            for member in [tree, *tree.children(recursive=True)]:
                known.setdefault(member.pid, member)
        except psutil.NoSuchProcess:
            pass
        # A local Ray instance detaches its processes (GCS, raylet, actors) from the driver's tree: count every Ray
        # process started since the run began.
        for member in psutil.process_iter(["create_time", "cmdline"]):
            fresh = member.pid not in known and member.info["create_time"] >= epoch_started - 1
            if fresh and any("ray" in part for part in (member.info["cmdline"] or [])[:2]):
                known[member.pid] = member
        for member in list(known.values()):
            try:
                times = member.cpu_times()
                # Its own CPU only: a reaped child's CPU would count twice (in its own last reading and its parent's).
                last_cpu[member.pid] = times.user + times.system
                rss += member.memory_info().rss
            except psutil.NoSuchProcess:
                known.pop(member.pid, None)
        cpu = sum(last_cpu.values())
        peak_rss = max(peak_rss, rss)
        with contextlib.suppress(psutil.NoSuchProcess):  # the client process alone (its Ray processes are above)
            own_rss_mb = tree.memory_info().rss / 2**20
            own_peak_rss_mb = max(own_peak_rss_mb, own_rss_mb)
            if rows is not None and time.perf_counter() - counted >= 1.0:
                counted = time.perf_counter()
                growth.append((rows.count(), own_rss_mb))
        samples.append((time.perf_counter(), stub.stats()["served"], cpu))
        time.sleep(0.1)
    if process.poll() is None:
        process.kill()
    process.wait()
    wall = time.perf_counter() - started
    log.seek(0)
    stderr = log.read()
    log.close()
    final = stub.stats()
    if process.returncode != 0:
        print(f"  command failed ({process.returncode}): {stderr.strip().splitlines()[-1:]}", file=sys.stderr)
    active = [s for s in samples if s[1] > 0]
    if len(active) < 2:
        peak = final["peak_inflight"]
        return Measured(
            final["served"], 0.0, 0.0, peak, peak_rss / 2**20, wall, process.returncode, own_peak_rss_mb, growth
        )
    # The window runs from the first sample with calls served to the first sample that saw the last call. Our
    # `generate` checks the endpoint with one call and only then loads the pipeline and the embedder (seconds of
    # start-up CPU): a first count that holds for a second or more is that check, and the window starts at its last
    # sample, when the run's own calls begin.
    last = next(s for s in active if s[1] == active[-1][1])
    held = [s for s in active if s[1] == active[0][1]]
    first = held[-1] if held[-1][0] - held[0][0] >= 1.0 and held[-1] is not last else active[0]
    return Measured(
        calls=last[1] - first[1],
        seconds=last[0] - first[0],
        cpu_seconds=last[2] - first[2],
        peak_inflight=final["peak_inflight"],
        peak_rss_mb=peak_rss / 2**20,
        wall=wall,
        returncode=process.returncode,
        own_peak_rss_mb=own_peak_rss_mb,
        growth=growth,
        from_first_call=(last[1] - active[0][1], last[0] - active[0][0], last[2] - active[0][2]),
    )


def base_env(work: Path) -> dict:
    env = {**os.environ}
    env.update(
        DSPY_CACHEDIR=str(work / "dspy-cache"),
        MLFLOW_TRACKING_URI=f"sqlite:///{work / 'mlflow.db'}",
        OPENAI_API_KEY="sk-benchmark",
        LITELLM_LOCAL_MODEL_COST_MAP="True",
        HF_HUB_OFFLINE="1",
        TOKENIZERS_PARALLELISM="false",
    )
    return env


OURS = str(Path(sys.executable).parent / "agentinstruct")


def ours(
    stub: Stub,
    seeds: Path,
    n: int,
    limit: int,
    backend: str,
    extra: list[str] | None = None,
    executable: str = OURS,
    track_rows: bool = False,
    timeout: float = 1800,
) -> Measured:
    work = Path(tempfile.mkdtemp(prefix="throughput-"))
    try:
        command = [
            executable,
            "generate",
            "--seeds",
            str(seeds),
            "--n",
            str(n),
            "--out",
            str(work / "out"),
            "--lm",
            "openai/stub",
            "--api-base",
            stub.url,
            "--max-inflight",
            str(limit),
            "--backend",
            backend,
            "--quiet",
            *(extra or []),
        ]
        return measure(command, base_env(work), work, stub, timeout, work / "out" if track_rows else None)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def clone(stub: Stub, executable: str, data: Path, limit: int) -> Measured:
    work = Path(tempfile.mkdtemp(prefix="throughput-clone-"))
    try:
        env = {**base_env(work), "VLLM_API_BASE": stub.url}
        command = [
            executable,
            "--model",
            "hosted_vllm/stub",
            "--dataset-names",
            f"{data}:text:train",
            "--output-dir",
            str(work / "out"),
            "--cache-dir",
            str(work / "cache"),
            "--concurrency",
            str(limit),
        ]
        return measure(command, env, work, stub)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def throughput(args: argparse.Namespace) -> None:
    work = Path(tempfile.mkdtemp(prefix="throughput-seeds-"))
    docs = write_seeds(work / "seeds", 64)
    (work / "clone-data").mkdir()
    with (work / "clone-data" / "train.jsonl").open("w") as handle:
        handle.writelines(json.dumps({"text": doc}) + "\n" for doc in docs)
    stub = Stub(args.latency)
    configs: list[tuple[str, int, callable]] = [
        (
            f"agentinstruct threads --max-inflight {limit}",
            limit,
            lambda lim=limit: ours(stub, work / "seeds", args.n, lim, "threads"),
        )
        for limit in args.limits
    ]
    if args.baseline:
        configs += [
            (
                f"baseline threads --max-inflight {limit}",
                limit,
                lambda lim=limit: ours(stub, work / "seeds", args.n, lim, "threads", executable=args.baseline),
            )
            for limit in args.limits
        ]
    top = max(args.limits)
    if args.ray:
        configs.append(
            (f"agentinstruct ray --max-inflight {top}", top, lambda: ours(stub, work / "seeds", args.n, top, "ray"))
        )
    if args.clone:
        # The clone's --concurrency counts documents, each with all its agents' calls in flight: its real in-flight
        # count is in the table's peak column. Its ideal and ratio are those of our largest limit.
        configs += [
            (
                f"open-agentinstruct 0.1.0 --concurrency {concurrency}",
                top,
                lambda c=concurrency: clone(stub, args.clone, work / "clone-data", c),
            )
            for concurrency in args.clone_concurrency or [top]
        ]
    results: dict[str, list[Measured]] = {name: [] for name, _, _ in configs}
    try:
        for repeat in range(args.repeats):
            for name, _, run in configs:
                result = run()
                results[name].append(result)
                calls, seconds, cpu = result.from_first_call
                print(
                    f"  repeat {repeat + 1} {name}: {result.rate:.1f} calls/s, "
                    f"{result.cpu_ms_per_call:.1f} ms CPU/call, {result.calls} calls, "
                    f"peak {result.peak_inflight} in flight, {result.wall:.0f} s wall; from the first call: "
                    f"{calls / seconds if seconds else 0:.1f} calls/s, {1000 * cpu / calls if calls else 0:.1f} ms",
                    file=sys.stderr,
                    flush=True,
                )
    finally:
        stub.close()
        shutil.rmtree(work, ignore_errors=True)
    print(f"stub latency {args.latency * 1000:.0f} ms, 64 seeds, n={args.n}, medians of {args.repeats} (min-max)")
    header = (
        f"{'configuration':<46} {'calls/s':>16} {'ideal':>6} {'ratio':>6} {'CPU ms/call':>12} "
        f"{'peak in flight':>15} {'peak RSS MB':>12}"
    )
    print(header)
    rates = {}
    for name, limit, _ in configs:
        runs = results[name]
        rate = statistics.median(r.rate for r in runs)
        rates[name] = rate
        ideal = limit / args.latency
        print(
            f"{name:<46} {rate:>7.1f} ({min(r.rate for r in runs):.0f}-{max(r.rate for r in runs):.0f}) "
            f"{ideal:>6.0f} {rate / ideal:>6.2f} {statistics.median(r.cpu_ms_per_call for r in runs):>12.1f} "
            f"{statistics.median(r.peak_inflight for r in runs):>15.0f} "
            f"{statistics.median(r.peak_rss_mb for r in runs):>12.0f}"
        )
    clone_name = f"open-agentinstruct 0.1.0 --concurrency {top}"
    if clone_name in rates:
        for name, rate in rates.items():
            if not name.startswith("open-agentinstruct") and name.endswith(f" {top}"):
                print(f"{name} / {clone_name}: {rate / rates[clone_name]:.2f}x")


def rows(args: argparse.Namespace) -> None:
    work = Path(tempfile.mkdtemp(prefix="throughput-rows-"))
    write_seeds(work / "seeds", args.row_seeds, words=vocabulary())
    stub = Stub(0.0)
    print(f"near-zero latency stub, {args.row_seeds} seeds, --refine-rounds 0, --max-inflight {args.row_limit}")
    print(
        f"{'records':>8} {'peak RSS MB':>12} {'vs first':>9} {'rows':>8} {'MB/1k rows':>11} {'calls':>8} "
        f"{'wall s':>8} {'rc':>3}"
    )
    first = None
    try:
        for count in args.rows:
            result = ours(
                stub,
                work / "seeds",
                count,
                args.row_limit,
                "threads",
                ["--refine-rounds", "0"],
                track_rows=True,
                timeout=args.row_timeout,
            )
            first = first or result.own_peak_rss_mb
            generated = result.growth[-1][0] if result.growth else 0
            print(
                f"{count:>8} {result.own_peak_rss_mb:>12.0f} {result.own_peak_rss_mb / first:>9.2f} {generated:>8} "
                f"{growth_per_1000_rows(result.growth):>11.2f} {result.calls:>8} {result.wall:>8.0f} "
                f"{result.returncode:>3}",
                flush=True,
            )
    finally:
        stub.close()
        shutil.rmtree(work, ignore_errors=True)


def growth_per_1000_rows(samples: list[tuple[int, float]]) -> float:
    """The slope of resident MB over rows written (records and failures), least squares, while the run generates:
    from a quarter of its rows (start-up done) to the last new row (the end of the run writes the outputs)."""
    if not samples:
        return float("nan")
    last = samples[-1][0]
    window = [(r, mb) for r, mb in samples if last / 4 <= r < last]
    if len({r for r, _ in window}) < 2:
        return float("nan")
    mean_r = statistics.fmean(r for r, _ in window)
    mean_mb = statistics.fmean(mb for _, mb in window)
    covariance = sum((r - mean_r) * (mb - mean_mb) for r, mb in window)
    return 1000 * covariance / sum((r - mean_r) ** 2 for r, _ in window)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--latency", type=float, default=0.2, help="seconds per stub answer (default: %(default)s)")
    parser.add_argument("--limits", type=int, nargs="+", default=[8, 32, 64], help="--max-inflight values to run")
    parser.add_argument("--n", type=int, default=600, help="records per run (default: %(default)s)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--ray", action="store_true", help="also run --backend ray at the largest limit")
    parser.add_argument(
        "--baseline", help="another build's `agentinstruct` executable, run at the same limits (e.g. main's)"
    )
    parser.add_argument("--clone", help="open-agentinstruct-generate of an open-agentinstruct 0.1.0 environment")
    parser.add_argument(
        "--clone-concurrency",
        type=int,
        nargs="+",
        help="--concurrency values to run the clone at (default: the largest limit)",
    )
    parser.add_argument("--rows", type=int, nargs="+", help="measure peak RSS at these record counts instead")
    parser.add_argument("--row-seeds", type=int, default=2000, help="seed documents for --rows (default: %(default)s)")
    parser.add_argument("--row-limit", type=int, default=32, help="--max-inflight for --rows (default: %(default)s)")
    parser.add_argument(
        "--row-timeout",
        type=float,
        default=1800,
        help="seconds before a --rows run is stopped; its growth per 1,000 rows still prints (default: %(default)s)",
    )
    args = parser.parse_args()
    if args.rows:
        rows(args)
    else:
        throughput(args)


if __name__ == "__main__":
    main()
