#!/usr/bin/env python3
"""
Developer entry point that works on a fresh machine with only Python 3.

    python3 dev.py serve      start the demo server (twistd -n websocket) on :8080
    python3 dev.py test       run the whole test suite with trial
    python3 dev.py lint       ruff and mypy
    python3 dev.py docs       build the docs with warnings treated as errors

Each command first makes sure that ``.venv`` exists and holds the project
(installed in editable mode) with the extras that command needs.
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / "python"

EXTRAS = {
    "serve": "",
    "test": "test",
    "lint": "test,lint",
    "docs": "docs",
    "bench": "bench",
    "compliance": "compliance",
}


def _stamp(extras: str) -> Path:
    digest = hashlib.sha256(
        b"".join(
            (ROOT / name).read_bytes()
            for name in ("setup.cfg", "setup.py", "twisted_ws/codec/_speedups.c")
            if (ROOT / name).exists()
        )
    ).hexdigest()[:16]
    return VENV / f".installed-{extras or 'base'}-{digest}"


def ensureEnvironment(extras: str) -> None:
    """
    Create C{.venv} if needed and install the project with C{extras} into it.
    """
    if not PYTHON.exists():
        print(f"dev.py: creating {VENV}", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    stamp = _stamp(extras)
    if stamp.exists():
        return
    target = f".[{extras}]" if extras else "."
    print(f"dev.py: installing {target} into {VENV}", flush=True)
    subprocess.run(
        [str(PYTHON), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
         "-e", target],
        cwd=ROOT,
        check=True,
    )
    stamp.touch()


def _env() -> dict[str, str]:
    # trial does not put the working directory on sys.path; the tests package
    # lives beside the project, so name it explicitly.
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    return env


def run(argv: list[str]) -> int:
    return subprocess.call(argv, cwd=ROOT, env=_env())


def cmdServe(args: list[str]) -> int:
    ensureEnvironment(EXTRAS["serve"])
    print("dev.py: open http://127.0.0.1:8080/ in a browser", flush=True)
    return run([str(BIN / "twistd"), "-n", "websocket", *args])


def cmdTest(args: list[str]) -> int:
    ensureEnvironment(EXTRAS["test"])
    proc = subprocess.Popen(
        [str(BIN / "trial"), *(args or ["tests"])],
        cwd=ROOT,
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert proc.stdout is not None
    tail: list[str] = []
    for line in proc.stdout:
        sys.stdout.write(line)
        tail.append(line)
        del tail[:-50]
    code = proc.wait()
    # Trial closes with "PASSED (successes=N)" or "FAILED (failures=.., errors=.., successes=N)";
    # restate it as one plain line that any CI reader understands.
    text = "".join(tail)
    counts = {k: int(v) for k, v in re.findall(r"(successes|failures|errors|skips|expectedFailures|unexpectedSuccesses)=(\d+)", text)}
    ran = re.search(r"^Ran (\d+) tests?", text, re.M)
    if ran:
        failed = counts.get("failures", 0) + counts.get("errors", 0) + counts.get("unexpectedSuccesses", 0)
        passed = counts.get("successes", 0) + counts.get("expectedFailures", 0)
        print(f"trial: {passed} passed, {failed} failed, {counts.get('skips', 0)} skipped", flush=True)
    return code


def cmdLint(args: list[str]) -> int:
    ensureEnvironment(EXTRAS["lint"])
    code = run([str(BIN / "ruff"), "check", "twisted_ws", "tests", "benchmarks", "twisted", "dev.py"])
    code |= run([str(BIN / "mypy")])
    return code


def cmdDocs(args: list[str]) -> int:
    ensureEnvironment(EXTRAS["docs"])
    return run([str(BIN / "sphinx-build"), "-W", "--keep-going", "-b", "html", "docs", "docs/_build/html"])


COMMANDS = {"serve": cmdServe, "test": cmdTest, "lint": cmdLint, "docs": cmdDocs}


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in COMMANDS:
        print(__doc__)
        return 2
    return COMMANDS[argv[0]](argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
