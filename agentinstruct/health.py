"""Is the embedded model usable on this machine? Asked in a child process, so a crash cannot take the caller down.

A llama.cpp build that uses instructions this CPU lacks (AMX tiles in worker threads, AVX-512 from a wheel built on
another machine) dies with SIGILL at its first matrix multiply. Loading the model and generating a few tokens in a
child turns that into one clear line for the user, and the answer is remembered per build, CPU and model file, so
`generate` asks only the first time it loads the model on a machine.

Run as a script (`python health.py MODEL N_CTX N_THREADS TOKENS`), this file is the child: it imports only llama_cpp.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

PROBE_TIMEOUT_SECONDS = 300
"""Generous: loading the 250 MB model takes about a second, but a busy 2-core machine may be many times slower."""
PROBE_TOKENS = 24
PROBE_PROMPT = (
    "The river Alder floods every spring when snow melts in the Tarn hills. In 1998 the town of Fenwick built a "
    "levee three kilometers long, and since then no flood has reached the market square.\n\nQuestion: What did "
    "Fenwick build in 1998?\nAnswer:"
)


@dataclass(frozen=True)
class ProbeResult:
    """What the child measured: model load, prompt evaluation and generation on a short prompt."""

    load_seconds: float
    prompt_tokens: int
    prompt_tokens_per_second: float
    completion_tokens: int
    tokens_per_second: float
    system_info: str
    text: str


def _child(model_path: str, n_ctx: int, n_threads: int, tokens: int) -> None:
    """The probe itself (in the child): load, evaluate the prompt, generate; print the figures as one JSON line."""
    import llama_cpp

    started = time.perf_counter()
    llama = llama_cpp.Llama(model_path=model_path, n_ctx=n_ctx, n_threads=n_threads, verbose=False, seed=0)
    loaded = time.perf_counter()
    # The first call is almost all prompt evaluation (batched matrix multiplies on every thread, where a bad build
    # faults); the second reuses that prompt from the KV cache, so its time is generation.
    first = llama.create_completion(PROBE_PROMPT, max_tokens=1, temperature=0.0)
    evaluated = time.perf_counter()
    second = llama.create_completion(PROBE_PROMPT, max_tokens=tokens, temperature=0.0)
    generated = time.perf_counter()
    completion_tokens = second["usage"]["completion_tokens"]
    result = ProbeResult(
        load_seconds=round(loaded - started, 3),
        prompt_tokens=first["usage"]["prompt_tokens"],
        prompt_tokens_per_second=round(first["usage"]["prompt_tokens"] / max(evaluated - loaded, 1e-9), 1),
        completion_tokens=completion_tokens,
        tokens_per_second=round(completion_tokens / max(generated - evaluated, 1e-9), 1),
        system_info=llama_cpp.llama_print_system_info().decode(errors="replace").strip(),
        text=second["choices"][0]["text"],
    )
    print(json.dumps(asdict(result)))


def probe_command(model_path: str | Path, n_ctx: int, n_threads: int, tokens: int = PROBE_TOKENS) -> list[str]:
    """The child's command line: this file run as a script, so the child imports nothing of agentinstruct."""
    return [sys.executable, str(Path(__file__).resolve()), str(model_path), str(n_ctx), str(n_threads), str(tokens)]


def run_probe(command: list[str], timeout: float = PROBE_TIMEOUT_SECONDS) -> ProbeResult:
    """Run a probe child and read its result.

    Raises:
        UserError: The child died from a signal, failed, timed out or printed no result; the message says what
            crashed, the likely cause and what to do.
    """
    from agentinstruct.errors import UserError

    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired as exc:
        raise UserError(
            f"the embedded model did not load and answer within {timeout:.0f} s in a test process; the machine may "
            "be overloaded (another llama.cpp process?): retry, or run 'agentinstruct doctor'"
        ) from exc
    if done.returncode < 0:
        raise UserError(crash_message(-done.returncode))
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise UserError(f"the embedded model failed to load in a test process: {last}")
    try:
        return ProbeResult(**json.loads(done.stdout.strip().splitlines()[-1]))
    except (IndexError, ValueError, TypeError) as exc:
        raise UserError(f"the embedded model's test process printed no result: {done.stdout[-200:]!r}") from exc


def crash_message(signal_number: int) -> str:
    """One line for a child killed by `signal_number`: what crashed, the likely cause, what to do."""
    try:
        name = signal.Signals(signal_number).name
    except ValueError:
        name = f"signal {signal_number}"
    rebuild = (
        "rebuild it for this machine with 'make setup' in a source checkout, or "
        "'python -m agentinstruct.llama_build --force' in an installed environment, then run 'agentinstruct doctor'"
    )
    if name == "SIGILL":
        return (
            "the embedded model crashed with an illegal instruction (SIGILL) in a test process: this llama-cpp-python "
            "build uses CPU instructions this machine cannot run (AMX, or AVX-512 from a wheel built on another "
            f"machine); {rebuild}"
        )
    if name in ("SIGSEGV", "SIGBUS"):
        return (
            f"the embedded model crashed ({name}) in a test process: a broken llama-cpp-python build or a corrupt "
            f"model file; {rebuild}"
        )
    if name == "SIGKILL":
        return (
            "the embedded model was killed (SIGKILL) in a test process, most likely for lack of memory: free memory "
            "or use an endpoint model with --lm"
        )
    return f"the embedded model's test process died from {name}; {rebuild}"


def _check_key(model_path: Path, n_ctx: int, n_threads: int) -> str:
    """What the answer depends on: the llama.cpp libraries, this CPU, the model file and the probe's settings."""
    from agentinstruct.llama_build import cpu_model, installed_library_dir, library_hashes

    lib_dir = installed_library_dir()
    stat = model_path.stat() if model_path.exists() else None
    parts = {
        "python": sys.executable,
        "libraries": library_hashes(lib_dir) if lib_dir and lib_dir.exists() else {},
        "lib_path_override": os.environ.get("LLAMA_CPP_LIB_PATH"),
        "cpu": cpu_model(),
        "model": [str(model_path), stat.st_size, stat.st_mtime_ns] if stat else None,
        "settings": [n_ctx, n_threads, PROBE_TOKENS],
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:20]


def checks_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "agentinstruct" / "runtime-checks"


def ensure_embedded_runtime(model_path: str | Path, n_ctx: int, n_threads: int) -> ProbeResult | None:
    """Probe the model in a child unless a probe already passed for this build, CPU, model and settings; remember
    a pass.

    Returns the new result, or None when an earlier pass was found.

    Raises:
        UserError: The probe failed (see `run_probe`).
    """
    marker = checks_dir() / f"{_check_key(Path(model_path), n_ctx, n_threads)}.json"
    if marker.exists():
        return None
    result = run_probe(probe_command(model_path, n_ctx, n_threads))
    try:
        marker.parent.mkdir(parents=True, exist_ok=True)
        staged = marker.with_suffix(".partial")
        staged.write_text(json.dumps(asdict(result), indent=2))
        os.replace(staged, marker)
    except OSError:
        pass  # an unwritable cache only means the next run checks again
    return result


if __name__ == "__main__":
    _child(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]))
