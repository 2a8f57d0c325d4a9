"""Grow a compiled program's held-out comparison to as many pairs as it takes, a resumable chunk at a time.

    python benchmarks/heldout_pairs.py --program rc.candidate.json --draws 12 --rows pairs.jsonl
                                       [--seeds bundled] [--lm embedded] [--refine-rounds 1]

`compile` scores both programs on its held-out seeds x `--val-draws`; on the embedded model a pair costs 15-40 s,
so a hundred pairs a side may not fit one sitting. This runs the uncompiled pipeline and the program on the
program's held-out seeds (from its metadata) for draws 0 .. `--draws`-1 with compile's random seed, scores every
pair as compile does (validators, plus the model checks on the embedded model), and appends each (program, seed,
draw) to `--rows` as it finishes: a run that is stopped (a `timeout` under the embedded lock) loses at most one
seed-draw, and the next run skips what the file holds. It prints the paired comparison (validator pass rate, 95%
bootstrap interval over seed-draws), Vendi score and instruction-type entropy of both sides over everything in the
file: over all pairs, and at the same number of pairs a side (the larger side's figures are means over random subsets
of the smaller one's size), since both grow with the number of pairs. Responses of draws compile already made come
from DSPy's cache when it is the same cache.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--program", required=True, help="a program (or candidate) written by `agentinstruct compile`")
    parser.add_argument("--draws", type=int, required=True, help="plans per held-out seed, in all")
    parser.add_argument("--rows", required=True, help="JSONL file of scored pairs, appended to and resumed from")
    parser.add_argument("--seeds", default="bundled", help="the seeds the program was compiled on")
    parser.add_argument("--lm", default="embedded")
    parser.add_argument("--api-base")
    parser.add_argument("--refine-rounds", type=int, default=1)
    args = parser.parse_args()

    import dspy

    from agentinstruct.lm import EMBEDDED, build_lm
    from agentinstruct.metrics import CompositeMetric, Embedder
    from agentinstruct.metrics.lm_checks import embedded_lm_checks
    from agentinstruct.optimizers import load_program, program_metadata, program_skills
    from agentinstruct.optimizers.compile import DIVERSITY, _diversity, _rows, as_examples
    from agentinstruct.optimizers.gate import compare
    from agentinstruct.programs import AgentInstructPipeline, get_skill
    from agentinstruct.seeds import load_seeds, seeds_path

    skill = get_skill(program_skills(args.program)[0])
    metadata = program_metadata(args.program)
    heldout = set(metadata.get("heldout_seed_ids") or [])
    if not heldout:
        raise SystemExit(f"{args.program} records no held-out seeds")
    seeds = [s for s in load_seeds(seeds_path(args.seeds), kinds=skill.seed_kinds).seeds if s.seed_id in heldout]
    programs = {
        "baseline": AgentInstructPipeline(skill),
        "compiled": load_program(AgentInstructPipeline(skill), args.program),
    }
    rows_path = Path(args.rows)
    done = set()
    if rows_path.exists():
        for line in rows_path.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            done.add((row["program"], row["seed_id"], row["draw"]))
    lm = build_lm(args.lm, args.api_base)
    metric = CompositeMetric(skill=skill.name, lm_checks=embedded_lm_checks(args.lm == EMBEDDED))
    examples = as_examples(seeds, metadata.get("seed", 0), args.refine_rounds, args.draws)
    for example in examples:
        for name, program in programs.items():
            if (name, example.seed_id, example.draw) in done:
                continue
            with dspy.context(lm=lm):
                prediction = program(**example.inputs())
            metric(example, prediction)
            scores, _ = metric.last_details
            unit = _rows(example, prediction, scores) or [{"seed_id": example.seed_id, "draw": example.draw}]
            with rows_path.open("a", encoding="utf-8") as out:
                for row in unit:
                    out.write(json.dumps({"program": name, **row}, default=str) + "\n")
            print(f"{name} {example.seed_id[:12]} draw {example.draw}: {len(prediction.samples)} pairs", flush=True)

    rows = [json.loads(line) for line in rows_path.read_text(encoding="utf-8").splitlines()]
    # A unit that made nothing is kept as a bare row so it is not redone; it holds no pair.
    sides = {
        name: [r for r in rows if r["program"] == name and ("passed" in r or "failed_stage" in r)] for name in programs
    }
    comparison = compare(sides["baseline"], sides["compiled"], seed=metadata.get("seed", 0))
    embedder = Embedder()
    size = min(comparison.baseline_pairs, comparison.compiled_pairs)
    print(f"\n{args.program}: {len(seeds)} held-out seeds, {comparison.examples} seed-draws")
    print(f"pairs a side               {comparison.baseline_pairs} / {comparison.compiled_pairs}")
    print(f"validator pass rate        {comparison.describe()}")
    for label, measured_at in (("all pairs", None), (f"at {size} pairs a side", size)):
        diversity = {name: _diversity(side, embedder, measured_at) for name, side in sides.items()}
        for key in DIVERSITY:
            before, after = (diversity[name].get(key, 0.0) for name in ("baseline", "compiled"))
            print(f"{key:<26} {before:.2f} -> {after:.2f} ({after / before if before else 0:.2f}x), {label}")


if __name__ == "__main__":
    main()
