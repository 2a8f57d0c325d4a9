"""How trustworthy is the quality signal? Share of bad pairs caught and good pairs kept, per defect category.

The labelled pairs live in `benchmarks/metric_validity/`:

- `labelled.jsonl`: reading-comprehension pairs written for this project, each labelled good or bad with the defect
  category (wrong answer, contradiction, unsupported claim, hallucinated entity, malformed instruction, answer that
  ignores the question, copied passage, invented options, constraint violated, degenerate text).
- `embedded.jsonl`: real outputs of the embedded Gemma 3 270M model (`generate --min-quality 0`), labelled by hand.
- `unseen.jsonl`: pairs in the same categories written independently, never looked at while the checks were built:
  the check that the metric generalises.

A pair counts as caught when `generate` would reject it with its defaults: a validator or model check fails, or the
judge (where one runs) rates it below `--min-quality` 0.5. Each level of checking is measured on the same pairs:

    python benchmarks/metric_validity.py                      # validators, and validators + the embedded model checks
    python benchmarks/metric_validity.py --judge              # also the embedded judge (about 5 s a pair)
    python benchmarks/metric_validity.py --judge-lm openai/gpt-4o-mini [--api-base URL]   # a real judge
"""

from __future__ import annotations

import argparse
import json
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

SETS = ("labelled", "embedded", "unseen")
DATA = Path(__file__).parent / "metric_validity"


@dataclass
class PairResult:
    category: str
    validators: dict[str, str]
    lm: dict[str, str] = field(default_factory=dict)
    judge_quality: dict[str, float | None] = field(default_factory=dict)


def load(name: str, limit: int | None) -> list[dict]:
    rows = [json.loads(line) for line in (DATA / f"{name}.jsonl").read_text().splitlines() if line.strip()]
    return rows[:limit] if limit else rows


def measure(rows: list[dict], lm_checks, judges: dict) -> tuple[list[PairResult], dict[str, float]]:
    """Every level's verdict on every pair, and the seconds per pair each extra level cost."""
    import dspy

    from agentinstruct.metrics import Judge, JudgeParseError, view_of
    from agentinstruct.metrics.validators import validate

    judge = Judge()
    seconds: dict[str, float] = defaultdict(float)
    results = []
    for row in rows:
        view = view_of(row["messages"])
        started = time.perf_counter()
        result = PairResult(row["category"], validate(view, row.get("skill")))
        seconds["validators"] += time.perf_counter() - started
        if lm_checks is not None:
            started = time.perf_counter()
            result.lm = lm_checks.check(view)
            seconds["lm checks"] += time.perf_counter() - started
        for name, lm in judges.items():
            started = time.perf_counter()
            try:
                with dspy.context(lm=lm):
                    result.judge_quality[name] = (judge(view).overall - 1) / 4
            except JudgeParseError:
                result.judge_quality[name] = None  # unparseable: counted, never guessed; quality stays 1
            seconds[f"judge ({name})"] += time.perf_counter() - started
        results.append(result)
    return results, {name: total / max(len(rows), 1) for name, total in seconds.items()}


def levels(lm: bool, judges: list[str]) -> dict[str, callable]:
    """Each level of checking as a rule: is this pair caught?"""
    from agentinstruct.metrics.scoring import DEFAULT_MIN_QUALITY

    def judged_low(result: PairResult, name: str) -> bool:
        quality = result.judge_quality.get(name)
        return quality is not None and quality < DEFAULT_MIN_QUALITY

    found = {"validators": lambda r: bool(r.validators)}
    if lm:
        found["validators + model checks"] = lambda r: bool(r.validators or r.lm)
    for name in judges:
        found[f"validators + judge ({name})"] = lambda r, n=name: bool(r.validators) or judged_low(r, n)
        if lm:
            found[f"validators + model checks + judge ({name})"] = lambda r, n=name: (
                bool(r.validators or r.lm) or judged_low(r, n)
            )
    return found


def table(results: list[PairResult], rule) -> tuple[list[str], float, float]:
    by_category: dict[str, list[bool]] = defaultdict(list)
    for result in results:
        by_category[result.category].append(rule(result))
    lines = []
    for category in sorted(by_category, key=lambda c: (c == "good", c)):
        flags = by_category[category]
        if category == "good":
            lines.append(f"  {'good (kept)':<24}{len(flags) - sum(flags):>4}/{len(flags):<4}")
        else:
            lines.append(f"  {category:<24}{sum(flags):>4}/{len(flags):<4}")
    bad = [flag for category, flags in by_category.items() if category != "good" for flag in flags]
    good = by_category.get("good", [])
    caught = sum(bad) / len(bad) if bad else float("nan")
    kept = (len(good) - sum(good)) / len(good) if good else float("nan")
    return lines, caught, kept


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", nargs="+", default=list(SETS), choices=SETS)
    parser.add_argument("--no-lm-checks", action="store_true", help="leave out the embedded model's checks")
    parser.add_argument("--judge", action="store_true", help="also measure the embedded model as judge")
    parser.add_argument("--judge-lm", help="also measure this judge LM (a DSPy/LiteLLM model string)")
    parser.add_argument("--api-base", help="base URL of an OpenAI-compatible server for --judge-lm")
    parser.add_argument("--limit", type=int, help="only the first N pairs of each set")
    parser.add_argument("--out", help="write every pair's results here (JSON)")
    args = parser.parse_args()

    from agentinstruct.lm import EMBEDDED, JUDGE_SETTINGS, build_lm, shared_embedded_engine
    from agentinstruct.metrics.lm_checks import LMChecks

    lm_checks = None if args.no_lm_checks else LMChecks(shared_embedded_engine())
    judges = {}
    if args.judge:
        judges["embedded"] = build_lm(EMBEDDED, **JUDGE_SETTINGS)
    if args.judge_lm:
        judges[args.judge_lm] = build_lm(args.judge_lm, args.api_base, **JUDGE_SETTINGS)
    dump = {}
    for name in args.sets:
        rows = load(name, args.limit)
        results, costs = measure(rows, lm_checks, judges)
        dump[name] = [r.__dict__ for r in results]
        bad = sum(r.category != "good" for r in results)
        print(f"\n== {name}.jsonl: {len(results)} pairs ({bad} bad, {len(results) - bad} good)")
        print("  seconds per pair: " + ", ".join(f"{level} {cost:.3f}" for level, cost in costs.items()))
        for level, rule in levels(lm_checks is not None, list(judges)).items():
            lines, caught, kept = table(results, rule)
            print(f"\n  {level}: bad caught {caught:.1%}, good kept {kept:.1%}")
            print("\n".join(lines))
    if args.out:
        Path(args.out).write_text(json.dumps(dump, indent=1, default=str))


if __name__ == "__main__":
    main()
