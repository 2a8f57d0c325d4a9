"""Benchmark the diversity metrics: embedding throughput, the novelty index (exact vs HNSW), scoring end to end.

    python benchmarks/diversity.py [--sizes 10000 20000 100000] [--queries 1000] [--records 1000]

Index figures run in a child process per configuration, so each peak memory (VmHWM) is its own. Queries are issued
one vector at a time, as `generate` admits records.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DIMENSION = 384  # all-MiniLM-L6-v2


def _peak_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def index_case(kind: str, size: int, queries: int) -> dict:
    """Build an index of `size` random unit vectors and time single-vector nearest-neighbour queries."""
    import numpy as np

    from agentinstruct.metrics import NoveltyIndex

    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((size, DIMENSION)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    probes = vectors[rng.choice(size, queries, replace=False)] + 0.01
    probes /= np.linalg.norm(probes, axis=1, keepdims=True)
    before = _peak_rss_mb()
    started = time.perf_counter()
    index = NoveltyIndex(DIMENSION, exact_limit=size + 1 if kind == "exact" else 0)
    for start in range(0, size, 1000):
        index.add(vectors[start : start + 1000], list(range(start, min(start + 1000, size))))
    build = time.perf_counter() - started
    latencies, found = [], []
    for probe in probes:
        started = time.perf_counter()
        _, nearest = index.nearest(probe[None, :])
        latencies.append(time.perf_counter() - started)
        found.append(nearest[0])
    peak = _peak_rss_mb()
    truth = [int((vectors @ probe).argmax()) for probe in probes[:200]]
    recall = sum(int(f == t) for f, t in zip(found, truth, strict=False)) / len(truth)
    return {
        "kind": kind,
        "size": size,
        "exact": index.exact,
        "build_s": round(build, 2),
        "query_ms_median": round(statistics.median(latencies) * 1000, 3),
        "query_ms_p95": round(sorted(latencies)[int(0.95 * len(latencies))] * 1000, 3),
        "recall_at_1": recall,
        "peak_rss_mb": round(peak, 1),
        "rss_before_mb": round(before, 1),
    }


def embedding_throughput(count: int = 2000, repeats: int = 3) -> float:
    from agentinstruct.metrics import Embedder

    texts = [
        f"Question {i}: how many containers did harbor {i % 97} handle in month {i % 12}? About {i * 7}."
        for i in range(count)
    ]
    embedder = Embedder()
    embedder.embed(texts[:64])  # load the model outside the timing
    rates = []
    for repeat in range(repeats):
        batch = [f"{text} (run {repeat})" for text in texts]  # new texts: the per-text cache must not help
        started = time.perf_counter()
        embedder.embed(batch)
        rates.append(count / (time.perf_counter() - started))
    return statistics.median(rates)


def scoring_end_to_end(records: int) -> dict:
    """Score `records` RC-style rows (built from the bundled corpus) without the judge, model load included."""
    from agentinstruct.score import ScoreConfig, score_dataset
    from agentinstruct.seeds import BUNDLED_CORPUS, load_seeds

    seeds = load_seeds(BUNDLED_CORPUS, kinds=("text",)).seeds
    rows = []
    for i in range(records):
        seed = seeds[i % len(seeds)]
        sentences = [s for s in seed.text.replace("\n", " ").split(". ") if len(s.split()) > 5]
        sentence = sentences[(i // len(seeds)) % len(sentences)]
        question = f"What does the passage say about {' '.join(sentence.split()[:5])}?"
        rows.append(
            {
                "messages": [
                    {"role": "user", "content": f"{seed.text}\n\n{question}"},
                    {"role": "assistant", "content": f"It says: {sentence}."},
                ]
            }
        )
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "rows.jsonl"
        source.write_text("\n".join(json.dumps(r) for r in rows))
        started = time.perf_counter()
        report = score_dataset(
            ScoreConfig(dataset=str(source), out=str(Path(folder) / "out"), model_checks=False), show_progress=False
        )
        seconds = time.perf_counter() - started
    return {
        "records": records,
        "seconds": round(seconds, 1),
        "pass_rate": round(report["pass_rate"], 3),
        "near_duplicate_rate": round(report["near_duplicate_rate"], 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 20_000, 100_000])
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--records", type=int, default=1000)
    parser.add_argument("--case", nargs=3, metavar=("KIND", "SIZE", "QUERIES"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.case:
        print(json.dumps(index_case(args.case[0], int(args.case[1]), int(args.case[2]))))
        return

    print(f"embedding throughput (all-MiniLM-L6-v2, CPU, median of 3): {embedding_throughput():.0f} texts/s")
    print(
        f"{'index':<6} {'vectors':>8} {'build s':>8} {'query ms (median)':>18} {'p95':>7} {'recall@1':>9} "
        f"{'peak RSS MB':>12}"
    )
    for size in args.sizes:
        for kind in ("exact", "hnsw"):
            out = subprocess.run(
                [sys.executable, __file__, "--case", kind, str(size), str(args.queries)],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            row = json.loads(out.strip().splitlines()[-1])
            print(
                f"{kind:<6} {size:>8} {row['build_s']:>8} {row['query_ms_median']:>18} {row['query_ms_p95']:>7} "
                f"{row['recall_at_1']:>9.2f} {row['peak_rss_mb']:>12}"
            )
    result = scoring_end_to_end(args.records)
    print(
        f"score {result['records']} records without the judge, end to end (model load included): "
        f"{result['seconds']} s (pass rate {result['pass_rate']}, near-duplicate rate "
        f"{result['near_duplicate_rate']})"
    )


if __name__ == "__main__":
    main()
