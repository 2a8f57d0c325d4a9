"""The Python API: one function per command, taking the command's options as keywords (or its config object).

    import agentinstruct

    summary = agentinstruct.generate(skill="reading_comprehension,fermi", seeds="docs/", n=200, out="out/mix")
    report = agentinstruct.score("out/mix", out="out/mix-score")
    result = agentinstruct.compile(optimizer="bootstrap", out="programs/rc.json")

The keywords are the fields of `GenerateConfig`, `ScoreConfig`, `CompileConfig`, `ExportConfig`,
`DecontaminateConfig` (each field's help is
the CLI option's help); the CLI is a thin layer over these functions. Bad input raises `agentinstruct.UserError`.
"""

from __future__ import annotations

import os
from dataclasses import fields, replace
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from agentinstruct.decontaminate import DecontaminateReport
    from agentinstruct.export import ExportResult
    from agentinstruct.mix import MixSummary
    from agentinstruct.optimizers.compile import CompileResult
    from agentinstruct.runner import GenerateSummary

C = TypeVar("C")


def offline_environment() -> None:
    """Nothing is downloaded at run time: models come from installed packages or local folders."""
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")


def make_config(config_class: type[C], config: C | None, options: dict[str, Any]) -> C:
    """`config` with `options` applied, or a new config from `options`; an unknown keyword is a TypeError that
    lists the known ones."""
    known = {f.name for f in fields(config_class)}  # type: ignore[arg-type]
    unknown = sorted(set(options) - known)
    if unknown:
        known_list = ", ".join(sorted(known))
        raise TypeError(f"unknown option(s) {', '.join(unknown)}; {config_class.__name__} takes {known_list}")
    if config is not None:
        return replace(config, **options)  # type: ignore[type-var]
    return config_class(**options)


def _dataset_config(config_class: type[C], dataset: Any, options: dict[str, Any]) -> C:
    """For the commands over a dataset: the first argument is the dataset's path, or a whole config."""
    if isinstance(dataset, config_class):
        return make_config(config_class, dataset, options)
    if dataset is not None:
        options["dataset"] = dataset
    return make_config(config_class, None, options)


def generate(config: Any = None, /, *, show_progress: bool = True, **options: Any) -> GenerateSummary | MixSummary:
    """Generate `n` records into `out` (resuming what an earlier run of the same job finished).

    Keywords: the fields of `agentinstruct.GenerateConfig` (`n` and `out` are required). Returns the run's summary
    (`MixSummary` for several skills), also written to `out/summary.json`.
    """
    from agentinstruct.runner import GenerateConfig
    from agentinstruct.runner import generate as run_generate

    offline_environment()
    return run_generate(make_config(GenerateConfig, config, options), show_progress=show_progress)


def score(dataset: Any = None, /, *, show_progress: bool = True, **options: Any) -> dict[str, Any]:
    """Score a chat dataset with the metrics `generate` filters on; returns the report (also `out/report.json`).

    Keywords: the fields of `agentinstruct.ScoreConfig` (`out` is required).
    """
    from agentinstruct.score import ScoreConfig, score_dataset

    offline_environment()
    return score_dataset(_dataset_config(ScoreConfig, dataset, options), show_progress=show_progress)


def compile(  # noqa: A001
    config: Any = None, /, *, show_progress: bool = True, **options: Any
) -> CompileResult | dict[str, CompileResult]:
    """Optimize a skill's pipeline with a DSPy optimizer and save the program to `out`; for several skills
    (`skill="a,b"` or `"all"`), one result per skill and one program file holding them all.

    Keywords: the fields of `agentinstruct.CompileConfig` (`optimizer` and `out` are required).
    """
    from agentinstruct.optimizers.compile import CompileConfig, compile_skills

    offline_environment()
    results = compile_skills(make_config(CompileConfig, config, options), show_progress=show_progress)
    return next(iter(results.values())) if len(results) == 1 else results


def export(dataset: Any = None, /, **options: Any) -> ExportResult:
    """Write a dataset in a training tool's format. Keywords: the fields of `agentinstruct.ExportConfig`."""
    from agentinstruct.export import ExportConfig, export_dataset

    return export_dataset(_dataset_config(ExportConfig, dataset, options))


def decontaminate(dataset: Any = None, /, *, show_progress: bool = True, **options: Any) -> DecontaminateReport:
    """Drop a dataset's rows that share a word n-gram with benchmark items; returns the report (also
    `out/report.json`). Keywords: the fields of `agentinstruct.DecontaminateConfig` (`against` and `out` are required).
    """
    from agentinstruct.decontaminate import DecontaminateConfig, decontaminate_dataset

    return decontaminate_dataset(_dataset_config(DecontaminateConfig, dataset, options), show_progress=show_progress)
