"""Where a generate run's resident memory goes: runs `agentinstruct generate` in this process while a thread writes,
every PROBE_EVERY seconds (5), one JSON line to LOG: rows written so far (records, rejects and failures, from the
progress log), kept records, resident memory (anonymous and file-backed), threads, open files, SQLite's heap
(`sqlite3_memory_used`), glibc's arenas (`mallinfo2`: mapped, in use, free inside them), the Arrow pool; and every
60 s resident memory by mapping (/proc/self/smaps: [heap], anonymous maps by size, files by name) and per arena
(`malloc_info`).

    python tests/stub_server.py --latency 0          # prints its URL
    python benchmarks/memory_probe.py LOG N OUT SEEDS URL [more generate options]

Experiments (environment): PROBE_TRIM=1 calls malloc_trim(0) at every sample; PROBE_OLD_CACHE=1 leaves DSPy's disk
cache memory-mapped and PROBE_OLD_MALLOC=1 never trims malloc's arenas (each as before its fix);
PROBE_DISKCACHE_MMAP / PROBE_DISKCACHE_PAGES set diskcache's defaults; PROBE_NO_DISKCACHE=1 turns DSPy's cache off;
PROBE_INFLIGHT sets --max-inflight (32). glibc's own variables (MALLOC_MMAP_THRESHOLD_, MALLOC_ARENA_MAX) apply as
usual. Linux and glibc only. What the README's "Memory at scale" reports was measured with it.
"""

import ctypes
import json
import os
import sys
import threading
import time
from pathlib import Path

log_path, n, out, seeds, url, *extra = sys.argv[1:]


class MallInfo2(ctypes.Structure):
    _fields_ = [
        (f, ctypes.c_size_t)
        for f in (
            "arena",
            "ordblks",
            "smblks",
            "hblks",
            "hblkhd",
            "usmblks",
            "fsmblks",
            "uordblks",
            "fordblks",
            "keepcost",
        )
    ]


libc = ctypes.CDLL("libc.so.6")
libc.mallinfo2.restype = MallInfo2
sqlite = ctypes.CDLL("libsqlite3.so.0")
sqlite.sqlite3_memory_used.restype = ctypes.c_int64
sqlite.sqlite3_memory_highwater.restype = ctypes.c_int64
MB = 2**20


def status():
    fields = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "RssAnon", "RssFile", "Threads", "VmSize"):
            fields[key] = int(value.split()[0]) * 1024 if key != "Threads" else int(value)
    return fields


def smaps_summary():
    """Rss (MB) by mapping kind: [heap], anonymous by size class, files by name."""
    groups = {}
    name = None
    for line in Path("/proc/self/smaps").read_text().splitlines():
        head = line.split()
        if "-" in head[0] and len(head) >= 5 and not head[0].endswith(":"):
            start, end = (int(x, 16) for x in head[0].split("-"))
            size = (end - start) / MB
            path = head[5] if len(head) > 5 else ""
            if path.startswith("/"):
                name = Path(path).name
                name = "cache.db*" if name.startswith("cache.db") else name
            elif path:
                name = path
            else:
                name = (
                    "anon<=1MB"
                    if size <= 1
                    else ("anon=64MB" if 63 <= size <= 65 else ("anon>64MB" if size > 65 else "anon1-63MB"))
                )
        elif head[0] == "Rss:":
            groups[name] = groups.get(name, 0) + int(head[1]) / 1024
    top = sorted(groups.items(), key=lambda kv: -kv[1])[:12]
    return {k: round(v, 1) for k, v in top}


def arenas():
    """Per glibc arena: (MB mapped now, MB free inside it), from malloc_info's XML."""
    import re
    import tempfile

    path = tempfile.mktemp()
    libc.fopen.restype = ctypes.c_void_p
    handle = libc.fopen(path.encode(), b"w")
    libc.malloc_info(0, ctypes.c_void_p(handle))
    libc.fclose(ctypes.c_void_p(handle))
    text = Path(path).read_text()
    os.unlink(path)
    result = []
    for heap in re.findall(r'<heap nr="\d+">(.*?)</heap>', text, re.S):
        current = int(re.search(r'<system type="current" size="(\d+)"', heap).group(1))
        free = sum(int(x) for x in re.findall(r'<total type="(?:fast|rest)" count="\d+" size="(\d+)"', heap))
        result.append((round(current / MB, 1), round(free / MB, 1)))
    return result


def count_rows(progress: Path, state: dict) -> int:
    if not progress.exists():
        return state.get("rows", 0)
    with progress.open("rb") as handle:
        handle.seek(state.get("offset", 0))
        for line in handle:
            if not line.endswith(b"\n"):
                break
            state["offset"] = state.get("offset", 0) + len(line)
            unit = json.loads(line)
            state["rows"] = state.get("rows", 0) + len(unit.get("records", [])) + len(unit.get("failures", []))
            state["units"] = state.get("units", 0) + 1
    return state.get("rows", 0)


def sample_forever(log):
    state = {}
    progress = Path(out) / ".progress" / "units.jsonl"
    started = time.time()
    while True:
        if os.environ.get("PROBE_TRIM"):
            libc.malloc_trim(0)
        info = libc.mallinfo2()
        st = status()
        rows = count_rows(progress, state)
        arrow = 0
        if "pyarrow" in sys.modules:
            arrow = sys.modules["pyarrow"].total_allocated_bytes()
        record = {
            "t": round(time.time() - started, 1),
            "rows": rows,
            "units": state.get("units", 0),
            "kept": KEPT[0],
            "rss": st["VmRSS"] / MB,
            "anon": st["RssAnon"] / MB,
            "file": st["RssFile"] / MB,
            "threads": st["Threads"],
            "call_threads": sum(t.name.startswith("agentinstruct-call") for t in threading.enumerate()),
            "fds": len(os.listdir("/proc/self/fd")),
            "sqlite": sqlite.sqlite3_memory_used() / MB,
            "arena": info.arena / MB,
            "mmapped": info.hblkhd / MB,
            "in_use": info.uordblks / MB,
            "free": info.fordblks / MB,
            "arrow": arrow / MB,
            "load": os.getloadavg()[0],
        }
        log.write(json.dumps({k: round(v, 1) if isinstance(v, float) else v for k, v in record.items()}) + "\n")
        if len(state.setdefault("smaps", [])) * 60 <= time.time() - started:
            state["smaps"].append(1)
            log.write(json.dumps({"t": record["t"], "smaps": smaps_summary(), "arenas": arenas()}) + "\n")
        log.flush()
        time.sleep(float(os.environ.get("PROBE_EVERY", "5")))


if os.environ.get("PROBE_DISKCACHE_MMAP") is not None or os.environ.get("PROBE_DISKCACHE_PAGES") is not None:
    import diskcache.core

    if os.environ.get("PROBE_DISKCACHE_MMAP") is not None:
        diskcache.core.DEFAULT_SETTINGS["sqlite_mmap_size"] = int(os.environ["PROBE_DISKCACHE_MMAP"])
    if os.environ.get("PROBE_DISKCACHE_PAGES") is not None:
        diskcache.core.DEFAULT_SETTINGS["sqlite_cache_size"] = int(os.environ["PROBE_DISKCACHE_PAGES"])
if os.environ.get("PROBE_NO_DISKCACHE"):
    import dspy

    dspy.configure_cache(enable_disk_cache=False, enable_memory_cache=False)

KEPT = [0]
import agentinstruct.metrics.diversity as _diversity  # noqa: E402

_add = _diversity.NoveltyIndex.add


def _counting_add(self, vectors, ids):
    KEPT[0] += len(ids)
    return _add(self, vectors, ids)


_diversity.NoveltyIndex.add = _counting_add
if os.environ.get("PROBE_OLD_CACHE"):  # the code before the fix: DSPy's cache files memory-mapped
    import agentinstruct.units as _units

    def _old_disk_cache_only():
        import dspy
        from dspy.clients import DISK_CACHE_DIR

        if getattr(dspy.cache, "enable_memory_cache", True):
            dspy.configure_cache(enable_disk_cache=True, enable_memory_cache=False, disk_cache_dir=DISK_CACHE_DIR)

    _units._disk_cache_only = _old_disk_cache_only
if os.environ.get("PROBE_OLD_MALLOC"):  # the code before the fix: memory freed inside malloc's arenas kept
    import agentinstruct.units as _units

    _units.release_freed_memory = lambda every=0.0: None
log = open(log_path, "w")  # noqa: SIM115  (written by the sampling thread until the process ends)
threading.Thread(target=sample_forever, args=(log,), daemon=True).start()
from agentinstruct.cli import main  # noqa: E402

code = main(
    [
        "generate",
        "--seeds",
        seeds,
        "--n",
        n,
        "--out",
        out,
        "--lm",
        "openai/stub",
        "--api-base",
        url,
        "--max-inflight",
        os.environ.get("PROBE_INFLIGHT", "32"),
        "--quiet",
        "--refine-rounds",
        "0",
        *extra,
    ]
)
time.sleep(0.1)
print("exit", code, file=sys.stderr)
