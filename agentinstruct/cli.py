"""The `agentinstruct` command line."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

from agentinstruct import api, tracking
from agentinstruct.errors import UserError
from agentinstruct.options import add_options, config_from_args


def build_parser() -> argparse.ArgumentParser:
    """One subcommand per config class; its options are the class's fields (`agentinstruct.options`)."""
    from agentinstruct.decontaminate import DecontaminateConfig
    from agentinstruct.doctor import DoctorConfig
    from agentinstruct.export import ExportConfig
    from agentinstruct.optimizers.compile import CompileConfig
    from agentinstruct.runner import GenerateConfig
    from agentinstruct.score import ScoreConfig

    parser = argparse.ArgumentParser(
        prog="agentinstruct",
        description="Generate AgentInstruct-style instruction-response datasets with DSPy programs, tracked in MLflow.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    for name, config_class, help_text, quiet in (
        ("generate", GenerateConfig, "generate a dataset from raw seeds", "no progress bar"),
        ("score", ScoreConfig, "score a chat dataset: validators, LLM judge, diversity", "no progress bar"),
        (
            "export",
            ExportConfig,
            "write a dataset in the format a training tool reads (TRL, LLaMA-Factory, OpenAI)",
            None,
        ),
        (
            "compile",
            CompileConfig,
            "optimize a skill's flows with a DSPy optimizer against the metrics",
            "no progress bars or messages",
        ),
        (
            "decontaminate",
            DecontaminateConfig,
            "drop rows that share a word n-gram with benchmark items (rejects keep the source and the n-gram)",
            "no progress bar",
        ),
        (
            "doctor",
            DoctorConfig,
            "check this machine: versions, the llama.cpp build, the models, MLflow, an endpoint",
            None,
        ),
    ):
        command = commands.add_parser(name, help=help_text)
        command.set_defaults(config_class=config_class)
        add_options(command, config_class)
        if quiet:
            command.add_argument("--quiet", action="store_true", help=quiet)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    show_progress = not getattr(args, "quiet", False)
    try:
        config = config_from_args(args.config_class, args)
        if args.command == "generate":
            return _generate(config, show_progress)
        if args.command == "score":
            quiet_libraries()
            print(format_report(api.score(config, show_progress=show_progress)))
        elif args.command == "compile":
            quiet_libraries()
            results = api.compile(config, show_progress=show_progress)
            if isinstance(results, dict):
                for name, result in results.items():
                    print(f"== {name}\n{format_result(result)}\n")
                print(f"program file            {config.out}  (every skill's program; generate --program uses it)")
            else:
                print(format_result(results))
        elif args.command == "export":
            print(format_export(api.export(config)))
        elif args.command == "decontaminate":
            from agentinstruct.decontaminate import format_report as format_decontamination

            print(format_decontamination(api.decontaminate(config, show_progress=show_progress)))
        elif args.command == "doctor":
            quiet_libraries()
            from agentinstruct.doctor import run_doctor

            return run_doctor(config.lm, config.api_base, config.embedding_model)
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

    api.offline_environment()
    warnings.filterwarnings("ignore", category=UserWarning, module=r"mlflow(\.|$)")
    # Our LMs pass a rollout id to keep cache entries of different servers and decoding settings apart. DSPy warns that
    # it has no effect at temperature 0 (the judge's, or a stage's), but an engine's cache key holds it at any
    # temperature, so the warning would tell the user something false.
    warnings.filterwarnings("ignore", message="rollout_id has no effect when temperature=0")
    import mlflow  # noqa: F401  (MLflow sets its loggers' levels on import; ours must come after)

    for name in ("mlflow", "alembic", "LiteLLM", "httpx"):
        logging.getLogger(name).setLevel(logging.WARNING)


def _generate(config: Any, show_progress: bool) -> int:
    quiet_libraries()
    from agentinstruct.mix import MixSummary, format_mix_summary

    summary = api.generate(config, show_progress=show_progress)
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


def format_report(report: dict[str, Any]) -> str:
    from agentinstruct.score import format_report as format_score_report

    return format_score_report(report)


def format_result(result: Any) -> str:
    from agentinstruct.optimizers.compile import format_result as format_compile_result

    return format_compile_result(result)


def format_export(result: Any) -> str:
    from agentinstruct.export import format_export as format_export_result

    return format_export_result(result)


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
        )
        + (f"; outputs sampled again or screened out: {_counts(summary.resampled)}" if summary.resampled else ""),
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
        f"dataset         {summary.out}  (datasets.load_dataset(DIR); card in README.md)"
        + (f"; {summary.surplus} more pairs in surplus/ (finished after --n was reached)" if summary.surplus else ""),
        f"mlflow run      {summary.run_id}  ({tracking.mlflow_ui_hint()})",
    ]
    if summary.decontamination:
        per_source = summary.decontamination["contaminated"]
        lines.append(
            f"contaminated    {sum(per_source.values())} rejected, "
            f"{summary.decontamination['ngram']}-gram overlap ({_counts(per_source)})"
        )
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
