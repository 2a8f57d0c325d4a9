"""Benchmark the optimizers with a fixed budget: LM calls, wall time, held-out figures, and whether compile kept
the compiled program.

    python benchmarks/compile.py [--optimizers bootstrap random-search mipro gepa simba plan decoding] [--budget 100]
                                 [--max-seeds 6] [--val-draws 3] [--plan-draws 3] [--seed 0] [--lm embedded]
                                 [--teacher-lm MODEL] [--api-base URL]

Each optimizer runs through the same `compile_program` the CLI uses (its own MLflow compile run in ./mlflow.db);
the table shows, on the held-out seeds, the validator pass rate before and after with the 95% interval of the
difference (paired bootstrap over seed-draws), the Vendi score and instruction-type entropy before and after, and
whether the never-worse gate kept the compiled program. It starts from an empty DSPy response cache, so the first
optimizer's row also pays for the baseline's generation.
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
    parser.add_argument("--val-draws", type=int, default=3, help="plans per held-out seed")
    parser.add_argument("--plan-draws", type=int, default=3, help="plans per train seed for the plan optimizer")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--lm", default="embedded", help="the student (generator) LM")
    parser.add_argument("--teacher-lm", help="the LM whose traces become demos (default: the student)")
    parser.add_argument("--api-base", help="endpoint of --lm / --teacher-lm")
    args = parser.parse_args()

    header = (
        f"{'optimizer':<14} {'LM calls':>8} {'wall s':>7} {'pass before':>16} {'pass after':>16} "
        f"{'difference (95% interval)':>30} {'vendi before':>12} {'vendi after':>11} {'entropy before':>14} "
        f"{'entropy after':>13} {'kept':>5} {'finished':>9}"
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
                    val_draws=args.val_draws,
                    plan_draws=args.plan_draws,
                    lm=args.lm,
                    teacher_lm=args.teacher_lm,
                    api_base=args.api_base,
                ),
                show_progress=True,
            )
            heldout = result.heldout
            rows.append(
                f"{name:<14} {result.lm_calls:>8} {result.wall_seconds:>7.0f} "
                f"{f'{result.baseline.pass_rate:.1%} of {result.baseline.pairs}':>16} "
                f"{f'{result.compiled.pass_rate:.1%} of {result.compiled.pairs}':>16} "
                f"{f'{heldout.difference:+.1%} ({heldout.low:+.1%}, {heldout.high:+.1%})':>30} "
                f"{result.baseline.vendi_score:>12.2f} {result.compiled.vendi_score:>11.2f} "
                f"{result.baseline.instruction_type_entropy:>14.2f} {result.compiled.instruction_type_entropy:>13.2f} "
                f"{'yes' if result.kept else 'no':>5} {'yes' if result.optimizer_finished else 'no':>9}"
            )
            print("\n".join([header, *rows]), flush=True)


if __name__ == "__main__":
    main()
