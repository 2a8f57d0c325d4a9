"""The `agentinstruct` command line."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from agentinstruct.endpoint import DEFAULT_TIMEOUT
from agentinstruct.errors import UserError
from agentinstruct.formats import FORMATS
from agentinstruct.metrics.diversity import DEFAULT_DEDUP_THRESHOLD
from agentinstruct.metrics.scoring import DEFAULT_MIN_QUALITY

DEFAULT_SEEDS = "bundled"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="agentinstruct",
        description="Generate AgentInstruct-style instruction-response datasets with DSPy programs, tracked in MLflow.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    gen = commands.add_parser("generate", help="generate a dataset from raw seeds")
    gen.add_argument(
        "--skill",
        default="reading_comprehension",
        help="skill to generate: a name, a comma-separated list, or 'all' (default: %(default)s)",
    )
    gen.add_argument(
        "--mix",
        help="shares of --n over the skills of a list, as name=weight,... (default: equal; unnamed skills weigh 1)",
    )
    gen.add_argument(
        "--seeds",
        default=DEFAULT_SEEDS,
        help="file or folder of .txt/.md/code, .jsonl/.parquet, or a saved HF dataset; "
        "'bundled' for the sample corpus (default)",
    )
    gen.add_argument("--n", type=int, required=True, help="number of records to write")
    gen.add_argument("--out", required=True, help="output folder (rerun the same command to resume)")
    gen.add_argument("--lm", default="embedded", help="generator LM: 'embedded' or a DSPy/LiteLLM model string")
    gen.add_argument("--api-base", help="base URL of an OpenAI-compatible server (vLLM, llama.cpp server, ...)")
    gen.add_argument("--judge-lm", help="judge LM (used by quality metrics); defaults to --lm")
    gen.add_argument("--program", help="a compiled program (DSPy JSON state) to generate with")
    gen.add_argument("--seed", type=int, default=0, help="random seed for every draw (default: %(default)s)")
    gen.add_argument("--refine-rounds", type=int, default=1, help="Suggester/Editor rounds per instruction")
    gen.add_argument(
        "--max-inflight",
        "--concurrency",
        type=int,
        dest="max_inflight",
        help="LM calls in flight at once, across all units and workers (default: 16 for endpoints, "
        "1 for the embedded model)",
    )
    gen.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT,
        help="seconds one endpoint call may take before it is retried (default: %(default)s)",
    )
    gen.add_argument(
        "--backend",
        choices=("threads", "ray"),
        default="threads",
        help="where units run: threads of this process, or a Ray Data actor pool (default: %(default)s)",
    )
    gen.add_argument(
        "--ray-address",
        help="a running Ray cluster (the address 'ray start --head' prints); default: a local instance for the run",
    )
    gen.add_argument("--text-field", default="text", help="text column of .jsonl/.parquet/HF seeds")
    gen.add_argument("--max-chars", type=int, default=None, help="maximum characters per seed chunk")
    gen.add_argument("--temperature", type=float, default=0.7, help="generator sampling temperature")
    gen.add_argument("--max-tokens", type=int, default=512, help="maximum tokens per generated field")
    gen.add_argument(
        "--min-quality",
        type=float,
        default=DEFAULT_MIN_QUALITY,
        help="reject pairs scoring below this in [0, 1]: 0 when a validator fails, else the judge's "
        "rating mapped to 0-1 (1 without a judge) (default: %(default)s)",
    )
    gen.add_argument(
        "--dedup-threshold",
        type=float,
        default=DEFAULT_DEDUP_THRESHOLD,
        help="reject pairs this cosine-similar to a kept one (default: %(default)s)",
    )
    gen.add_argument("--embedding-model", help="a sentence-transformers model folder (default: all-MiniLM-L6-v2)")
    gen.add_argument(
        "--model-checks",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="check every pair with the embedded model too (about 1 s a pair); default: on when --lm is embedded",
    )
    gen.add_argument("--quiet", action="store_true", help="no progress bar")
    gen.add_argument("--dry-run", action="store_true", help="print the estimated calls, tokens and cost; write nothing")
    gen.add_argument("--pilot", type=int, metavar="K", help="with --dry-run: estimate from K real units")
    gen.add_argument("--max-cost", type=float, metavar="USD", help="stop starting units once this run spent USD")

    score = commands.add_parser("score", help="score a chat dataset: validators, LLM judge, diversity")
    score.add_argument("dataset", help="a folder written by generate, a .jsonl/.parquet file, or a saved HF dataset")
    score.add_argument("--out", required=True, help="folder for report.json and records.parquet")
    score.add_argument(
        "--judge-lm",
        help="also rate rows with this judge LM (an endpoint; the embedded 270M model adds nothing measurable, see "
        "README); default: no judge",
    )
    score.add_argument("--api-base", help="base URL of an OpenAI-compatible server for the judge")
    score.add_argument("--embedding-model", help="a sentence-transformers model folder (default: all-MiniLM-L6-v2)")
    score.add_argument(
        "--dedup-threshold",
        type=float,
        default=DEFAULT_DEDUP_THRESHOLD,
        help="cosine similarity at which a row duplicates an earlier one (default: %(default)s)",
    )
    score.add_argument(
        "--model-checks",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="check every row with the embedded model too (about 1 s a row) (default: on)",
    )
    score.add_argument("--split", help="the split to score when the dataset has several")
    score.add_argument("--skill", help="skill whose validators apply (default: the dataset's `skill` column)")
    score.add_argument("--concurrency", type=int, default=1, help="rows judged in parallel")
    score.add_argument(
        "--format",
        choices=("auto", *FORMATS),
        default="auto",
        help="the dataset's format; auto detects it from the columns (default: %(default)s)",
    )
    score.add_argument("--quiet", action="store_true", help="no progress bar")

    export = commands.add_parser(
        "export", help="write a dataset in the format a training tool reads (TRL, LLaMA-Factory, OpenAI)"
    )
    export.add_argument("dataset", help="a folder written by generate (or any dataset score reads)")
    export.add_argument(
        "--format",
        required=True,
        choices=FORMATS,
        help="messages (TRL, orca-agentinstruct), openai (chat fine-tuning JSONL), sharegpt or alpaca (LLaMA-Factory)",
    )
    export.add_argument("--out", required=True, help="file to write: .jsonl, or .parquet (not for openai)")
    export.add_argument("--min-quality", type=float, help="keep only records whose quality is at least this")
    export.add_argument("--skill", help="keep only records of this skill")
    export.add_argument(
        "--drop-unsupported",
        action="store_true",
        help="skip (and count) records the format cannot carry instead of refusing to export",
    )
    export.add_argument("--split", help="the split to export when the dataset has several")

    comp = commands.add_parser("compile", help="optimize a skill's flows with a DSPy optimizer against the metrics")
    comp.add_argument("--skill", default="reading_comprehension", help="skill to compile (default: %(default)s)")
    comp.add_argument("--seeds", default=DEFAULT_SEEDS, help="seeds to train and validate on ('bundled' by default)")
    comp.add_argument("--optimizer", required=True, help="bootstrap, random-search, mipro, gepa or simba")
    comp.add_argument("--out", required=True, help="file to save the compiled program to (DSPy JSON state)")
    comp.add_argument("--lm", default="embedded", help="generator LM (default: %(default)s)")
    comp.add_argument("--api-base", help="base URL of an OpenAI-compatible server")
    comp.add_argument("--prompt-lm", help="LM for MIPROv2 proposals / GEPA reflection (default: --lm)")
    comp.add_argument("--judge-lm", help="judge LM; without it the metric uses validators and novelty only")
    comp.add_argument(
        "--model-checks",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="the embedded model's checks in the metric; default: on when --lm is embedded",
    )
    comp.add_argument("--val-fraction", type=float, default=0.3, help="held-out share of the seeds")
    comp.add_argument(
        "--val-draws", type=int, default=3, help="draws (plans) per held-out seed when scoring (default: %(default)s)"
    )
    comp.add_argument("--budget", type=int, help="most generator LM calls the optimizer may spend")
    comp.add_argument("--seed", type=int, default=0, help="random seed (split, plans, optimizer)")
    comp.add_argument("--refine-rounds", type=int, default=1, help="Suggester/Editor rounds per instruction")
    comp.add_argument("--max-demos", type=int, default=2, help="most bootstrapped demos per predictor")
    comp.add_argument("--max-seeds", type=int, help="use only this many seeds (by seed id)")
    comp.add_argument("--text-field", default="text", help="text column of .jsonl/.parquet/HF seeds")
    comp.add_argument("--quiet", action="store_true", help="no progress messages")

    doctor = commands.add_parser(
        "doctor", help="check this machine: versions, the llama.cpp build, the models, MLflow, an endpoint"
    )
    doctor.add_argument("--lm", help="also make one tiny call to this endpoint model")
    doctor.add_argument("--api-base", help="also check that this OpenAI-compatible server answers")
    doctor.add_argument("--embedding-model", help="a sentence-transformers model folder (default: all-MiniLM-L6-v2)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "generate":
            return _generate(args)
        if args.command == "score":
            return _score(args)
        if args.command == "compile":
            return _compile(args)
        if args.command == "export":
            return _export(args)
        if args.command == "doctor":
            quiet_libraries()
            from agentinstruct.doctor import run_doctor

            return run_doctor(args.lm, args.api_base, args.embedding_model)
    except UserError as exc:
        from agentinstruct.tracking import redact

        # A key typed into a URL (--api-base http://user:KEY@host) is never echoed back.
        print(f"agentinstruct: error: {redact(str(exc))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("agentinstruct: interrupted; finished work is kept, rerun the same command to resume", file=sys.stderr)
        return 130
    return 0


def quiet_libraries() -> None:
    """Keep the terminal for our progress bar and summary: library chatter goes below WARNING."""
    import logging
    import warnings

    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    # Nothing is downloaded at run time: models come from installed packages or local folders.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    warnings.filterwarnings("ignore", category=UserWarning, module=r"mlflow(\.|$)")
    import mlflow  # noqa: F401  (MLflow sets its loggers' levels on import; ours must come after)

    for name in ("mlflow", "alembic", "LiteLLM", "httpx"):
        logging.getLogger(name).setLevel(logging.WARNING)


def _seeds_path(value: str) -> str:
    """`bundled` names the sample corpus shipped with the package; anything else is a path."""
    from agentinstruct.seeds import BUNDLED_CORPUS

    return str(BUNDLED_CORPUS) if value == DEFAULT_SEEDS else value


def _generate(args: argparse.Namespace) -> int:
    quiet_libraries()
    from agentinstruct.mix import MixSummary, format_mix_summary
    from agentinstruct.runner import GenerateConfig, generate
    from agentinstruct.seeds import DEFAULT_MAX_CHARS

    config = GenerateConfig(
        skill=args.skill,
        mix=args.mix,
        seeds=_seeds_path(args.seeds),
        n=args.n,
        out=args.out,
        lm=args.lm,
        api_base=args.api_base,
        judge_lm=args.judge_lm,
        program=args.program,
        seed=args.seed,
        refine_rounds=args.refine_rounds,
        max_inflight=args.max_inflight,
        timeout=args.timeout,
        backend=args.backend,
        ray_address=args.ray_address,
        text_field=args.text_field,
        max_chars=args.max_chars or DEFAULT_MAX_CHARS,
        temperature=args.temperature,
        max_tokens=args.max_tokens,
        min_quality=args.min_quality,
        dedup_threshold=args.dedup_threshold,
        embedding_model=args.embedding_model,
        model_checks=args.model_checks,
        dry_run=args.dry_run,
        pilot=args.pilot,
        max_cost=args.max_cost,
    )
    summary = generate(config, show_progress=not args.quiet)
    if isinstance(summary, dict):  # --dry-run: the estimate of each skill
        from agentinstruct.cost import format_estimate

        print(format_estimate(summary))
        return 0
    print(format_mix_summary(summary) if isinstance(summary, MixSummary) else format_summary(summary))
    if summary.pairs == 0:
        print(
            "agentinstruct: error: no pairs were generated; see the failures above and "
            f"{summary.out}/failures/failures.parquet",
            file=sys.stderr,
        )
        return 1
    return 0


def _score(args: argparse.Namespace) -> int:
    quiet_libraries()
    from agentinstruct.score import ScoreConfig, format_report, score_dataset

    if not 0 < args.dedup_threshold <= 1:
        raise UserError(f"--dedup-threshold must be in (0, 1], got {args.dedup_threshold}")
    config = ScoreConfig(
        dataset=args.dataset,
        out=args.out,
        judge_lm=args.judge_lm,
        api_base=args.api_base,
        embedding_model=args.embedding_model,
        dedup_threshold=args.dedup_threshold,
        split=args.split,
        skill=args.skill,
        concurrency=max(1, args.concurrency),
        format=args.format,
        model_checks=args.model_checks,
    )
    print(format_report(score_dataset(config, show_progress=not args.quiet)))
    return 0


def _export(args: argparse.Namespace) -> int:
    from agentinstruct.export import ExportConfig, export_dataset, format_export

    config = ExportConfig(
        dataset=args.dataset,
        format=args.format,
        out=args.out,
        min_quality=args.min_quality,
        skill=args.skill,
        drop_unsupported=args.drop_unsupported,
        split=args.split,
    )
    print(format_export(export_dataset(config)))
    return 0


def _compile(args: argparse.Namespace) -> int:
    quiet_libraries()
    from agentinstruct.optimizers.compile import CompileConfig, compile_program, format_result

    config = CompileConfig(
        skill=args.skill,
        seeds=_seeds_path(args.seeds),
        optimizer=args.optimizer,
        out=args.out,
        lm=args.lm,
        api_base=args.api_base,
        prompt_lm=args.prompt_lm,
        judge_lm=args.judge_lm,
        model_checks=args.model_checks,
        val_fraction=args.val_fraction,
        val_draws=args.val_draws,
        budget=args.budget,
        seed=args.seed,
        refine_rounds=args.refine_rounds,
        max_demos=args.max_demos,
        max_seeds=args.max_seeds,
        text_field=args.text_field,
    )
    print(format_result(compile_program(config, show_progress=not args.quiet)))
    return 0


def format_summary(summary) -> str:
    """The one-screen end-of-run report."""
    from agentinstruct.cost import format_cost_line

    lines = [
        f"pairs written   {summary.pairs} of {summary.requested} requested ({summary.generated} generated in total)",
        f"failures        {summary.failures}"
        + (
            f"  ({', '.join(f'{k}: {v}' for k, v in sorted(summary.failures_by_reason.items()))})"
            if summary.failures
            else ""
        ),
        f"rejected        {summary.rejected}"
        + (
            f"  ({', '.join(f'{k}: {v}' for k, v in sorted(summary.rejected_by_reason.items()))})"
            if summary.rejected
            else ""
        )
        + f"; validator pass rate {summary.pass_rate:.1%}",
        f"diversity       vendi {summary.diversity.get('vendi_score', 0):.2f}, "
        f"mean novelty {summary.diversity.get('mean_novelty', 0):.2f}, "
        f"{summary.diversity.get('clusters', 0):.0f} clusters",
        f"seeds           {summary.seeds} used, {summary.seeds_skipped} skipped",
        f"work units      {summary.units_run} run now, {summary.units_resumed} resumed from an earlier run",
        f"LM calls        {summary.lm_calls} (parse-failure rate {summary.parse_failure_rate:.1%})"
        + (f"; retried: {_counts(summary.retries)}" if summary.retries else "")
        + (f"; given up: {_counts(summary.gave_up)}" if summary.gave_up else ""),
        f"tokens          {format_cost_line(summary.tokens_in, summary.tokens_out, summary.cost_usd, summary.models)}",
        f"wall time       {summary.wall_seconds:.1f} s ({summary.pairs_per_second:.3f} pairs/s)",
        f"dataset         {summary.out}  (datasets.load_from_disk)"
        + (f"; {summary.surplus} more pairs in surplus/ (finished after --n was reached)" if summary.surplus else ""),
        f"mlflow run      {summary.run_id}  (mlflow ui --backend-store-uri sqlite:///mlflow.db)",
    ]
    for note in summary.notes:
        lines.append(f"note            {note}")
    for skipped in summary.skipped_seeds[:5]:
        lines.append(f"skipped seed    {skipped['source']}: {skipped['reason']}")
    if summary.pairs < summary.requested and not summary.stopped_at_max_cost:
        lines.append(
            f"warning         only {summary.pairs} of {summary.requested} pairs: the LM failed too often; "
            "see failures/failures.parquet"
        )
    return "\n".join(lines)


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))


if __name__ == "__main__":
    sys.exit(main())
