"""Pictures of a run, for MLflow and the output folder: what JSON figures say, seen at a glance.

A generate run gets three PNGs in `DIR/plots/`: the validator pass rate by skill and by instruction type, the
novelty histogram of every scored pair with the near-duplicate threshold marked, and a 2-D map (PCA) of the kept
pairs' embeddings coloured by skill. A compile run gets one chart: baseline vs compiled, a panel per metric.

matplotlib is imported here only, and only `matplotlib.figure.Figure` is used (no pyplot): no global figure state
leaks between runs or threads, and no GUI backend is ever touched.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

PLOTS_DIR = "plots"
MAP_POINTS = 3000
"""At most this many kept pairs on the embedding map (evenly spaced), so a million-record run plots as fast."""
TOP_TYPES = 30


def generate_plots(out: Path, jobs: Mapping[str, Path], dedup_threshold: float) -> list[Path]:
    """Write the generate plots for the skills' job folders `jobs` (one, or a mix's) into `out/plots/`.

    The tables are read a batch at a time, and only the embeddings the map shows are held: what the plots need stays
    the same size however many records a run made (the novelty column aside, 8 bytes a pair)."""
    import numpy as np
    import pyarrow.parquet as pq

    folder = Path(out) / PLOTS_DIR
    folder.mkdir(parents=True, exist_ok=True)
    novelty: dict[bool, list[Any]] = {True: [], False: []}
    for _, job in jobs.items():
        for table, kept in (("data", True), ("rejects", False)):
            for path in _parquet_files(job / table):
                novelty[kept].append(pq.read_table(path, columns=["novelty"])["novelty"].to_numpy())
    kept_novelty, rejected_novelty = (np.concatenate(novelty[k] or [np.zeros(0)]) for k in (True, False))
    vectors, labels = _kept_vectors(jobs, MAP_POINTS)
    return [
        pass_rate_plot(_scored_rows(jobs), folder / "pass_rate.png"),
        novelty_plot(kept_novelty, rejected_novelty, dedup_threshold, folder / "novelty.png"),
        embedding_map(vectors, labels, folder / "embedding_map.png"),
    ]


def _parquet_files(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.parquet")) if folder.is_dir() else []


def _scored_rows(jobs: Mapping[str, Path]) -> Iterator[dict[str, Any]]:
    """Every scored pair's skill, instruction type and whether it passed the validators, a batch at a time."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    for skill, job in jobs.items():
        for table in ("data", "rejects"):
            for path in _parquet_files(job / table):
                with pq.ParquetFile(path) as parquet:
                    for batch in parquet.iter_batches(batch_size=10_000, columns=["instruction_type", "scores"]):
                        failed = pc.list_value_length(pc.struct_field(batch["scores"], "validator_failures"))
                        for kind, count in zip(batch["instruction_type"].to_pylist(), failed.to_pylist(), strict=True):
                            yield {"skill": skill, "type": kind, "passed": not count}


def _kept_vectors(jobs: Mapping[str, Path], points: int) -> tuple[Any, list[str]]:
    """Evenly spaced embeddings of the dataset's records (about `points` of them, at least every one up to twice
    that), as the jobs stored them (`.progress/shards/`), with their skill.

    A job's dataset is its first kept records, as many as its `data` table holds (read from there: the plots are
    drawn before the run writes its `summary.json`)."""
    import numpy as np
    import pyarrow.parquet as pq

    from agentinstruct.store import shard_vectors

    limits = {
        skill: sum(pq.ParquetFile(path).metadata.num_rows for path in _parquet_files(job / "data"))
        for skill, job in jobs.items()
    }
    step = max(1, sum(limits.values()) // points)
    chunks, labels, position = [], [], 0  # position: of the record in all jobs' kept records, one after another
    for skill, job in jobs.items():
        seen = 0
        for shard in sorted((job / ".progress" / "shards").glob("shard-*.parquet")):
            if seen >= limits[skill]:
                break
            rows = shard_vectors(pq.read_table(shard, columns=["kept_vectors"])["kept_vectors"])
            rows = rows[: limits[skill] - seen]
            picked = rows[-position % step :: step]
            if len(picked):
                chunks.append(picked.copy())
                labels += [skill] * len(picked)
            seen += len(rows)
            position += len(rows)
    if not chunks:
        return np.zeros((0, 0), dtype=np.float32), []
    return np.concatenate(chunks), labels


def _figure(width: float, height: float):
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=100, layout="constrained")


def _empty(ax, message: str) -> None:
    ax.text(0.5, 0.5, message, ha="center", va="center", transform=ax.transAxes, color="grey")
    ax.set_xticks([])
    ax.set_yticks([])


def pass_rate_plot(scored: Iterable[Mapping[str, Any]], path: Path) -> Path:
    """Horizontal bars: the share of scored pairs that pass every validator, per skill and per instruction type
    (the most frequent `TOP_TYPES` types), each bar labelled with passed/scored."""
    by_skill: dict[str, list[int]] = {}
    by_type: dict[str, list[int]] = {}
    for row in scored:
        for table, key in ((by_skill, row["skill"]), (by_type, f"{row['skill']}: {row['type']}")):
            counts = table.setdefault(key, [0, 0])
            counts[0] += bool(row["passed"])
            counts[1] += 1
    types = sorted(by_type.items(), key=lambda item: -item[1][1])[:TOP_TYPES]
    figure = _figure(11, max(3.0, 0.28 * (len(types) + len(by_skill)) + 1.5))
    left, right = figure.subplots(1, 2, width_ratios=[1, 2])
    for ax, title, items in (
        (left, "validator pass rate by skill", sorted(by_skill.items())),
        (right, f"by instruction type (the {len(types)} most frequent)", sorted(types, key=_rate)),
    ):
        ax.set_title(title, fontsize=10)
        if not items:
            _empty(ax, "no scored pairs")
            continue
        names = [name for name, _ in items]
        rates = [passed / total for _, (passed, total) in items]
        bars = ax.barh(range(len(items)), rates, color="#4c72b0")
        ax.set_yticks(range(len(items)), names, fontsize=8)
        ax.set_xlim(0, 1.15)
        ax.xaxis.set_major_formatter(lambda value, _: f"{value:.0%}")
        for bar, (_, (passed, total)) in zip(bars, items, strict=True):
            ax.text(
                bar.get_width() + 0.01, bar.get_y() + bar.get_height() / 2, f"{passed}/{total}", va="center", fontsize=7
            )
    figure.savefig(path)
    return path


def _rate(item: tuple[str, list[int]]) -> float:
    passed, total = item[1]
    return passed / total


def novelty_plot(kept: Sequence[float], rejected: Sequence[float], dedup_threshold: float, path: Path) -> Path:
    """Stacked histogram of novelty (1 - cosine similarity to the nearest kept pair), kept and rejected, with the
    near-duplicate line at 1 - `dedup_threshold`: pairs left of it were rejected as near-duplicates."""
    import numpy as np

    figure = _figure(7, 4)
    ax = figure.subplots()
    ax.set_title("novelty of every scored pair", fontsize=10)
    if not len(kept) and not len(rejected):
        _empty(ax, "no scored pairs")
    else:
        ax.hist(
            [np.asarray(kept, dtype=np.float64), np.asarray(rejected, dtype=np.float64)],
            bins=25,
            range=(0, 1),
            stacked=True,
            label=["kept", "rejected"],
            color=["#4c72b0", "#dd8452"],
        )
        ax.legend(fontsize=8)
    line = 1 - dedup_threshold
    ax.axvline(line, color="black", linestyle="--", linewidth=1)
    ax.text(line, ax.get_ylim()[1] * 0.95, f" near-duplicate below {line:.2f}", fontsize=8, va="top")
    ax.set_xlabel("novelty")
    ax.set_ylabel("pairs")
    figure.savefig(path)
    return path


def embedding_map(vectors: Any, labels: Sequence[str], path: Path) -> Path:
    """The kept pairs' embeddings projected on their first two principal components, coloured by skill."""
    import numpy as np

    figure = _figure(7, 6)
    ax = figure.subplots()
    ax.set_title("kept pairs: embeddings, first two principal components", fontsize=10)
    if len(labels) < 2:
        _empty(ax, "fewer than two kept pairs")
        figure.savefig(path)
        return path
    step = max(1, len(labels) // MAP_POINTS)
    points = np.asarray(vectors, dtype=np.float64)[::step]
    names = list(labels)[::step]
    centred = points - points.mean(axis=0)
    _, _, components = np.linalg.svd(centred, full_matrices=False)
    xy = centred @ components[:2].T
    if xy.shape[1] < 2:  # every point identical along all but one direction
        xy = np.column_stack([xy[:, 0], np.zeros(len(xy))])
    for index, (skill, count) in enumerate(sorted(Counter(names).items())):
        mask = np.array([name == skill for name in names])
        ax.scatter(xy[mask, 0], xy[mask, 1], s=12, alpha=0.75, label=f"{skill} ({count})", color=f"C{index % 10}")
    ax.legend(fontsize=7, loc="best")
    ax.set_xticks([])
    ax.set_yticks([])
    figure.savefig(path)
    return path


def compile_plot(baseline: Mapping[str, float | None], compiled: Mapping[str, float | None], path: Path) -> Path:
    """Baseline vs compiled, one panel per metric (held-out figures of a compile run)."""
    metrics = [name for name in baseline if baseline[name] is not None and compiled.get(name) is not None]
    figure = _figure(2.2 * max(1, len(metrics)), 3.2)
    axes = figure.subplots(1, max(1, len(metrics)), squeeze=False)[0]
    for ax, name in zip(axes, metrics, strict=False):
        values = [float(baseline[name]), float(compiled[name])]  # type: ignore[arg-type]
        bars = ax.bar(["baseline", "compiled"], values, color=["#999999", "#4c72b0"])
        ax.set_title(name.replace("_", " "), fontsize=9)
        ax.tick_params(labelsize=8)
        for bar, value in zip(bars, values, strict=True):
            ax.text(
                bar.get_x() + bar.get_width() / 2,
                bar.get_height(),
                f"{value:.3g}",
                ha="center",
                va="bottom",
                fontsize=8,
            )
    if not metrics:
        _empty(axes[0], "no figures")
    figure.savefig(path)
    return path


def draw_safely(make: Any, notes: list[str]) -> list[Path]:
    """Pictures never fail a run: a plot that cannot be drawn becomes a note in the summary (never hidden)."""
    try:
        return list(make())
    except Exception as exc:  # matplotlib raises many types (fonts, backends, bad data): none may cost the run
        notes.append(f"plots not drawn: {type(exc).__name__}: {exc}")
        return []
