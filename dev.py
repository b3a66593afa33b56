#!/usr/bin/env python3
"""
Developer entry point that works on a fresh machine with only Python 3.

    python3 dev.py serve [ARGS]   start the demo chat server on 127.0.0.1:8080
                                  (ARGS go to twistd websocket, e.g.
                                  --listen tcp:9000:interface=127.0.0.1)
    python3 dev.py test [TESTS]   run the test suite with trial
    python3 dev.py lint           ruff and mypy
    python3 dev.py docs           build the docs with warnings treated as errors

Each command first makes sure that ``.venv`` exists, was made by the Python
running dev.py, and holds the project (installed in editable mode) with the
extras that command needs. A ``.venv`` made by another interpreter, or left
half-made, is rebuilt.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")

#: The oldest Python the project runs on: the twistd plugin reads its TOML
#: configuration files with the standard library's tomllib (new in 3.11).
MINIMUM_PYTHON = (3, 11)

#: Where C{dev.py serve} listens unless given C{--listen}: loopback only.
DEFAULT_LISTEN = "tcp:8080:interface=127.0.0.1"

EXTRAS = {
    "serve": "",
    "test": "test",
    "lint": "test,lint",
    "docs": "docs",
    "bench": "bench",
    "compliance": "compliance",
}


class DevError(Exception):
    """
    A problem dev.py reports in one message, without a traceback.
    """


def checkPython(versionInfo: tuple[int, ...] = tuple(sys.version_info), executable: str = sys.executable) -> None:
    """
    Refuse to go on with a Python older than L{MINIMUM_PYTHON}.

    @param versionInfo: The version of the running interpreter.
    @param executable: Its path, to name it in the message.
    @raise DevError: The interpreter is too old.
    """
    if tuple(versionInfo[:2]) < MINIMUM_PYTHON:
        found = ".".join(str(n) for n in versionInfo[:3])
        need = ".".join(str(n) for n in MINIMUM_PYTHON)
        raise DevError(
            f"twisted_ws needs Python {need} or newer; this is Python {found} ({executable}).\n"
            f"Run dev.py with a newer interpreter, e.g. python{need} dev.py ..."
        )


def _readConfig(path: Path) -> dict[str, str]:
    config = {}
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        key, sep, value = line.partition("=")
        if sep:
            config[key.strip().lower()] = value.strip()
    return config


def _samePath(a: str, b: str) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def venvProblem() -> str | None:
    """
    Say what is wrong with L{VENV} for the running interpreter.

    @return: L{None} if C{.venv} exists, was made by this interpreter (same
        executable and version) and is complete (its python and its pip are
        there); otherwise a short description of the problem.
    """
    cfg = VENV / "pyvenv.cfg"
    if not cfg.exists():
        return "it has no pyvenv.cfg (half-made)"
    config = _readConfig(cfg)
    running = ".".join(str(n) for n in sys.version_info[:3])
    if config.get("version", config.get("version_info", "")).split(".")[:3] != running.split("."):
        return f"it was made by Python {config.get('version', '?')}, this is Python {running}"
    # "home" is the directory of the interpreter that made it (its
    # "executable" line names the venv's own python when one venv is made
    # from another, so it cannot tell).
    base = getattr(sys, "_base_executable", sys.executable)
    if not _samePath(config.get("home", ""), os.path.dirname(base)):
        return f"it was made by the Python in {config.get('home', '?')}, this is {base}"
    if not PYTHON.exists():
        return f"it has no {PYTHON.relative_to(VENV)} (half-made)"
    sitePackages = list(VENV.glob("lib/python*/site-packages/pip")) + list(VENV.glob("Lib/site-packages/pip"))
    if not sitePackages:
        return "it has no pip (half-made)"
    return None


def ensureVenv() -> None:
    """
    Create L{VENV}, or rebuild it if L{venvProblem} finds it stale or
    half-made.

    @raise DevError: it cannot be created.
    """
    if VENV.exists():
        problem = venvProblem()
        if problem is None:
            return
        print(f"dev.py: rebuilding {VENV}: {problem}", flush=True)
        shutil.rmtree(VENV)
    else:
        print(f"dev.py: creating {VENV} with Python {sys.version.split()[0]}", flush=True)
    try:
        venv.EnvBuilder(with_pip=True).create(VENV)
    except (OSError, subprocess.CalledProcessError) as e:
        shutil.rmtree(VENV, ignore_errors=True)
        raise DevError(
            f"cannot create {VENV} ({e}); on Debian or Ubuntu, install the venv module with "
            f"apt-get install python3-venv"
        ) from None
    problem = venvProblem()
    if problem is not None:
        shutil.rmtree(VENV, ignore_errors=True)
        raise DevError(f"the new {VENV} is not usable: {problem}")


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

    @raise DevError: the interpreter is too old, or the environment cannot
        be made or installed into.
    """
    checkPython()
    ensureVenv()
    stamp = _stamp(extras)
    if stamp.exists():
        return
    target = f".[{extras}]" if extras else "."
    print(f"dev.py: installing {target} into {VENV}", flush=True)
    code = subprocess.call(
        [str(PYTHON), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
         "-e", target],
        cwd=ROOT,
    )
    if code != 0:
        raise DevError(f"pip could not install {target} into {VENV} (exit status {code}; its messages are above)")
    stamp.touch()


def _env() -> dict[str, str]:
    # trial does not put the working directory on sys.path; the tests package
    # lives beside the project, so name it explicitly.
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    return env


def run(argv: list[str]) -> int:
    return subprocess.call(argv, cwd=ROOT, env=_env())


def listenArguments(args: list[str]) -> list[str]:
    """
    The endpoint descriptions given with C{--listen}/C{-l} in C{args}.
    """
    found = []
    for i, arg in enumerate(args):
        if arg in ("--listen", "-l") and i + 1 < len(args):
            found.append(args[i + 1])
        elif arg.startswith("--listen="):
            found.append(arg[len("--listen="):])
        elif arg.startswith("-l") and len(arg) > 2:
            found.append(arg[2:])
    return found


def describeListen(description: str, port: int) -> str:
    """
    Where a C{tcp:} endpoint description listens, for people.

    @param description: An endpoint description such as
        C{tcp:8080:interface=127.0.0.1}.
    @param port: The port it listens on.
    @return: A URL to open, and a warning if it listens on every interface.
    """
    fields = _fields(description)
    interface = None
    for field in fields[1:]:
        if field.startswith("interface="):
            interface = field[len("interface="):]
    if interface in (None, "", "0.0.0.0", "::"):
        return f"http://127.0.0.1:{port}/ (listening on every interface, port {port})"
    host = f"[{interface}]" if interface and ":" in interface else interface
    return f"http://{host}:{port}/"


def _fields(description: str) -> list[str]:
    """
    Split an endpoint description at its colons, as Twisted does: a
    backslash escapes the next character (C{interface=\\:\\:1}).
    """
    fields, current, escaped = [], "", False
    for char in description:
        if escaped:
            current += char
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == ":":
            fields.append(current)
            current = ""
        else:
            current += char
    fields.append(current)
    return fields


def _portOf(description: str) -> int | None:
    fields = _fields(description)
    if fields[0] in ("tcp", "tcp6") and len(fields) > 1:
        field = fields[1][len("port="):] if fields[1].startswith("port=") else fields[1]
        if field.isdigit():
            return int(field)
    return None


def _portIsFree(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def cmdServe(args: list[str]) -> int:
    """
    Run C{twistd -n websocket} (the chat demo unless C{args} say otherwise)
    on 127.0.0.1:8080 or the C{--listen} endpoints in C{args}, without a pid
    file, and stop quietly on Ctrl-C.
    """
    ensureEnvironment(EXTRAS["serve"])
    listens = listenArguments(args)
    if not listens and not any(a == "--config" or a.startswith("--config=") for a in args):
        if not _portIsFree(8080):
            raise DevError("port 8080 is in use: pass --listen tcp:PORT:interface=127.0.0.1")
        args = ["--listen", DEFAULT_LISTEN, *args]
        listens = [DEFAULT_LISTEN]
    argv = [str(BIN / "twistd"), "-n", "--pidfile=", "websocket", *args]
    return superviseServer(argv, listens)


def superviseServer(argv: list[str], listens: list[str]) -> int:
    """
    Run the server C{argv}, copying its output, saying where it listens,
    and passing on SIGINT, SIGTERM and SIGHUP to it.

    The server runs in a session of its own, so that a Ctrl-C in the
    terminal reaches it once, from here, instead of twice (a second SIGINT
    during twistd's shutdown would make it log a traceback).

    @param argv: The twistd command.
    @param listens: The endpoint descriptions it was given.
    @return: 0 if the server stopped because it was asked to (twistd stops
        cleanly and then ends itself with the signal it received); its exit
        status otherwise (128 plus the number of a signal that ended it
        unasked, as a shell reports it).
    """
    process: subprocess.Popen[bytes] | None = None
    forwarded: list[int] = []

    def forward(signum: int, frame: object) -> None:
        if process is None:
            forwarded.append(signum)  # sent on as soon as the server runs
        elif process.poll() is None:
            if not forwarded:
                forwarded.append(signum)
                process.send_signal(signum)
            else:
                # Asked again while twistd is shutting down: stop it now.
                process.kill()

    # Installed before the server starts, so that it starts with the default
    # dispositions (a signal ignored here would stay ignored in twistd).
    previous = {s: signal.signal(s, forward) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    try:
        process = subprocess.Popen(
            argv,
            cwd=ROOT,
            env={**_env(), "PYTHONUNBUFFERED": "1"},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        if forwarded:
            process.send_signal(forwarded[0])
        assert process.stdout is not None
        pending = [(d, _portOf(d)) for d in listens]
        for raw in process.stdout:
            line = raw.decode("utf-8", "replace")
            sys.stdout.write(line)
            match = re.search(r" starting on (\d+)$", line.rstrip())
            if match:
                port = int(match.group(1))
                for item in pending:
                    if item[1] in (port, 0):
                        pending.remove(item)
                        sys.stdout.write(f"dev.py: the demo is at {describeListen(item[0], port)}; "
                                         "Ctrl-C stops it\n")
                        break
            sys.stdout.flush()
        code = process.wait()
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
    if code < 0 and forwarded and -code == forwarded[0]:
        return 0
    return 128 - code if code < 0 else code


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
    code = run([str(BIN / "sphinx-build"), "-W", "--keep-going", "-b", "html", "docs", "docs/_build/html"])
    if code != 0:
        return code
    problems = checkBuiltDocs(ROOT / "docs" / "_build" / "html")
    for problem in problems:
        print(f"dev.py docs: {problem}", file=sys.stderr, flush=True)
    if not problems:
        print("dev.py docs: the benchmark tables are tables; every public name is documented", flush=True)
    return 1 if problems else 0


#: The modules whose public names (their C{__all__}) the API reference
#: documents.
PUBLIC_MODULES = ("twisted_ws", "twisted_ws.codec")


def documentedNames(inventory: Path) -> set[str]:
    """
    The Python objects that a Sphinx C{objects.inv} lists.
    """
    import zlib

    data = inventory.read_bytes()
    for _ in range(4):  # the four header lines
        data = data[data.index(b"\n") + 1 :]
    names = set()
    for line in zlib.decompress(data).decode("utf-8").splitlines():
        name, _, rest = line.partition(" ")
        if rest.startswith("py:"):
            names.add(name)
    return names


def checkBuiltDocs(html: Path) -> list[str]:
    """
    Check what Sphinx cannot: that the front page shows the benchmark
    results as rendered tables (not Markdown), and that the API reference
    documents every public name of L{PUBLIC_MODULES}.

    @param html: The HTML output directory.
    @return: The problems found, one line each.
    """
    problems = []
    front = (html / "index.html").read_text(encoding="utf-8")
    start = front.find('<section id="benchmark-results">')
    if start < 0:
        problems.append("index.html has no benchmark-results section")
    elif (ROOT / "benchmarks" / "README.md").exists():
        section = front[start:]
        if "<table" not in section:
            problems.append("the benchmark section of index.html has no <table>")
        for raw in ("|---|", "```", "](results/"):
            if raw in section:
                problems.append(f"the benchmark section of index.html shows raw Markdown ({raw!r})")
    listing = subprocess.run(
        [str(PYTHON), "-W", "ignore", "-c",
         # A name re-exported from the codec is documented on the codec's
         # page, under the codec's name.
         "import importlib, sys, twisted_ws.codec as codec\n"
         "for m in sys.argv[1:]:\n"
         "    module = importlib.import_module(m)\n"
         "    for n in module.__all__:\n"
         "        same = getattr(codec, n, None) is getattr(module, n)\n"
         "        print(('twisted_ws.codec' if same else m) + '.' + n)",
         *PUBLIC_MODULES],
        cwd=ROOT, env=_env(), capture_output=True, text=True, check=True,
    )
    documented = documentedNames(html / "objects.inv")
    missing = [n for n in listing.stdout.split() if n not in documented]
    if missing:
        problems.append("public names missing from the API reference: " + ", ".join(missing))
    return problems


COMMANDS = {"serve": cmdServe, "test": cmdTest, "lint": cmdLint, "docs": cmdDocs}


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in COMMANDS:
        print(__doc__)
        return 2
    try:
        return COMMANDS[argv[0]](argv[1:])
    except DevError as e:
        print(f"dev.py: {e}", file=sys.stderr, flush=True)
        return 1
    except KeyboardInterrupt:
        # Interrupted outside a server run (creating .venv, installing,
        # running the tests): stop without a traceback, as a shell does.
        print(file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
