"""Does a compiled program make better datasets on seeds it never saw? Generate with and without it, then score both.

    python benchmarks/heldout_generate.py --program rc.json [--seeds bundled] [--n 24] [--seed 1] [--out DIR]

The held-out seeds are the ones `compile` kept out of training (their ids travel in the program's metadata). Both
runs use the same seeds, `--seed` and `--n`, keep every pair (`--min-quality 0`, so the score sees what the program
really produced rather than what the filter let through), and are scored by `agentinstruct score` (validators and
model checks, no judge). Each generate and score is tracked in ./mlflow.db like any other run.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path


def write_heldout_seeds(program: str, seeds: str, folder: Path) -> int:
    """Write the program's held-out seeds as text files into `folder`; returns how many."""
    from agentinstruct.optimizers.programs import METADATA_KEY, SKILL_KEY
    from agentinstruct.programs import get_skill
    from agentinstruct.seeds import load_seeds

    state = json.loads(Path(program).read_text(encoding="utf-8"))
    heldout = set(state.get(METADATA_KEY, {}).get("heldout_seed_ids") or [])
    if not heldout:
        raise SystemExit(f"{program} records no held-out seeds (compile it with this version of agentinstruct)")
    skill = get_skill(state[SKILL_KEY])
    folder.mkdir(parents=True, exist_ok=True)
    found = [seed for seed in load_seeds(seeds, kinds=skill.seed_kinds).seeds if seed.seed_id in heldout]
    for seed in found:
        (folder / f"{seed.seed_id[:16]}.txt").write_text(seed.text, encoding="utf-8")
    if len(found) != len(heldout):
        raise SystemExit(f"only {len(found)} of the {len(heldout)} held-out seeds are in {seeds}")
    return len(found)


def main() -> None:
    from agentinstruct.cli import main as cli

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--program", required=True, help="a program written by `agentinstruct compile`")
    parser.add_argument("--seeds", default="bundled", help="the seeds the program was compiled on")
    parser.add_argument("--n", type=int, default=24, help="pairs per dataset")
    parser.add_argument("--seed", type=int, default=1, help="generate's --seed, the same for both runs")
    parser.add_argument("--out", help="folder for the datasets and reports (default: a temporary one)")
    args = parser.parse_args()

    from agentinstruct.seeds import BUNDLED_CORPUS

    seeds = str(BUNDLED_CORPUS) if args.seeds == "bundled" else args.seeds
    root = Path(args.out or tempfile.mkdtemp(prefix="heldout-"))
    count = write_heldout_seeds(args.program, seeds, root / "heldout-seeds")
    reports = {}
    for name, extra in (("uncompiled", []), ("compiled", ["--program", args.program])):
        common = ["--seeds", str(root / "heldout-seeds"), "--n", str(args.n), "--seed", str(args.seed)]
        cli(["generate", *common, "--out", str(root / name), "--min-quality", "0", *extra])
        cli(["score", str(root / name), "--out", str(root / f"{name}-score")])
        reports[name] = json.loads((root / f"{name}-score" / "report.json").read_text())
    print(f"\n{count} held-out seeds, --n {args.n}, --seed {args.seed}; folder {root}")
    print(f"{'':<22} {'uncompiled':>11} {'compiled':>9}")
    for label, key, fmt in (
        ("rows", "rows", "{}"),
        ("validator pass rate", "pass_rate", "{:.1%}"),
        ("near-duplicate share", "near_duplicate_rate", "{:.1%}"),
        ("vendi score", "vendi_score", "{:.2f}"),
    ):
        before, after = (reports[name].get(key) for name in ("uncompiled", "compiled"))
        shown = ["n/a" if value is None else fmt.format(value) for value in (before, after)]
        print(f"{label:<22} {shown[0]:>11} {shown[1]:>9}")
    for name in sorted(set().union(*(reports[run].get("validator_failures", {}) for run in reports))):
        counts = [reports[run].get("validator_failures", {}).get(name, 0) for run in ("uncompiled", "compiled")]
        print(f"{'  failed ' + name:<22} {counts[0]:>11} {counts[1]:>9}")


if __name__ == "__main__":
    main()
