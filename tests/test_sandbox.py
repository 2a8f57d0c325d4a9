"""The code sandbox against hostile programs, on the real bubblewrap.

Each hostile case checks three things: the program was stopped or refused, the result says how, and nothing outside
the sandbox changed (files, processes, this process's memory), after which a normal run still works.
"""

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import psutil
import pytest

from agentinstruct import sandbox
from agentinstruct.sandbox import SandboxLimits, SandboxUnavailable, parse_test_counts, run, run_python

REPO = Path(__file__).resolve().parent.parent
UNAVAILABLE = sandbox.sandbox_available()
# CI (.ci/run) sets this: there a missing sandbox is a failure, not a skip.
if UNAVAILABLE and os.environ.get("AGENTINSTRUCT_REQUIRE_SANDBOX"):
    raise RuntimeError(f"AGENTINSTRUCT_REQUIRE_SANDBOX is set but the sandbox is unavailable: {UNAVAILABLE}")
needs_sandbox = pytest.mark.skipif(UNAVAILABLE is not None, reason=f"sandbox unavailable: {UNAVAILABLE}")


def marker() -> str:
    return f"hostile_{uuid.uuid4().hex[:12]}"


def survivors(token: str) -> list[psutil.Process]:
    found = []
    for process in psutil.process_iter(["cmdline"]):
        if token in " ".join(process.info["cmdline"] or []) and process.pid != os.getpid():
            found.append(process)
    return found


def assert_still_works() -> None:
    """After a hostile run: this process can still start processes, and the sandbox still runs normal code."""
    assert subprocess.run([sys.executable, "-c", "print('alive')"], capture_output=True, text=True).stdout == "alive\n"
    result = run_python({"main.py": "print(6 * 7)"}, ["main.py"])
    assert (result.exit_code, result.stdout, result.killed_for) == (0, "42\n", None)


def probe_json(result) -> dict:
    """The JSON a probe program printed last."""
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


@needs_sandbox
def test_normal_code_runs_and_its_unittest_tests_are_counted():
    solution = "def add(a, b):\n    return a + b\n"
    tests = (
        "import unittest\nfrom solution import add\n\n"
        "class AddTest(unittest.TestCase):\n"
        "    def test_small(self):\n        self.assertEqual(add(2, 3), 5)\n"
        "    def test_negative(self):\n        self.assertEqual(add(-2, -3), -5)\n"
    )
    files = {"solution.py": solution, "tests/test_add.py": tests, "tests/__init__.py": ""}
    result = run_python(files, ["-m", "unittest", "discover", "-s", "tests", "-t", "."])
    assert result.ok, result.stderr
    assert (result.tests_passed, result.tests_failed, result.truncated) == (2, 0, False)
    assert result.command == ["python3", "-m", "unittest", "discover", "-s", "tests", "-t", "."]

    broken = run_python({**files, "solution.py": "def add(a, b):\n    return a - b\n"}, ["-m", "unittest", "discover"])
    assert broken.exit_code == 1 and broken.killed_for is None
    assert (broken.tests_passed, broken.tests_failed) == (0, 2)
    assert "AssertionError" in broken.stderr
    record = broken.to_record()
    assert record["exit_code"] == 1 and record["tests_failed"] == 2 and record["limits"]["max_processes"] == 64


@needs_sandbox
def test_the_sandbox_runs_as_nobody_in_a_private_work_folder_with_a_minimal_environment():
    probe = "import json, os\nprint(json.dumps({'uid': os.getuid(), 'cwd': os.getcwd(), 'env': dict(os.environ)}))"
    seen = probe_json(run_python({"probe.py": probe}, ["probe.py"]))
    assert seen["uid"] == sandbox.SANDBOX_UID
    assert seen["cwd"] == sandbox.WORKDIR
    assert set(seen["env"]) <= {"PATH", "HOME", "TMPDIR", "LANG", "PYTHONDONTWRITEBYTECODE", "PYTHONUNBUFFERED", "PWD"}
    assert seen["env"]["HOME"] == sandbox.WORKDIR


@needs_sandbox
def test_fork_bomb_is_bounded_by_the_process_limit_and_leaves_no_process_behind():
    token = marker()
    # The first process forks until refused, then counts the processes in the sandbox (its own PID namespace: /proc
    # lists only them) while every child keeps forking.
    bomb = (
        "import json, os, time\nn = 0\nwhile True:\n    try:\n        pid = os.fork()\n    except OSError as exc:\n"
        "        errno = exc.errno\n        break\n"
        "    if pid == 0:\n        while True:\n            try:\n                os.fork()\n"
        "            except OSError:\n                time.sleep(0.01)\n    n += 1\ntime.sleep(0.5)\n"
        "count = len([d for d in os.listdir('/proc') if d.isdigit()])\n"
        "print(json.dumps({'forked': n, 'errno': errno, 'processes': count}), flush=True)\ntime.sleep(1000)\n"
    )
    limits = SandboxLimits(wall_seconds=3, max_processes=32)
    result = run_python({f"{token}.py": bomb}, [f"{token}.py"], limits)
    print(f"fork bomb: {result.stdout.strip()} exit={result.exit_code} signal={result.signal} {result.killed_for}")
    assert result.killed_for == "wall" and result.timed_out and result.signal == "SIGKILL"
    seen = json.loads(result.stdout)
    assert seen["errno"] == 11  # EAGAIN: refused by the process limit
    assert 1 < seen["processes"] <= limits.max_processes  # bwrap's init included
    alive = [p for p in survivors(token) if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    assert alive == []
    assert_still_works()


@needs_sandbox
def test_infinite_loop_is_stopped_by_the_cpu_limit():
    result = run_python({"loop.py": "while True:\n    pass\n"}, ["loop.py"], SandboxLimits(cpu_seconds=1))
    print(f"infinite loop: exit={result.exit_code} signal={result.signal} killed_for={result.killed_for}")
    assert (result.exit_code, result.signal, result.killed_for, result.timed_out) == (None, "SIGXCPU", "cpu", False)
    assert_still_works()


@needs_sandbox
def test_sleeping_forever_is_stopped_by_the_wall_clock():
    token = marker()
    code = "import time\nprint('going to sleep')\ntime.sleep(1000)\n"
    result = run_python({f"{token}.py": code}, [f"{token}.py"], SandboxLimits(wall_seconds=1))
    print(f"sleep: exit={result.exit_code} signal={result.signal} killed_for={result.killed_for}")
    assert (result.exit_code, result.signal, result.killed_for, result.timed_out) == (None, "SIGKILL", "wall", True)
    assert result.stdout == "going to sleep\n"  # what it printed before the kill is kept
    assert survivors(token) == []
    assert_still_works()


@needs_sandbox
def test_home_ssh_keys_and_the_project_are_not_visible():
    secret_paths = [
        str(Path.home()),
        str(Path.home() / ".ssh"),
        "/root",
        "/root/.ssh",
        "/home",
        "/work",
        str(REPO),
        str(Path(sandbox.__file__).resolve()),
        str(Path(sys.executable).parent),
        "/etc/passwd",
        "/etc/shadow",
    ]
    probe = (
        "import json, os, sys\nseen = {}\nfor path in sys.argv[1:]:\n    try:\n"
        "        seen[path] = os.listdir(path) if os.path.isdir(path) else open(path).read(100)\n"
        "    except OSError as exc:\n        seen[path] = type(exc).__name__\nprint(json.dumps(seen))\n"
    )
    seen = probe_json(run_python({"probe.py": probe}, ["probe.py", *secret_paths]))
    print(f"hidden paths: {seen}")
    # /home is absent as a whole: nothing under it, even its name, is in the sandbox.
    assert seen == dict.fromkeys(secret_paths, "FileNotFoundError")
    assert_still_works()


@needs_sandbox
def test_writes_outside_the_work_folder_fail_and_change_nothing(tmp_path):
    token = marker()
    targets = [
        f"/etc/{token}",
        f"/usr/{token}",
        f"/usr/bin/{token}",
        f"/{token}",
        f"/dev/{token}",
        f"/root/{token}",
        str(REPO / token),
        str(Path.home() / token),
        str(tmp_path / token),
    ]
    probe = (
        "import errno, json, sys\nerrors = {}\nfor path in sys.argv[1:] + ['inside.txt', '/tmp/scratch.txt']:\n"
        "    try:\n        with open(path, 'w') as f:\n            f.write('pwned')\n        errors[path] = 'written'\n"
        "    except OSError as exc:\n        errors[path] = errno.errorcode[exc.errno]\nprint(json.dumps(errors))\n"
    )
    errors = probe_json(run_python({"probe.py": probe}, ["probe.py", *targets]))
    print(f"writes: {errors}")
    # The work folder and /tmp (the sandbox's own tmpfs) take writes: the probe did run and could write.
    assert errors.pop("inside.txt") == "written" and errors.pop("/tmp/scratch.txt") == "written"
    assert set(errors) == set(targets)
    # Read-only where the folder exists in the sandbox (/, /etc, /usr, /dev), absent where it is hidden.
    assert set(errors.values()) <= {"EROFS", "ENOENT", "EACCES"}, errors
    assert [t for t in targets if os.path.exists(t)] == []
    assert_still_works()


@needs_sandbox
def test_writable_space_is_capped():
    code = "with open('big.bin', 'wb') as f:\n    f.write(b'x' * 8 * 1024 * 1024)\n"
    result = run_python({"fill.py": code}, ["fill.py"], SandboxLimits(max_file_bytes=4 * 1024 * 1024))
    print(f"disk: exit={result.exit_code} killed_for={result.killed_for} {result.stderr.strip().splitlines()[-1]}")
    assert result.exit_code == 1
    assert "File too large" in result.stderr or "No space left" in result.stderr
    assert_still_works()


@needs_sandbox
def test_no_network_neither_loopback_of_the_host_nor_outside():
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        server.settimeout(0)
        port = server.getsockname()[1]
        probe = (
            "import json, socket, sys\nout = {}\n"
            "for host, port in (('127.0.0.1', int(sys.argv[1])), ('1.1.1.1', 53), ('8.8.8.8', 443)):\n"
            "    try:\n        socket.create_connection((host, port), timeout=3).close()\n"
            "        out[host] = 'connected'\n    except OSError as exc:\n        out[host] = type(exc).__name__\n"
            "try:\n    socket.getaddrinfo('example.com', 80)\n    out['dns'] = 'resolved'\n"
            "except OSError as exc:\n    out['dns'] = type(exc).__name__\nprint(json.dumps(out))\n"
        )
        seen = probe_json(run_python({"probe.py": probe}, ["probe.py", str(port)]))
        print(f"network: {seen}")
        # The sandbox's own loopback has nothing listening; there is no route out at all.
        assert seen["127.0.0.1"] == "ConnectionRefusedError"
        assert seen["1.1.1.1"] == seen["8.8.8.8"] == "OSError"
        assert seen["dns"] == "gaierror"
        with pytest.raises(BlockingIOError):
            server.accept()  # nothing reached the host's listener
    assert_still_works()


@needs_sandbox
@pytest.mark.parametrize(
    "code",
    ["data = bytearray(10 * 1024**3)\n", "chunks = []\nwhile True:\n    chunks.append(bytearray(64 * 1024**2))\n"],
    ids=["10GB-at-once", "64MB-chunks"],
)
def test_allocating_10_gb_fails_inside(code):
    result = run_python({"alloc.py": code}, ["alloc.py"])
    print(f"memory: exit={result.exit_code} signal={result.signal} killed_for={result.killed_for}")
    assert (result.exit_code, result.killed_for) == (1, "memory")
    assert result.stderr.strip().endswith("MemoryError")
    assert_still_works()


@needs_sandbox
def test_printing_a_gigabyte_is_cut_at_the_output_cap():
    own = psutil.Process()
    before = own.memory_info().rss
    code = "import sys\nchunk = b'x' * 1024 * 1024\nfor _ in range(1024):\n    sys.stdout.buffer.write(chunk)\n"
    result = run_python({"spam.py": code}, ["spam.py"])
    grown = own.memory_info().rss - before
    print(f"1 GB print: killed_for={result.killed_for} kept={len(result.stdout)} signal={result.signal} rss+{grown}")
    assert (result.killed_for, result.truncated, result.signal) == ("output", True, "SIGKILL")
    assert len(result.stdout) == SandboxLimits().max_output_bytes
    assert grown < 100 * 1024**2  # read in bounded chunks: nowhere near the gigabyte
    assert_still_works()


@needs_sandbox
def test_a_daemon_left_behind_dies_with_the_sandbox():
    token = marker()
    # The child detaches (new session, no stdout) and outlives its parent: the sandbox's end must still take it.
    code = (
        "import os, time\nif os.fork() == 0:\n    os.setsid()\n    os.close(1)\n    os.close(2)\n"
        "    time.sleep(1000)\nprint('parent done')\n"
    )
    result = run_python({f"{token}.py": code}, [f"{token}.py"])
    print(f"daemon: exit={result.exit_code} killed_for={result.killed_for}")
    assert (result.exit_code, result.killed_for, result.stdout) == (0, None, "parent done\n")
    # bwrap returns with its command; the kernel kills the rest of the namespace as its init exits, which on a loaded
    # machine takes a moment: the daemon must be gone within seconds, not outlive the test.
    deadline = time.monotonic() + 10
    while (alive := [p for p in survivors(token) if _alive(p)]) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert alive == []
    assert_still_works()


def _alive(process: psutil.Process) -> bool:
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


@needs_sandbox
def test_concurrent_runs_do_not_see_each_other():
    from concurrent.futures import ThreadPoolExecutor

    def one(i: int) -> str:
        code = f"import os\nprint({i}, sorted(os.listdir('.')), len([d for d in os.listdir('/proc') if d.isdigit()]))"
        return run_python({f"m{i}.py": code}, [f"m{i}.py"]).stdout.strip()

    with ThreadPoolExecutor(4) as pool:
        outputs = list(pool.map(one, range(8)))
    # Each sees only its own file and its own two processes (bwrap's init and itself).
    assert outputs == [f"{i} ['m{i}.py'] 2" for i in range(8)]


@needs_sandbox
def test_a_missing_command_is_reported_not_crashed_on():
    result = run({}, ["no-such-tool", "--flag"])
    assert result.exit_code == 127 and "cannot run 'no-such-tool'" in result.stderr


@pytest.mark.parametrize("name", ["../escape.py", "/etc/x.py", "a/../../b.py", "", "."])
def test_file_names_must_stay_inside_the_work_folder(name):
    with pytest.raises(ValueError, match="relative paths"):
        run_python({name: "print(1)"}, ["x.py"])


@pytest.fixture
def fresh_probe():
    sandbox._probe.cache_clear()
    sandbox._bwrap_help.cache_clear()
    yield
    sandbox._probe.cache_clear()
    sandbox._bwrap_help.cache_clear()


def refuse_popen(*args, **kwargs):
    raise AssertionError("the sandbox is unavailable: nothing may be started")


def test_without_bwrap_execution_is_refused_in_one_line(monkeypatch, tmp_path, fresh_probe):
    monkeypatch.setenv("PATH", str(tmp_path))
    reason = sandbox.sandbox_available()
    assert reason is not None and "bwrap (bubblewrap) is not installed" in reason and "apt-get install" in reason
    monkeypatch.setattr(sandbox.subprocess, "Popen", refuse_popen)
    with pytest.raises(SandboxUnavailable) as refused:
        run_python({"main.py": "print('ran unsandboxed')"}, ["main.py"])
    message = str(refused.value)
    assert "\n" not in message and message.endswith(reason) and "nothing was run" in message


@pytest.fixture
def fake_bwrap(monkeypatch):
    """Put a fake `bwrap` (its shell script given) first on PATH."""
    # Outside pytest's private tmp folder: as root, bwrap is started as the sandbox uid, which must reach it.
    folder = Path(tempfile.mkdtemp(prefix="fake-bwrap-"))
    folder.chmod(0o755)
    monkeypatch.setenv("PATH", f"{folder}:{os.environ['PATH']}")

    def install(script: str) -> Path:
        fake = folder / "bwrap"
        fake.write_text("#!/bin/sh\n" + script)
        fake.chmod(0o755)
        return fake

    yield install
    shutil.rmtree(folder)


def test_a_bwrap_that_cannot_create_namespaces_is_reported(fake_bwrap, fresh_probe):
    fake = fake_bwrap(
        'if [ "$1" = --help ]; then echo "--size BYTES  Set size"; exit 0; fi\n'
        "echo 'bwrap: No permissions to create new namespace' >&2\nexit 1\n"
    )
    reason = sandbox.sandbox_available()
    assert reason == f"{fake} cannot create its sandbox here: bwrap: No permissions to create new namespace"
    with pytest.raises(SandboxUnavailable, match="No permissions to create new namespace"):
        run_python({"main.py": "print(1)"}, ["main.py"])


def test_a_bwrap_too_old_to_cap_the_writable_space_is_refused(fake_bwrap, fresh_probe):
    # bubblewrap 0.6 (Ubuntu 22.04) has no --size: its tmpfs would be unbounded.
    fake = fake_bwrap('echo "usage: bwrap [OPTIONS...]"; echo "--tmpfs DEST  Mount new tmpfs on DEST"\n')
    assert sandbox.sandbox_available() == f"{fake} is too old (no --size option): bubblewrap 0.7 or later is needed"


def test_doctor_reports_the_sandbox(monkeypatch, tmp_path, fresh_probe):
    from agentinstruct.doctor import OK, WARN, sandbox_check

    check = sandbox_check()
    if UNAVAILABLE is None:
        assert check.status == OK and check.detail.startswith("bubblewrap ")
    monkeypatch.setenv("PATH", str(tmp_path))
    missing = sandbox_check()
    assert missing.status == WARN and "bwrap (bubblewrap) is not installed" in missing.detail


@pytest.mark.parametrize(
    "output, counts",
    [
        ("..\n----\nRan 3 tests in 0.001s\n\nOK\n", (3, 0)),
        ("Ran 5 tests in 0.1s\n\nFAILED (failures=1, errors=1, skipped=1)\n", (2, 2)),
        ("Ran 2 tests in 0.1s\n\nOK (skipped=1, expected failures=1)\n", (0, 0)),
        ("==== 4 passed, 1 failed, 2 skipped in 0.12s ====\n", (4, 1)),
        ("=========== 1 failed, 3 passed, 1 error in 1.50s ===========\n", (3, 2)),
        ("hello world\n", (None, None)),
    ],
)
def test_test_counts_come_from_the_runners_summary(output, counts):
    assert parse_test_counts(output) == counts


def test_limits_must_be_positive():
    with pytest.raises(ValueError, match="wall_seconds"):
        SandboxLimits(wall_seconds=0)
