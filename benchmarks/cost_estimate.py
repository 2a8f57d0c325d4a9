"""How close `generate --dry-run` comes to the run it estimates: the default estimate and a `--pilot K` estimate, then
the real run of the same command, in a temporary folder with a fresh DSPy cache and MLflow store.

    python benchmarks/cost_estimate.py --stub --n 20                       # the stub server, started here
    python benchmarks/cost_estimate.py --lm embedded --n 10 --pilot 2      # the embedded model (slow)
    python benchmarks/cost_estimate.py --lm openai/gpt-4o-mini --api-base http://host:8000/v1 --n 50

Prints estimated vs actual units, LM calls, tokens in, tokens out and cost, with each estimate's ratio to the actual
figure (1.00 is exact): the default estimate (every pair kept), its figures at the run's unit limit (few pairs kept),
and the pilot's. The default's output tokens are the `--max-tokens` caps: an upper bound, not a prediction. With
`--stub`, the stub reports a fixed 100 tokens in and 20 out per call, so only the pilot's token figures (which measure
what the server reports) are comparable there; the default's token counts are the prompts'.

On the embedded model, give the pilot enough units to keep a few pairs (a skill that keeps 0.2 pairs per unit needs
K of 10 or more): a pilot that keeps none extrapolates to the run's unit limit.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lm", help="generator LM (default: openai/gpt-4o-mini with --stub, else embedded)")
    parser.add_argument("--api-base", help="base URL of an OpenAI-compatible server")
    parser.add_argument("--stub", action="store_true", help="start tests/stub_server.py (no latency) and use it")
    parser.add_argument("--skill", default="reading_comprehension")
    parser.add_argument("--n", type=int, default=20)
    parser.add_argument("--seeds", default="bundled", help="seed folder or file ('bundled' for the sample corpus)")
    parser.add_argument("--pilot", type=int, default=3, help="units the pilot estimate runs")
    parser.add_argument("--max-tokens", type=int, default=512)
    parser.add_argument("--refine-rounds", type=int, default=1)
    parser.add_argument("--concurrency", type=int, default=None, help="--max-inflight of the run")
    parser.add_argument("--judge-lm", default=None)
    parser.add_argument("--model-checks", action=argparse.BooleanOptionalAction, default=None)
    parser.add_argument("--json", help="also write the figures to this file")
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    work = Path(tempfile.mkdtemp(prefix="agentinstruct-cost-"))
    # Before DSPy is imported: a fresh response cache, so the real run pays for every call as a first run would.
    os.environ["DSPY_CACHEDIR"] = str(work / "dspy-cache")
    os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{work / 'mlflow.db'}"
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    stub = None
    api_base = args.api_base
    if args.stub:
        os.environ.setdefault("OPENAI_API_KEY", "sk-benchmark")
        command = [sys.executable, str(ROOT / "tests" / "stub_server.py"), "--latency", "0"]
        stub = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
        api_base = stub.stdout.readline().strip()
    lm = args.lm or ("openai/gpt-4o-mini" if args.stub else "embedded")
    try:
        figures = measure(args, lm, api_base, work)
    finally:
        if stub is not None:
            stub.terminate()
            stub.wait()
    print(report(figures))
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2), encoding="utf-8")


def measure(args: argparse.Namespace, lm: str, api_base: str | None, work: Path) -> dict:
    from agentinstruct.cli import quiet_libraries
    from agentinstruct.runner import GenerateConfig, generate

    quiet_libraries()
    config = GenerateConfig(
        skill=args.skill,
        seeds=args.seeds,  # "bundled" names the sample corpus
        n=args.n,
        out=str(work / "out"),
        lm=lm,
        api_base=api_base,
        judge_lm=args.judge_lm,
        refine_rounds=args.refine_rounds,
        max_inflight=args.concurrency,
        max_tokens=args.max_tokens,
        model_checks=args.model_checks,
    )
    estimates = {}
    for name, settings in (("default", {}), (f"pilot {args.pilot}", {"pilot": args.pilot})):
        result = generate(replace(config, dry_run=True, **settings), show_progress=False)
        estimates[name] = next(iter(result.values())).as_dict()
        if estimates[name]["at_unit_limit"]:  # the default's other end: the run stopping at its unit limit
            estimates["unit limit"] = {**estimates[name]["at_unit_limit"], "tokens_out_is_upper_bound": True}
    assert not (work / "out").exists(), "a dry run wrote to --out"
    summary = generate(config, show_progress=False)
    actual = {
        "units": summary.units_run,
        "lm_calls": summary.lm_calls,
        "tokens_in": summary.tokens_in,
        "tokens_out": summary.tokens_out,
        "cost_usd": summary.cost_usd,
        "pairs": summary.pairs,
    }
    return {
        "lm": lm,
        "skill": args.skill,
        "n": args.n,
        "max_inflight": config.inflight,
        "estimates": estimates,
        "actual": actual,
    }


def report(figures: dict) -> str:
    actual = figures["actual"]
    rows = ("units", "lm_calls", "tokens_in", "tokens_out", "cost_usd")
    lines = [
        f"{figures['lm']}, {figures['skill']}, --n {figures['n']}, max in flight {figures['max_inflight']}: "
        f"the real run kept {actual['pairs']} pairs",
        f"{'':<12} {'actual':>12}" + "".join(f" {name:>14} {'ratio':>6}" for name in figures["estimates"]),
    ]
    for row in rows:
        line = f"{row:<12} {_value(actual[row]):>12}"
        for estimate in figures["estimates"].values():
            value = estimate[row]
            bound = "<=" if row == "tokens_out" and estimate["tokens_out_is_upper_bound"] else ""
            line += f" {bound + _value(value):>14} {_ratio(value, actual[row]):>6}"
        lines.append(line)
    return "\n".join(lines)


def _value(value) -> str:
    if value is None:
        return "-"
    return f"{value:.5f}" if isinstance(value, float) else str(value)


def _ratio(estimated, actual) -> str:
    if estimated is None or not actual:
        return "-"
    return f"{estimated / actual:.2f}"


if __name__ == "__main__":
    main()
