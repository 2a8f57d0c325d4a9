"""Benchmark the optimizers on the embedded model with a fixed budget: LM calls, wall time, held-out figures.

    python benchmarks/compile.py [--optimizers bootstrap random-search mipro gepa simba] [--budget 100]
                                 [--max-seeds 6] [--seed 0]

Each optimizer runs through the same `compile_program` the CLI uses (its own MLflow compile run in ./mlflow.db);
the table shows the held-out validator pass rate and composite before and after. It starts from an empty DSPy
response cache, so the first optimizer's row also pays for the baseline's generation.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path


def main() -> None:
    # Wall times mean something only without earlier runs' cached responses; the optimizers share this run's cache.
    os.environ["DSPY_CACHEDIR"] = tempfile.mkdtemp(prefix="agentinstruct-benchmark-cache-")
    from agentinstruct.optimizers import OPTIMIZERS, CompileConfig, compile_program
    from agentinstruct.seeds import BUNDLED_CORPUS

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--optimizers", nargs="+", default=list(OPTIMIZERS), choices=OPTIMIZERS)
    parser.add_argument("--budget", type=int, default=100, help="LM calls per optimizer (generator and prompt model)")
    parser.add_argument("--max-seeds", type=int, default=6, help="bundled seeds used (train + held-out)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    header = (
        f"{'optimizer':<14} {'LM calls':>8} {'wall s':>7} {'pass before':>12} {'pass after':>11} "
        f"{'composite before':>17} {'composite after':>16} {'finished':>9}"
    )
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for name in args.optimizers:
            result = compile_program(
                CompileConfig(
                    skill="reading_comprehension",
                    seeds=str(BUNDLED_CORPUS),
                    optimizer=name,
                    out=str(Path(folder) / f"{name}.json"),
                    budget=args.budget,
                    seed=args.seed,
                    max_seeds=args.max_seeds,
                ),
                show_progress=True,
            )
            rows.append(
                f"{name:<14} {result.lm_calls:>8} {result.wall_seconds:>7.0f} "
                f"{result.baseline.pass_rate:>12.1%} {result.compiled.pass_rate:>11.1%} "
                f"{result.baseline.composite:>17.3f} {result.compiled.composite:>16.3f} "
                f"{'yes' if result.optimizer_finished else 'no':>9}"
            )
            print("\n".join([header, *rows]), flush=True)


if __name__ == "__main__":
    main()
