"""How fast `agentinstruct decontaminate` is at scale, and whether it finds what was planted.

Synthesises a chat dataset (records of ~150-400 words over a system, user and assistant turn) and a benchmark
(items of ~30-150 words) from one vocabulary with a fixed seed, plants a known number of contaminated records (half
an exact item with its case and punctuation changed, half a 13-word window of an item inside the record's own text),
and runs the real code path (`decontaminate_dataset` on a Parquet dataset and a JSONL benchmark in a temporary folder).

    python benchmarks/decontaminate.py                      # 100k records against 100k benchmark items
    python benchmarks/decontaminate.py --records 10000 --items 10000

Prints the index build time, the check time, records per second, peak memory (RSS), planted found and false positives.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

VOCABULARY = 50_000
"""Distinct words. Words are drawn Zipf-like (as in text), so common ones repeat and rare n-grams stay rare."""


def _vocabulary(rng: np.random.Generator) -> list[str]:
    letters = np.array(list("abcdefghijklmnopqrstuvwxyz"))
    words = set()
    while len(words) < VOCABULARY:
        length = int(rng.integers(2, 10))
        words.add("".join(rng.choice(letters, length)))
    return sorted(words)


class _Text:
    """Passages drawn from one pool of Zipf-distributed words (one draw for the whole run: drawing per passage
    would cost more than the decontamination being measured)."""

    def __init__(self, rng: np.random.Generator, total_words: int) -> None:
        self.rng = rng
        self.words = _vocabulary(rng)
        weights = 1.0 / np.arange(1, VOCABULARY + 1) ** 1.05
        self.pool = rng.choice(VOCABULARY, total_words, p=weights / weights.sum()).astype(np.int32)
        self.position = 0

    def passage(self, low: int, high: int) -> str:
        count = int(self.rng.integers(low, high + 1))
        if self.position + count > len(self.pool):
            self.position = int(self.rng.integers(0, len(self.pool) - count))
        picked = [self.words[i] for i in self.pool[self.position : self.position + count].tolist()]
        self.position += count
        sentences, start = [], 0
        while start < count:
            end = start + int(self.rng.integers(8, 20))
            sentence = " ".join(picked[start:end])
            sentences.append(sentence[:1].upper() + sentence[1:] + ".")
            start = end
        return " ".join(sentences)


def synthesise(folder: Path, records: int, items: int, planted: int, seed: int) -> tuple[Path, Path, set[int]]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    text = _Text(rng, records * 300 + items * 95)
    bench = folder / "bench.jsonl"
    benchmark = []
    with bench.open("w", encoding="utf-8") as handle:
        for number in range(items):
            item = text.passage(30, 150)
            benchmark.append(item)
            handle.write(json.dumps({"id": number, "question": item}) + "\n")
    targets = set(rng.choice(records, planted, replace=False).tolist())
    rows = []
    for number in range(records):
        user = text.passage(40, 150)
        assistant = text.passage(100, 240)
        if number in targets:
            item = benchmark[int(rng.integers(items))]
            if number % 2:  # the whole item, re-cased and re-punctuated, as the user's question
                user = f"{user}\n\n{item.upper().replace('.', ' ;')}"
            else:  # one 13-word window of it inside the answer
                words = item.split()
                start = int(rng.integers(0, len(words) - 13 + 1))
                assistant = f"{assistant} {' '.join(words[start : start + 13])} {text.passage(5, 20)}"
        rows.append(
            [
                {"role": "system", "content": "You are a helpful assistant."},
                {"role": "user", "content": user},
                {"role": "assistant", "content": assistant},
            ]
        )
    dataset = folder / "dataset.parquet"
    pq.write_table(pa.table({"messages": rows, "record": list(range(records))}), dataset)
    return dataset, bench, targets


def _peak_rss_mb() -> float:
    """This process's peak RSS. VmHWM where there is /proc: `ru_maxrss` survives exec, so a child would report its
    parent's peak when that was higher."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def _decontaminate(folder: Path) -> None:
    """The measured part, in a fresh process, so its peak RSS is the command's own and not the synthesis's."""
    from agentinstruct.decontaminate import DecontaminateConfig, decontaminate_dataset

    config = DecontaminateConfig(
        dataset=str(folder / "dataset.parquet"), against=[str(folder / "bench.jsonl")], out=str(folder / "out")
    )
    report = decontaminate_dataset(config, show_progress=False)
    source = report.sources["bench"]
    print(
        f"index build     {report.index_seconds:.1f} s (reading the dataset and {source['items']} items, "
        f"{source['ngrams']} 13-grams)"
    )
    print(f"check           {report.check_seconds:.1f} s, {report.records / report.check_seconds:,.0f} records/s")
    print(f"total           {report.seconds:.1f} s (writing outputs included)")
    print(f"peak RSS        {_peak_rss_mb():.0f} MB (the decontaminating process, Python and libraries included)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--planted", type=int, default=1000, help="contaminated records to plant")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--measure", help=argparse.SUPPRESS)  # internal: the child process's folder
    args = parser.parse_args()
    if args.measure:
        _decontaminate(Path(args.measure))
        return

    import pyarrow.parquet as pq

    with tempfile.TemporaryDirectory(prefix="decontaminate-bench-") as tmp:
        folder = Path(tmp)
        started = time.perf_counter()
        dataset, _, targets = synthesise(folder, args.records, args.items, args.planted, args.seed)
        words = sum(len(m["content"].split()) for r in pq.read_table(dataset)["messages"].to_pylist() for m in r)
        print(
            f"synthesised     {args.records} records ({words / args.records:.0f} words each on average), "
            f"{args.items} benchmark items, {len(targets)} planted, in {time.perf_counter() - started:.0f} s",
            flush=True,
        )
        subprocess.run([sys.executable, __file__, "--measure", str(folder)], check=True)
        rejected = pq.read_table(folder / "out" / "rejects" / "contaminated.parquet", columns=["record"])
        found = set(rejected["record"].to_pylist())
        print(f"planted found   {len(found & targets)} of {len(targets)}")
        print(f"false positives {len(found - targets)}")


if __name__ == "__main__":
    main()
