"""Build and install llama-cpp-python so that it runs on this machine's whole CPU family, never with AMX.

llama-cpp-python ships no binary wheel: pip compiles it with llama.cpp's native CPU detection (`-march=native`). That
build (a) turns on llama.cpp's AMX kernels on Sapphire Rapids and later Xeons, whose worker threads then die with
SIGILL at the first `tilezero` (upstream llama.cpp PR #26954), and (b) uses whatever AVX-512 the build machine had,
so pip's cached wheel, keyed by version alone, crashes on an older CPU it is reused on.

So setup builds the wheel itself, with flags chosen here, and keeps it under a key made of the version and those
flags; pip's own cache is bypassed, and the installed libraries' hashes are recorded so `agentinstruct doctor` can
tell a wheel pip built some other way. On Linux x86-64 the build targets the AVX2 level (Haswell, 2013, and every
later Intel/AMD CPU) with AVX-512 and AMX left out: `benchmarks/embedded_lm.py` measured it against a native AVX-512
build on the same machine (README, "CPU requirements"). Elsewhere (arm64, x86-64 without AVX2) it builds natively,
which is safe there, and the key then includes the CPU, so the wheel is never reused on another CPU model.

This file uses the standard library only: the Makefile runs it (`python agentinstruct/llama_build.py`) before the
package is installed, and `python -m agentinstruct.llama_build --force` rebuilds an installed copy.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
import zipfile
from dataclasses import asdict, dataclass
from pathlib import Path

PACKAGE = "llama-cpp-python"
BUILD_REVISION = 1
"""Bump when the flags below change, so wheels built with the old flags stop matching."""

_PORTABLE_X86 = (
    "-DGGML_NATIVE=OFF",
    "-DGGML_AVX=ON",
    "-DGGML_AVX2=ON",
    "-DGGML_FMA=ON",
    "-DGGML_F16C=ON",
    "-DGGML_BMI2=ON",
    "-DGGML_AVX512=OFF",
)
_NO_AMX_CMAKE = ("-DGGML_AMX_TILE=OFF", "-DGGML_AMX_INT8=OFF", "-DGGML_AMX_BF16=OFF")
# -march=native switches AMX back on whatever CMake says; GCC's explicit -mno-* flags win over -march.
_NO_AMX_CFLAGS = "-mno-amx-tile -mno-amx-int8 -mno-amx-bf16"
_COMMON = ("-DLLAVA_BUILD=OFF",)
"""The multimodal helper library is not used: leaving it out saves a third of the build time."""
_X86_PORTABLE_NEEDS = {"avx", "avx2", "fma", "f16c", "bmi2"}


@dataclass(frozen=True)
class BuildConfig:
    """How llama-cpp-python is built on this machine, and the cache key that follows from it."""

    version: str
    variant: str
    """`portable-avx2` (any x86-64 CPU with AVX2), `native-no-amx`, or `native` (this CPU only)."""
    cmake_args: str
    cflags: str
    machine: str
    cpu: str
    """The CPU the build is tied to: empty for a portable build, which any CPU of its family can reuse."""

    @property
    def key(self) -> str:
        text = json.dumps({**asdict(self), "revision": BUILD_REVISION}, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    @property
    def portable(self) -> bool:
        return not self.cpu


def pinned_version(pyproject: Path | None = None) -> str:
    """The llama-cpp-python version pyproject.toml pins (declared once, there)."""
    path = pyproject or Path(__file__).resolve().parent.parent / "pyproject.toml"
    if path.exists():
        project = tomllib.loads(path.read_text())["project"]
        for requirement in project["dependencies"]:
            match = re.fullmatch(r"\s*llama[-_]cpp[-_]python\s*==\s*([\w.]+)\s*", requirement)
            if match:
                return match.group(1)
    from importlib.metadata import requires

    for requirement in requires("agentinstruct") or []:
        match = re.fullmatch(r"llama[-_]cpp[-_]python\s*==\s*([\w.]+)", requirement.split(";")[0].strip())
        if match:
            return match.group(1)
    raise SystemExit("agentinstruct: error: cannot find the llama-cpp-python pin in pyproject.toml")


def cpu_flags() -> set[str]:
    """The CPU's feature flags as Linux reports them (empty elsewhere)."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return set()
    match = re.search(r"^(?:flags|Features)\s*:\s*(.*)$", text, re.MULTILINE)
    return set(match.group(1).split()) if match else set()


def cpu_model() -> str:
    """A name for this CPU model: what ties a native build to it."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor() or platform.machine()
    name = re.search(r"^(?:model name|CPU part|Hardware)\s*:\s*(.*)$", text, re.MULTILINE)
    flags = " ".join(sorted(cpu_flags()))
    digest = hashlib.sha256(flags.encode()).hexdigest()[:8]
    return f"{name.group(1).strip() if name else platform.machine()} [flags {digest}]"


def build_config(
    version: str, *, machine: str | None = None, flags: set[str] | None = None, native: bool = False
) -> BuildConfig:
    """The build for this machine (or the given one); `native` asks for a build tuned to this CPU (benchmarks)."""
    machine = machine or platform.machine()
    flags = cpu_flags() if flags is None else flags
    x86 = machine in ("x86_64", "AMD64")
    if x86 and not native and sys.platform.startswith("linux") and flags >= _X86_PORTABLE_NEEDS:
        cmake = (*_PORTABLE_X86, *_NO_AMX_CMAKE, *_COMMON)
        return BuildConfig(version, "portable-avx2", " ".join(cmake), _NO_AMX_CFLAGS, machine, "")
    if x86:
        cmake = ("-DGGML_NATIVE=ON", *_NO_AMX_CMAKE, *_COMMON)
        return BuildConfig(version, "native-no-amx", " ".join(cmake), _NO_AMX_CFLAGS, machine, cpu_model())
    return BuildConfig(version, "native", " ".join(("-DGGML_NATIVE=ON", *_COMMON)), "", machine, cpu_model())


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "agentinstruct" / "llama-wheels"


def record_path(prefix: str | None = None) -> Path:
    """Where the build record of the llama-cpp-python installed in this environment lives."""
    return Path(prefix or sys.prefix) / "share" / "agentinstruct" / "llama-build.json"


def installed_library_dir() -> Path | None:
    """The `llama_cpp/lib` folder of the installed package, found without importing (and loading) it."""
    from importlib.util import find_spec

    spec = find_spec("llama_cpp")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "lib"


def library_hashes(lib_dir: Path) -> dict[str, str]:
    """SHA-256 of each shared library in `lib_dir` (symlinked names resolved), by file name."""
    hashes = {}
    for path in sorted(lib_dir.glob("*.so*")) + sorted(lib_dir.glob("*.dylib")):
        if path.is_file() and not path.is_symlink():
            hashes[path.name] = hashlib.sha256(path.read_bytes()).hexdigest()
    return hashes


def build_wheel(config: BuildConfig, *, quiet: bool = False) -> Path:
    """The wheel for `config`: from agentinstruct's cache when built before with these flags, else built now."""
    folder = cache_dir() / config.key
    existing = sorted(folder.glob("*.whl"))
    if existing:
        return existing[0]
    say = (lambda *_: None) if quiet else print
    say(
        f"agentinstruct: building {PACKAGE} {config.version} ({config.variant}: {config.cmake_args}"
        f"{' CFLAGS=' + config.cflags if config.cflags else ''}); about 5 minutes on 2 cores, once per machine"
    )
    env = {**os.environ, "CMAKE_ARGS": config.cmake_args, "FORCE_CMAKE": "1"}
    if config.cflags:
        env["CFLAGS"] = f"{env.get('CFLAGS', '')} {config.cflags}".strip()
        env["CXXFLAGS"] = f"{env.get('CXXFLAGS', '')} {config.cflags}".strip()
    with tempfile.TemporaryDirectory(prefix="agentinstruct-llama-") as scratch:
        command = [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            # pip's wheel cache is keyed by version only: a wheel built with other flags must never come back.
            "--no-cache-dir",
            "--no-binary",
            PACKAGE,
            "--no-deps",
            f"{PACKAGE}=={config.version}",
            "-w",
            scratch,
        ]
        log = Path(scratch) / "build.log"
        with log.open("w") as handle:
            done = subprocess.run(command, env=env, stdout=handle, stderr=subprocess.STDOUT, check=False)
        if done.returncode != 0:
            tail = "\n".join(log.read_text(errors="replace").splitlines()[-30:])
            raise SystemExit(f"{tail}\nagentinstruct: error: building {PACKAGE} failed (the compiler's output above)")
        wheel = next(Path(scratch).glob("*.whl"))
        folder.mkdir(parents=True, exist_ok=True)
        staged = folder / f".{wheel.name}.partial"
        shutil.copy2(wheel, staged)
        os.replace(staged, folder / wheel.name)
        (folder / "build.json").write_text(json.dumps({**asdict(config), "key": config.key}, indent=2) + "\n")
    return folder / wheel.name


def install(config: BuildConfig, *, force: bool = False, quiet: bool = False) -> Path:
    """Install the wheel for `config` into this environment unless the recorded installation already matches it.

    Returns the build record's path.
    """
    record = record_path()
    lib_dir = installed_library_dir()
    if not force and record.exists() and lib_dir is not None and lib_dir.exists():
        recorded = json.loads(record.read_text())
        if recorded.get("key") == config.key and recorded.get("libraries") == library_hashes(lib_dir):
            if not quiet:
                print(f"agentinstruct: {PACKAGE} {config.version} ({config.variant}) is installed")
            return record
    wheel = build_wheel(config, quiet=quiet)
    pip = [sys.executable, "-m", "pip", "install", "--quiet"]
    subprocess.run([*pip, "--no-deps", "--force-reinstall", str(wheel)], check=True)
    subprocess.run([*pip, str(wheel)], check=True)  # its own dependencies (numpy, jinja2, ...)
    lib_dir = installed_library_dir()
    if lib_dir is None:
        raise SystemExit(f"agentinstruct: error: {PACKAGE} did not install from {wheel}")
    record.parent.mkdir(parents=True, exist_ok=True)
    payload = {**asdict(config), "key": config.key, "wheel": str(wheel), "libraries": library_hashes(lib_dir)}
    record.write_text(json.dumps(payload, indent=2) + "\n")
    if not quiet:
        print(f"agentinstruct: installed {PACKAGE} {config.version} ({config.variant}) from {wheel}")
    return record


def extract_libraries(wheel: Path, target: Path) -> Path:
    """Unpack a wheel's `llama_cpp/lib` into `target` (for `LLAMA_CPP_LIB_PATH`, e.g. to benchmark two builds)."""
    target.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(wheel) as archive:
        for member in archive.namelist():
            if member.startswith("llama_cpp/lib/") and not member.endswith("/"):
                (target / Path(member).name).write_bytes(archive.read(member))
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--force", action="store_true", help="reinstall even if the installed build matches")
    parser.add_argument(
        "--native",
        action="store_true",
        help="build tuned to this CPU (AMX still off) instead of installing: for benchmarks (needs --extract)",
    )
    parser.add_argument("--extract", type=Path, help="do not install: unpack the build's libraries into this folder")
    parser.add_argument("--print", action="store_true", help="print the build this machine gets and exit")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    config = build_config(pinned_version(), native=args.native)
    if args.print:
        print(json.dumps({**asdict(config), "key": config.key}, indent=2))
        return 0
    if args.extract:
        print(extract_libraries(build_wheel(config, quiet=args.quiet), args.extract))
        return 0
    if args.native:
        parser.error("--native builds for benchmarks only: give --extract DIR")
    install(config, force=args.force, quiet=args.quiet)
    return 0


if __name__ == "__main__":
    sys.exit(main())
