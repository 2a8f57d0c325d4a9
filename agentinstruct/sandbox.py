"""Run untrusted code (a model's generated program and its tests) in a bubblewrap sandbox.

Generated code never runs in this process or with the user's rights over their files. Each run gets:

- a separate process tree in fresh namespaces (`bwrap --unshare-all`): its own PID namespace, so it sees and can
  signal only itself; a network namespace with nothing but its own loopback, so no connection leaves it;
- a filesystem of its own: `/usr` (and the `/bin`, `/lib*` links or folders), a few loader files from `/etc` and a
  new `/proc` and `/dev`, all read-only; `/` itself is a read-only empty tmpfs, so `$HOME`, the project folder and
  everything else on the machine is simply absent; the only writable place is a size-capped tmpfs at `/tmp`, whose
  `/tmp/work` holds the given files and is the working directory; it disappears with the sandbox;
- an unprivileged uid (65534) that is not root outside either: when agentinstruct runs as root, bwrap itself is
  started as uid 65534, because the kernel exempts a process that is root outside from RLIMIT_NPROC (a fork bomb in
  a user namespace mapped to root would not be bounded); user namespaces cannot be nested inside;
- resource limits set by a fixed launcher inside the sandbox before it execs the command: CPU time (RLIMIT_CPU),
  address space (RLIMIT_AS), processes and threads (RLIMIT_NPROC: counted per user namespace, so only the sandbox's
  own processes count), file size (RLIMIT_FSIZE), no core files;
- a wall clock and an output cap kept by this process: past either, the whole sandbox is killed (bwrap runs with
  `--die-with-parent`, and when its PID 1 dies the kernel kills every process in the namespace).

Where bubblewrap is missing or cannot create namespaces, nothing runs: `run` raises `SandboxUnavailable` with one line
saying why. There is no unsandboxed fallback.
"""

from __future__ import annotations

import contextlib
import functools
import glob
import os
import re
import selectors
import shutil
import signal
import subprocess
import time
from dataclasses import asdict, dataclass, field
from pathlib import PurePosixPath

from agentinstruct.errors import UserError

# The uid the sandboxed code runs as, inside and (when we are root) outside: the conventional no-rights user.
SANDBOX_UID = 65534
WORKDIR = "/tmp/work"
# The system interpreter, never the project's venv: nothing of the project has to be visible inside.
SYSTEM_PYTHONS = ("/usr/bin/python3", "/usr/local/bin/python3")
INSTALL_HINT = "install bubblewrap: 'make setup' as root, or 'apt-get install bubblewrap' (dnf/pacman: bubblewrap)"
# After a kill, how long to wait for the sandbox's pipes to close (every process in it gone) before giving up on it.
_REAP_SECONDS = 10.0

# Runs inside the sandbox (system python, -I -S): applies the limits to itself, then becomes the command, so every
# process the command starts inherits them. It is a fixed string of ours; the command is never evaluated here.
_LAUNCHER = """
import os, resource, sys
cpu, memory, processes, file_size = map(int, sys.argv[1:5])
resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
resource.setrlimit(resource.RLIMIT_NPROC, (processes, processes))
resource.setrlimit(resource.RLIMIT_FSIZE, (file_size, file_size))
resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
try:
    os.execvp(sys.argv[5], sys.argv[5:])
except OSError as exc:
    print(f"sandbox: cannot run {sys.argv[5]!r}: {exc.strerror}", file=sys.stderr)
    sys.exit(127)
"""


class SandboxUnavailable(UserError):
    """The sandbox cannot run here (bubblewrap missing or unusable): the code was not run at all."""


@dataclass(frozen=True)
class SandboxLimits:
    """What one run may use. CPU time, memory and file size are per process; processes count threads too."""

    cpu_seconds: int = 10
    wall_seconds: float = 20.0
    memory_bytes: int = 512 * 1024**2
    max_processes: int = 64
    # Per stream (stdout, stderr): output past this is not kept, and the run is killed.
    max_output_bytes: int = 64 * 1024
    # The writable tmpfs's size (the given files included) and the largest file the code may write.
    max_file_bytes: int = 64 * 1024**2

    def __post_init__(self) -> None:
        for name, value in asdict(self).items():
            if value <= 0:
                raise ValueError(f"SandboxLimits.{name} must be positive, not {value}")


@dataclass
class ExecutionResult:
    """How one sandboxed run ended. `exit_code` is None when a signal ended it (`signal` names it)."""

    command: list[str]
    exit_code: int | None
    signal: str | None
    timed_out: bool
    # The limit that ended the run: "wall", "cpu", "memory", "output", "file_size" (None: it ended by itself).
    killed_for: str | None
    stdout: str
    stderr: str
    truncated: bool
    duration_seconds: float
    # From a unittest or pytest summary in the output, when there is one. The code under test prints it, so a hostile
    # program can fake it: a caller that must trust the count should run its own test harness.
    tests_passed: int | None = None
    tests_failed: int | None = None
    limits: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and self.killed_for is None

    def to_record(self) -> dict:
        return asdict(self)


def _bwrap_path() -> str | None:
    return shutil.which("bwrap")


def _system_python() -> str | None:
    for candidate in SYSTEM_PYTHONS:
        if os.path.exists(candidate) and os.path.realpath(candidate).startswith("/usr/"):
            return candidate
    return None


def sandbox_available() -> str | None:
    """None when sandboxed runs work here; otherwise one line saying why not (and how to fix it)."""
    bwrap = _bwrap_path()
    if bwrap is None:
        return f"bwrap (bubblewrap) is not installed: {INSTALL_HINT}"
    return _probe(bwrap)


@functools.cache
def _probe(bwrap: str) -> str | None:
    """Run `true` in a real sandbox once per bwrap path: namespaces may be forbidden (containers, AppArmor)."""
    if _system_python() is None:
        return f"no system python3 in {' or '.join(SYSTEM_PYTHONS)} to run code in the sandbox"
    # --size (bubblewrap 0.7) caps the writable tmpfs; without it a program could fill the machine's memory.
    if "--size" not in _bwrap_help(bwrap):
        return f"{bwrap} is too old (no --size option): bubblewrap 0.7 or later is needed"
    try:
        result = _execute(bwrap, {}, ["true"], SandboxLimits(wall_seconds=30))
    except OSError as exc:
        return f"{bwrap} cannot be started: {exc}"
    if result.exit_code != 0:
        detail = (result.stderr.strip().splitlines() or [f"exit status {result.exit_code or result.signal}"])[-1]
        return f"{bwrap} cannot create its sandbox here: {detail}"
    return None


@functools.cache
def _bwrap_help(bwrap: str) -> str:
    try:
        return subprocess.run([bwrap, "--help"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.TimeoutExpired):
        return ""


def bwrap_version() -> str | None:
    bwrap = _bwrap_path()
    if bwrap is None:
        return None
    try:
        out = subprocess.run([bwrap, "--version"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.strip() or None


def run(files: dict[str, str], command: list[str], limits: SandboxLimits | None = None) -> ExecutionResult:
    """Write `files` (relative paths) into a fresh sandbox and run `command` there; raise SandboxUnavailable if the
    sandbox cannot run here. `command[0]` is looked up on the sandbox's PATH (/usr/local/bin:/usr/bin:/bin)."""
    if not command:
        raise ValueError("run: the command is empty")
    for name in files:
        _check_relative(name)
    reason = sandbox_available()
    if reason is not None:
        raise SandboxUnavailable(f"code sandbox unavailable, nothing was run: {reason}")
    return _execute(_bwrap_path() or "bwrap", files, command, limits or SandboxLimits())


def run_python(files: dict[str, str], args: list[str], limits: SandboxLimits | None = None) -> ExecutionResult:
    """`run` with the system Python 3: `args` are its arguments, e.g. `["main.py"]` or `["-m", "unittest"]`."""
    return run(files, ["python3", *args], limits)


def _check_relative(name: str) -> None:
    path = PurePosixPath(name)
    if not name or path.is_absolute() or ".." in path.parts or str(path) in ("", "."):
        raise ValueError(f"sandbox file names are relative paths inside the work folder, not {name!r}")


def _system_mounts() -> list[str]:
    args = ["--ro-bind", "/usr", "/usr"]
    # Merged-/usr systems have /bin, /lib... as links into /usr; older layouts have real folders.
    for top in ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"):
        if os.path.islink(top):
            args += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            args += ["--ro-bind", top, top]
    # Only what the dynamic loader and the interpreter read from /etc; no passwd, no ssl, no user configuration.
    etc = ["/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/alternatives", "/etc/localtime"]
    for path in etc + sorted(glob.glob("/etc/python3*")):
        args += ["--ro-bind-try", path, path]
    return args


def _bwrap_argv(bwrap: str, file_fds: dict[str, int], command: list[str], limits: SandboxLimits) -> list[str]:
    argv = [bwrap, "--unshare-all", "--unshare-user", "--die-with-parent", "--new-session"]
    # No user namespaces inside (less kernel surface) where bwrap can do it (0.8); the process limit holds either way:
    # a nested namespace's processes still count against the one it was created in.
    if "--disable-userns" in _bwrap_help(bwrap):
        argv.append("--disable-userns")
    argv += ["--uid", str(SANDBOX_UID), "--gid", str(SANDBOX_UID), "--hostname", "sandbox"]
    argv += _system_mounts()
    argv += ["--proc", "/proc", "--dev", "/dev", "--size", str(limits.max_file_bytes), "--tmpfs", "/tmp"]
    argv += ["--dir", WORKDIR]
    for name, fd in file_fds.items():
        argv += ["--file", str(fd), f"{WORKDIR}/{PurePosixPath(name)}"]
    # bwrap's root and /dev are writable tmpfs with no size limit until remounted: a read-only root hides nothing more
    # but leaves /tmp as the one writable (and capped) place.
    argv += ["--remount-ro", "/dev", "--remount-ro", "/", "--chdir", WORKDIR, "--clearenv"]
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": WORKDIR,
        "TMPDIR": "/tmp",
        "LANG": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
        # What a program printed before a kill is kept.
        "PYTHONUNBUFFERED": "1",
    }
    for key, value in env.items():
        argv += ["--setenv", key, value]
    python = _system_python() or SYSTEM_PYTHONS[0]
    numbers = [limits.cpu_seconds, limits.memory_bytes, limits.max_processes, limits.max_file_bytes]
    return argv + ["--", python, "-I", "-S", "-c", _LAUNCHER, *map(str, numbers), *command]


def _drop_root() -> dict:
    # Root outside is exempt from RLIMIT_NPROC even inside a user namespace: start bwrap as the no-rights uid.
    if os.geteuid() == 0:
        return {"user": SANDBOX_UID, "group": SANDBOX_UID, "extra_groups": []}
    return {}


def _kill(process: subprocess.Popen) -> None:
    # bwrap leads its own process group; its death takes its PID 1 (--die-with-parent) and so the whole namespace.
    # Called only before bwrap is reaped, so its pid cannot have been reused.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)


def _execute(bwrap: str, files: dict[str, str], command: list[str], limits: SandboxLimits) -> ExecutionResult:
    file_fds: dict[str, int] = {}
    try:
        for name, text in files.items():
            # An in-memory file bwrap copies into the sandbox's tmpfs: nothing is written to the host's disk.
            fd = os.memfd_create("sandbox-file")
            file_fds[name] = fd
            with open(fd, "wb", closefd=False) as memory_file:
                memory_file.write(text.encode())
            os.lseek(fd, 0, os.SEEK_SET)
        argv = _bwrap_argv(bwrap, file_fds, command, limits)
        started = time.monotonic()
        process = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            pass_fds=list(file_fds.values()),
            start_new_session=True,
            cwd="/",
            **_drop_root(),
        )
    finally:
        for fd in file_fds.values():
            os.close(fd)
    try:
        return _supervise(process, command, limits, started)
    finally:
        if process.returncode is None:
            _kill(process)
            process.wait()
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()


def _supervise(process: subprocess.Popen, command: list[str], limits: SandboxLimits, started: float) -> ExecutionResult:
    assert process.stdout is not None and process.stderr is not None
    kept = {process.stdout.fileno(): bytearray(), process.stderr.fileno(): bytearray()}
    selector = selectors.DefaultSelector()
    for stream in (process.stdout, process.stderr):
        os.set_blocking(stream.fileno(), False)
        selector.register(stream.fileno(), selectors.EVENT_READ)
    deadline = started + limits.wall_seconds
    killed_for: str | None = None
    reap_deadline = deadline
    truncated = False
    # Read as it comes, never past the cap: a program printing a gigabyte costs this process 64 KiB, not a gigabyte.
    while selector.get_map():
        remaining = (deadline if killed_for is None else reap_deadline) - time.monotonic()
        if remaining <= 0:
            if killed_for is not None:
                break  # killed, yet something still holds the pipes open: stop waiting for it
            killed_for = "wall"
            _kill(process)
            reap_deadline = time.monotonic() + _REAP_SECONDS
            continue
        for key, _ in selector.select(remaining):
            try:
                chunk = os.read(key.fd, 65536)
            except BlockingIOError:
                continue
            if not chunk:
                selector.unregister(key.fd)
                continue
            buffer = kept[key.fd]
            room = limits.max_output_bytes - len(buffer)
            if len(chunk) > room:
                buffer += chunk[: max(room, 0)]
                truncated = True
                if killed_for is None:
                    killed_for = "output"
                    _kill(process)
                    reap_deadline = time.monotonic() + _REAP_SECONDS
            else:
                buffer += chunk
    selector.close()
    # The pipes are closed: bwrap and everything in the sandbox have exited (or were killed).
    status = _wait(process, deadline if killed_for is None else None)
    if status is None:
        killed_for = "wall"
        _kill(process)
        status = _wait(process, None)
    duration = time.monotonic() - started
    exit_code, signal_name = _decode(status or 0, killed_by_us=killed_for is not None)
    stdout = kept[process.stdout.fileno()].decode(errors="replace")
    stderr = kept[process.stderr.fileno()].decode(errors="replace")
    if killed_for is None:
        killed_for = _limit_hit(exit_code, signal_name, stderr)
    passed, failed = parse_test_counts(stdout + "\n" + stderr)
    return ExecutionResult(
        command=list(command),
        exit_code=exit_code,
        signal=signal_name,
        timed_out=killed_for == "wall",
        killed_for=killed_for,
        stdout=stdout,
        stderr=stderr,
        truncated=truncated,
        duration_seconds=round(duration, 3),
        tests_passed=passed,
        tests_failed=failed,
        limits=asdict(limits),
    )


def _wait(process: subprocess.Popen, deadline: float | None) -> int | None:
    """bwrap's exit status (as Popen gives it: negative for a signal); None if it still runs at `deadline`."""
    try:
        return process.wait(None if deadline is None else max(deadline - time.monotonic(), 0))
    except subprocess.TimeoutExpired:
        return None


_SIGNAL_NUMBERS = {member.value for member in signal.Signals}


def _decode(status: int, *, killed_by_us: bool) -> tuple[int | None, str | None]:
    if status < 0:
        return None, signal.Signals(-status).name
    # bwrap reports a command ended by signal N as exit status 128 + N, as a shell does.
    if status - 128 in _SIGNAL_NUMBERS and not killed_by_us:
        return None, signal.Signals(status - 128).name
    return status, None


def _limit_hit(exit_code: int | None, signal_name: str | None, stderr: str) -> str | None:
    """The limit a run that ended by itself ran into, where its end says so."""
    if signal_name == "SIGXCPU":
        return "cpu"
    if signal_name == "SIGXFSZ":
        return "file_size"
    if exit_code not in (0, None):
        last = stderr.strip().splitlines()[-1:] or [""]
        if last[0].startswith("MemoryError"):
            return "memory"
    return None


_UNITTEST_RAN = re.compile(r"^Ran (\d+) tests? in ", re.MULTILINE)
_UNITTEST_END = re.compile(r"^(OK|FAILED)\b(?: \((.*)\))?\s*$", re.MULTILINE)
_PYTEST_END = re.compile(r"^=+ (.*\b(?:passed|failed|error|errors|skipped)\b.*) in [\d.]+s.* =+\s*$", re.MULTILINE)


def parse_test_counts(output: str) -> tuple[int | None, int | None]:
    """(passed, failed) from the last unittest or pytest summary in `output`; (None, None) without one."""
    pytest_end = _PYTEST_END.findall(output)
    if pytest_end:
        counts = {word: int(n) for n, word in re.findall(r"(\d+) (\w+)", pytest_end[-1])}
        return counts.get("passed", 0), counts.get("failed", 0) + counts.get("error", 0) + counts.get("errors", 0)
    ran = _UNITTEST_RAN.findall(output)
    ends = _UNITTEST_END.findall(output)
    if not ran or not ends:
        return None, None
    details = {k.strip(): int(v) for k, v in re.findall(r"([\w ]+)=(\d+)", ends[-1][1])}
    failed = details.get("failures", 0) + details.get("errors", 0) + details.get("unexpected successes", 0)
    skipped = details.get("skipped", 0) + details.get("expected failures", 0)
    return int(ran[-1]) - failed - skipped, failed
