"""Benchmark the embedded LM backend on the bundled seeds, against raw llama.cpp on the very same prompts.

It runs the reading-comprehension pipeline (DSPy cache off) over a few bundled seeds with the embedded engine
recording every llama.cpp completion it issues, then replays exactly those completions (same prompts, sampling
parameters and seeds, same order, so the same KV-cache reuse) on a fresh `llama_cpp.Llama` with no DSPy around it,
in a child process. The ratio of the pipeline's wall time to the replay's is the framework's overhead: prompt
building, parsing, DSPy bookkeeping, threads.

`--compare NAME=LIBDIR` replays the same completions on other llama.cpp builds too (each child loads its libraries
from LIBDIR through `LLAMA_CPP_LIB_PATH`), alternating builds within each repeat, and prints prompt-evaluation and
generation tokens/s per build from llama.cpp's own counters. A native build to compare with:

    python agentinstruct/llama_build.py --native --extract /tmp/native-lib
    python benchmarks/embedded_lm.py --seeds 6 --repeats 3 --compare native=/tmp/native-lib
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

INSTALLED = "installed"


def run_pipeline(n_seeds: int, refine_rounds: int):
    import dspy

    from agentinstruct.embedded import MODEL_NAME, EmbeddedEngine
    from agentinstruct.programs import AgentInstructPipeline, get_skill
    from agentinstruct.seeds import BUNDLED_CORPUS, load_seeds

    engine = EmbeddedEngine(keep_raw_calls=True)
    engine.load()  # model load is not part of either measurement
    lm = dspy.LM(MODEL_NAME, engine=engine, temperature=0.7, max_tokens=512, cache=False)
    skill = get_skill("reading_comprehension")
    pipeline = AgentInstructPipeline(skill)
    seeds = load_seeds(BUNDLED_CORPUS, kinds=skill.seed_kinds).seeds[:n_seeds]
    pairs, failures = [], []
    started = time.perf_counter()
    with dspy.context(lm=lm):
        for seed in seeds:
            prediction = pipeline(seed=seed.text, seed_id=seed.seed_id, refine_rounds=refine_rounds)
            pairs += prediction.samples
            failures += prediction.failures
    wall = time.perf_counter() - started
    return engine, wall, pairs, failures


def replay(calls_file: str, n_ctx: int, n_threads: int, repeat_penalty: float) -> dict:
    """Replay recorded completions on a fresh `Llama` (in this process); wall time and llama.cpp's counters."""
    import llama_cpp

    from agentinstruct.embedded import default_model_path

    calls = json.loads(Path(calls_file).read_text())
    llama = llama_cpp.Llama(
        model_path=str(default_model_path()), n_ctx=n_ctx, n_threads=n_threads, verbose=False, seed=0
    )
    llama_cpp.llama_perf_context_reset(llama.ctx)
    started = time.perf_counter()
    for call in calls:
        llama.create_completion(
            call["prompt"],
            max_tokens=call["max_tokens"],
            temperature=call["temperature"],
            top_p=0.95,
            top_k=40,
            repeat_penalty=repeat_penalty,
            stop=list(call["stop"]) or None,
            seed=call["seed"],
        )
    wall = time.perf_counter() - started
    perf = llama_cpp.llama_perf_context(llama.ctx)
    return {
        "wall": wall,
        "prompt_tokens": perf.n_p_eval,
        "prompt_seconds": perf.t_p_eval_ms / 1000,
        "generated_tokens": perf.n_eval,
        "generation_seconds": perf.t_eval_ms / 1000,
        "system_info": llama_cpp.llama_print_system_info().decode(errors="replace").strip(),
    }


def replay_in_child(calls_file: str, engine, lib_dir: str | None) -> dict:
    env = {key: value for key, value in os.environ.items() if key != "LLAMA_CPP_LIB_PATH"}
    if lib_dir:
        env["LLAMA_CPP_LIB_PATH"] = lib_dir
    command = [
        sys.executable,
        __file__,
        "--replay",
        calls_file,
        f"--n-ctx={engine.n_ctx}",
        f"--n-threads={engine.n_threads}",
        f"--repeat-penalty={engine.repeat_penalty}",
    ]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=6, help="bundled seeds to run (default: %(default)s)")
    parser.add_argument("--refine-rounds", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3, help="raw replays per build; medians are reported")
    parser.add_argument(
        "--compare", action="append", default=[], metavar="NAME=LIBDIR", help="also replay on this llama.cpp build"
    )
    parser.add_argument("--replay", help=argparse.SUPPRESS)
    parser.add_argument("--n-ctx", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--n-threads", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--repeat-penalty", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.replay:
        print(json.dumps(replay(args.replay, args.n_ctx, args.n_threads, args.repeat_penalty)))
        return
    builds: dict[str, str | None] = {INSTALLED: None}
    for item in args.compare:
        name, _, lib_dir = item.partition("=")
        if not lib_dir or not Path(lib_dir).is_dir():
            parser.error(f"--compare wants NAME=LIBDIR with an existing folder, got {item!r}")
        builds[name] = lib_dir

    engine, wall, pairs, failures = run_pipeline(args.seeds, args.refine_rounds)
    results: dict[str, list[dict]] = {name: [] for name in builds}
    with tempfile.TemporaryDirectory() as scratch:
        calls_file = str(Path(scratch) / "calls.json")
        Path(calls_file).write_text(json.dumps([asdict(call) for call in engine.stats.raw_calls]))
        for repeat in range(args.repeats):
            # Alternate the order so neither build always runs on a machine warmed (or loaded) by the other.
            order = list(builds) if repeat % 2 == 0 else list(reversed(builds))
            for name in order:
                results[name].append(replay_in_child(calls_file, engine, builds[name]))

    calls = engine.stats.requests
    completion_tokens = sum(call.completion_tokens for call in engine.stats.raw_calls)
    prompt_tokens = sum(call.prompt_tokens for call in engine.stats.raw_calls)
    parse_failures = sum(f.reason == "parse_failure" for f in failures)
    empty = sum(f.reason == "empty_output" for f in failures)
    raw = statistics.median(r["wall"] for r in results[INSTALLED])
    rows = [
        ("seeds", args.seeds),
        ("pairs", len(pairs)),
        ("LM calls (DSPy requests)", calls),
        ("llama.cpp completions (one per output field)", len(engine.stats.raw_calls)),
        ("LM calls per pair", f"{calls / max(len(pairs), 1):.2f}"),
        ("seconds per pair", f"{wall / max(len(pairs), 1):.2f}"),
        ("prompt tokens (incl. reused prefix)", prompt_tokens),
        ("completion tokens", completion_tokens),
        ("generation tokens/s (in-engine)", f"{completion_tokens / engine.stats.generation_seconds:.1f}"),
        ("parse-failure rate (per LM call)", f"{parse_failures / max(calls, 1):.1%}"),
        ("empty-output rate (per LM call)", f"{empty / max(calls, 1):.1%}"),
        (
            "failures by reason",
            dict(sorted({f.reason: sum(x.reason == f.reason for x in failures) for f in failures}.items())),
        ),
        ("pipeline wall time (s)", f"{wall:.1f}"),
        (
            f"raw llama.cpp replay, median of {args.repeats} (s)",
            f"{raw:.1f}  {[round(r['wall'], 1) for r in results[INSTALLED]]}",
        ),
        ("framework overhead (pipeline / raw - 1)", f"{wall / raw - 1:+.1%}"),
    ]
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value}")
    print()
    print(_build_table(results))


def _build_table(results: dict[str, list[dict]]) -> str:
    """Per build: replay wall time, prompt and generation tokens/s (medians), each relative to the installed build."""

    def median(name: str, key: str) -> float:
        return statistics.median(key_of(r, key) for r in results[name])

    def key_of(result: dict, key: str) -> float:
        if key == "prompt":
            return result["prompt_tokens"] / result["prompt_seconds"]
        if key == "generation":
            return result["generated_tokens"] / result["generation_seconds"]
        return result[key]

    lines = [
        f"{'build':<12}{'replay s':>10}{'prompt tok/s':>14}{'gen tok/s':>11}"
        f"{'gen vs installed':>18}{'replay vs installed':>21}  features"
    ]
    base_gen, base_wall = median(INSTALLED, "generation"), median(INSTALLED, "wall")
    for name, runs in results.items():
        features = " ".join(
            part.split("=")[0].split(":")[-1].strip()
            for part in runs[0]["system_info"].split("|")
            if part.strip().endswith("= 1")
        )
        gen, wall = median(name, "generation"), median(name, "wall")
        lines.append(
            f"{name:<12}{wall:>10.1f}{median(name, 'prompt'):>14.0f}{gen:>11.1f}"
            f"{gen / base_gen:>18.3f}{base_wall / wall:>21.3f}  {features}  "
            f"(replays {[round(r['wall'], 1) for r in runs]})"
        )
    lines.append("(medians over the repeats; 'vs installed' > 1 means faster than the installed build)")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
