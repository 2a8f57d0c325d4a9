"""Every skill side by side: `generate --skill all` on seeds the project never trained or tuned on.

Prints, per skill, the validator pass rate, kept pairs per LM call and seconds per kept pair, re-checks every kept
record against its skill's validators (the shape the skill promises: MCQ options with the answer among them, a label
from the given set, extracted items found in the source, ...), and shows one shortened example row per skill.

    python benchmarks/skills.py                       # embedded model, benchmarks/skills_seeds, --n 36, --seed 0
    python benchmarks/skills.py --lm openai/gpt-4o-mini --n 120 --out outputs/skills-gpt
    python benchmarks/skills.py --skill coding,tool_use,web_agent,rag,conversation --n 15 --out outputs/agentic

The run is an ordinary generate job: rerunning the same command resumes it, and it is in MLflow.
"""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--skill", default="all", help="skills to run, as generate's --skill (default: all)")
    parser.add_argument("--seeds", default=str(HERE / "skills_seeds"), help="unseen seed documents (text and code)")
    parser.add_argument("--n", type=int, default=36, help="records over all skills (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--lm", default="embedded")
    parser.add_argument("--api-base")
    parser.add_argument("--out", default="outputs/skills-benchmark")
    parser.add_argument("--json", help="also write the figures here")
    args = parser.parse_args()

    import datasets

    from agentinstruct.cli import quiet_libraries
    from agentinstruct.metrics import record_view, validate
    from agentinstruct.mix import skill_figures as figures_of
    from agentinstruct.runner import GenerateConfig, generate

    quiet_libraries()
    summary = generate(
        GenerateConfig(
            skill=args.skill,
            seeds=args.seeds,
            n=args.n,
            out=args.out,
            lm=args.lm,
            api_base=args.api_base,
            seed=args.seed,
        )
    )
    rows = datasets.load_from_disk(args.out)["train"]
    # One skill makes a plain run's summary, several a mix's: both give the same figures per skill.
    per_skill = getattr(summary, "skills", None) or {args.skill: figures_of(summary)}
    figures = {}
    print(f"\n{'skill':<22} {'kept':>7} {'pass rate':>9} {'pairs/call':>10} {'s/pair':>7} {'shape ok':>8}")
    for name, skill_figures in per_skill.items():
        kept = [row for row in rows if row["skill"] == name]
        shape_ok = sum(not validate(record_view(row), name) for row in kept)
        calls, pairs = skill_figures["lm_calls"], skill_figures["pairs"]
        figures[name] = {
            **skill_figures,
            "kept_pairs_per_lm_call": round(pairs / calls, 4) if calls else None,
            "kept_rows_passing_validators": shape_ok,
            "example": kept[0]["messages"] if kept else None,
            "example_context": kept[0]["context"] if kept else None,
        }
        per_call = figures[name]["kept_pairs_per_lm_call"]
        print(
            f"{name:<22} {pairs:>3} of {skill_figures['requested']:<2} {skill_figures['pass_rate']:>9.0%} "
            f"{per_call if per_call is not None else '-':>10} {skill_figures['seconds_per_kept_pair'] or '-':>7} "
            f"{shape_ok:>4} of {len(kept):<3}"
        )
    print(f"\nwall time {summary.wall_seconds:.0f} s, {summary.lm_calls} LM calls, mlflow run {summary.run_id}")
    for name, item in figures.items():
        if item["example"]:
            user, answer = item["example"][0]["content"], item["example"][-1]["content"]
            print(f"\n--- {name}\nuser: {textwrap.shorten(user, 300)}\nassistant: {textwrap.shorten(answer, 200)}")
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2, ensure_ascii=False), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
