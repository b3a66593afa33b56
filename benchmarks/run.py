"""
Run the twisted_ws benchmark suite.

    .venv/bin/python benchmarks/run.py            # full run: tables, chart, README
    .venv/bin/python benchmarks/run.py --smoke    # ~1 s per workload and server, for CI
    .venv/bin/python benchmarks/run.py --only twisted_ws,autobahn --workload small

Every server runs in its own process, started afresh for each measurement
and pinned to one core; this process is the client, pinned to the other core.
Servers are interleaved: each round runs every workload against every
server, in an order that rotates from round to round, and the report gives
the median over rounds with the min-max spread.

The exit status is non-zero if any server echoed wrong bytes, failed to start
or failed a workload.  twisted_ws is skipped (with a message, not an error)
while the package does not yet provide C{WebSocketServerFactory}.
"""

import argparse
import importlib.util
import os
import resource
import signal
import socket
import subprocess
import sys
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

import report  # noqa: E402
from loadclient import (  # noqa: E402
    BenchmarkError,
    Int32Framing,
    Target,
    WebSocketFraming,
    selfCheck,
)
from workloads import allWorkloads  # noqa: E402

PYTHON = sys.executable
BIN = os.path.dirname(PYTHON)
SERVERS_DIR = os.path.join(HERE, "servers")
METRICS_SERVER = report.METRICS_SUBJECT
LOGGING_SERVER = report.LOGGING_SUBJECT
RESULTS_DIR = os.path.join(HERE, "results")
RAW_DIR = os.path.join(RESULTS_DIR, "raw")

#: Message and frame size limit asked of every server (as in servers/_common.py).
BIG = 64 * 1024 * 1024


def serverEnvironment():
    """
    The environment of server processes: unbuffered output, and the
    repository root on C{PYTHONPATH} so that twistd finds the project's
    C{twisted/plugins} directory (an editable install does not expose it).
    """
    path = [ROOT] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    return dict(os.environ, PYTHONUNBUFFERED="1", PYTHONPATH=os.pathsep.join(path))


class Settings:
    """
    Knobs shared by all workloads of a run.

    @ivar duration: seconds of each measurement window.
    @ivar maxBatches: count bound of each window (batches, cycles, bursts).
    @ivar timeout: seconds allowed for setting connections up.
    @ivar idleConnections: connections for the memory row.
    @ivar fileLimit: this process's open file limit.
    """

    def __init__(self, duration, maxBatches, timeout, idleConnections, fileLimit):
        self.duration = duration
        self.maxBatches = maxBatches
        self.timeout = timeout
        self.idleConnections = idleConnections
        self.fileLimit = fileLimit


class Server:
    """
    A server under test.

    @ivar name: identifier, for C{--only}.
    @ivar label: name in the tables.
    @ivar framing: L{WebSocketFraming} or L{Int32Framing}.
    @ivar path: request target of the Upgrade request.
    @ivar workloads: names of the workloads it runs (C{None}: all).
    @ivar isCeiling: whether it is a raw TCP ceiling.
    @ivar requires: importable module name to what to install, for the
        libraries the server needs.
    @ivar compresses: whether it takes part in the compressed workloads
        (its script takes C{--compression}).
    """

    def __init__(
        self,
        name,
        label,
        script,
        framing,
        path="/",
        workloads=None,
        extra=(),
        isCeiling=False,
        requires=None,
        compresses=False,
        twistdExtra=(),
        quiet=True,
    ):
        self.name = name
        self.label = label
        self.script = script
        self.framing = framing
        self.path = path
        self.workloads = workloads
        self.extra = list(extra)
        self.isCeiling = isCeiling
        self.requires = requires or {}
        self.compresses = compresses
        self.twistdExtra = list(twistdExtra)
        self.quiet = quiet
        self.twistdApp = None
        self.note = None

    def runs(self, workload):
        """
        @return: whether this server takes part in C{workload}.
        """
        if getattr(workload, "compression", False) and not self.compresses:
            return False
        return self.workloads is None or workload.name in self.workloads

    def command(self, app, port, compression=False):
        """
        @param app: C{"echo"} or C{"broadcast"}.
        @param port: TCP port to listen on.
        @param compression: accept permessage-deflate.
        @return: C{(argv, waitsForReadyLine)}.
        """
        if self.twistdApp is not None and app == "echo":
            return (
                [
                    os.path.join(BIN, "twistd"),
                    "-n",
                    "--pidfile=",
                    "websocket",
                    "--app",
                    self.twistdApp,
                    "--listen",
                    "tcp:%d:interface=127.0.0.1:backlog=1024" % (port,),
                    "--max-message-size=%d" % (BIG,),
                    "--max-frame-size=%d" % (BIG,),
                ]
                # The peers log nothing per connection either.
                + (["--quiet"] if self.quiet else [])
                + self.twistdExtra
                + (["--compression"] if compression else []),
                False,
            )
        argv = [
            PYTHON,
            os.path.join(SERVERS_DIR, self.script),
            "--port",
            str(port),
            "--app",
            app,
        ] + self.extra + (["--compression"] if compression else [])
        return argv, True


def allServers():
    """
    @return: every server the suite knows, in table order.
    """
    return [
        Server("raw", "Twisted TCP (Int32)", "raw_twisted_echo.py", Int32Framing(), isCeiling=True),
        Server(
            "raw-join",
            "Twisted TCP (Int32, join once)",
            "raw_twisted_echo.py",
            Int32Framing(),
            workloads={"small", "many", "binary1m"},
            extra=["--join-once"],
            isCeiling=True,
        ),
        Server(
            "autobahn",
            "Autobahn (Twisted)",
            "autobahn_echo.py",
            WebSocketFraming(),
            requires={"autobahn": "autobahn[twisted]"},
            compresses=True,
        ),
        Server(
            "twisted.web",
            "twisted.web.websocket",
            "twisted_web_echo.py",
            WebSocketFraming(),
            path="/ws",
            requires={"wsproto": "twisted[websocket] (wsproto)"},
        ),
        Server(
            "websockets",
            "websockets (asyncio)",
            "websockets_echo.py",
            WebSocketFraming(),
            requires={"websockets": "websockets"},
            compresses=True,
        ),
        Server(
            "picows",
            "picows (Cython, asyncio)",
            "picows_echo.py",
            WebSocketFraming(),
            requires={"picows": "picows"},
        ),
        Server("twisted_ws", "twisted_ws", "twisted_ws_echo.py", WebSocketFraming(), compresses=True),
        # The same twistd echo server with Prometheus metrics on (counted in
        # plain integers, exported on their own port that nothing scrapes
        # during the run): the rows where counting could show.
        Server(
            METRICS_SERVER,
            "twisted_ws, --metrics on",
            "twisted_ws_echo.py",
            WebSocketFraming(),
            workloads={"small", "many", "text1k", "handshake", "latency"},
            requires={"prometheus_client": "twisted_ws[metrics] (prometheus_client)"},
            twistdExtra=["--metrics", "tcp:0:interface=127.0.0.1"],
        ),
        # The same twistd echo server logging each connection, as it does
        # by default (to its log file): the row where that shows.
        Server(
            LOGGING_SERVER,
            "twisted_ws, logging connections",
            "twisted_ws_echo.py",
            WebSocketFraming(),
            workloads={"handshake"},
            quiet=False,
        ),
    ]


def _check(argv, timeout=60):
    try:
        result = subprocess.run(
            argv, capture_output=True, text=True, timeout=timeout, cwd=ROOT, env=serverEnvironment()
        )
    except (OSError, subprocess.TimeoutExpired) as e:
        return False, str(e)
    lines = (result.stderr or result.stdout).strip().splitlines()
    return result.returncode == 0, (lines[-1] if lines else "") + result.stdout


def prepareTwistedWs(server, mode):
    """
    Decide how to run twisted_ws: the twistd echo app if the plugin exists,
    else the script written against the API.

    @param mode: C{"auto"}, C{"twistd"} or C{"script"}.
    @return: C{None} if twisted_ws can run, else the reason it cannot.
    """
    ok, output = _check(
        [
            PYTHON,
            "-c",
            "import twisted_ws; twisted_ws.WebSocketServerFactory; "
            "twisted_ws.WebSocketProtocol; twisted_ws.Options",
        ]
    )
    if not ok:
        return "twisted_ws.WebSocketServerFactory is not available yet (%s)" % (
            output.strip().splitlines()[0] if output.strip() else "import failed",
        )
    helpers = compiledHelpers()
    if mode == "script":
        server.note = "servers/twisted_ws_echo.py; " + helpers
        return None
    ok, output = _check([os.path.join(BIN, "twistd"), "websocket", "--help"])
    if ok and "--app" in output:
        server.twistdApp = "echo"
        server.note = (
            "echo: twistd websocket --app echo; broadcast: servers/twisted_ws_echo.py; " + helpers
        )
        return None
    if mode == "twistd":
        return "the twistd websocket plugin is not available: %s" % (output.strip()[:200],)
    server.note = "servers/twisted_ws_echo.py (the twistd plugin is not available yet); " + helpers
    return None


def compiledHelpers():
    """
    Say whether the twisted_ws servers run with the optional compiled
    helpers (masking and UTF-8 checking) or in pure Python, as the
    environment (C{TWISTED_WS_NO_SPEEDUPS}) and the build decide.
    """
    ok, output = _check(
        [PYTHON, "-c", "from twisted_ws.codec import _accel; print(_accel.speedups is not None)"]
    )
    if not ok:
        return "compiled helpers: unknown"
    if output.strip().endswith("True"):
        return "compiled helpers (unmasking, UTF-8 checking) on"
    return "pure Python (compiled helpers not built, or TWISTED_WS_NO_SPEEDUPS=1)"


def freePort():
    """
    @return: a TCP port on 127.0.0.1 that was free a moment ago.
    """
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Pinning:
    """
    Which cores the server and the client run on.
    """

    def __init__(self, enabled):
        self.serverCpu = self.clientCpu = None
        self.description = "not pinned"
        if not enabled or not hasattr(os, "sched_setaffinity"):
            return
        cpus = sorted(os.sched_getaffinity(0))
        if len(cpus) < 2:
            self.description = "not pinned (only %d core available)" % (len(cpus),)
            return
        self.serverCpu, self.clientCpu = cpus[0], cpus[1]
        try:
            os.sched_setaffinity(0, {self.clientCpu})
        except OSError as e:
            self.serverCpu = self.clientCpu = None
            self.description = "not pinned (%s)" % (e,)
            return
        self.description = "server on core %d, client on core %d" % (self.serverCpu, self.clientCpu)

    def preexec(self):
        """
        @return: a function pinning a child to the server core, or C{None}.
        """
        if self.serverCpu is None:
            return None
        cpu = self.serverCpu

        def pin():
            os.sched_setaffinity(0, {cpu})

        return pin


class RunningServer:
    """
    A started server process.
    """

    def __init__(self, server, app, pinning, logPath, compression=False):
        self.server = server
        self.port = freePort()
        argv, self.readyLine = server.command(app, self.port, compression)
        self.logPath = logPath
        self.log = open(logPath, "wb")
        env = serverEnvironment()
        self.process = subprocess.Popen(
            argv,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=ROOT,
            env=env,
            preexec_fn=pinning.preexec(),
        )

    def waitReady(self, timeout=30.0):
        """
        Wait for the ready line (or, for twistd, for the port to accept).

        @raise BenchmarkError: if the server exits or is not ready in time.
        """
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise BenchmarkError(
                    "server exited with status %d at start:\n%s"
                    % (self.process.returncode, self.logTail())
                )
            if self.readyLine:
                with open(self.logPath, "rb") as f:
                    if b"READY" in f.read():
                        return
            else:
                try:
                    socket.create_connection(("127.0.0.1", self.port), timeout=1.0).close()
                    return
                except OSError:
                    pass
            time.sleep(0.05)
        raise BenchmarkError("server not ready after %.0fs:\n%s" % (timeout, self.logTail()))

    def target(self):
        """
        @return: the L{Target} to point the client at.
        """
        return Target("127.0.0.1", self.port, self.server.path, self.server.framing)

    def logTail(self, lines=15):
        """
        @return: the last lines of the server's output.
        """
        try:
            with open(self.logPath, "rb") as f:
                data = f.read()[-8000:]
        except OSError:
            return ""
        return "\n".join(data.decode("utf-8", "replace").splitlines()[-lines:])

    def stop(self):
        """
        Stop the server (SIGTERM, then SIGKILL after 5 s).

        @return: C{True} if it was still running when asked to stop.
        """
        alive = self.process.poll() is None
        if alive:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self.log.close()
        return alive


def raiseFileLimit():
    """
    Raise this process's open file limit to its hard limit.

    @return: the new soft limit.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY:
        hard = 1 << 20
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    except (ValueError, OSError):
        pass
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def parseArguments(argv):
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="one short round (about 1 s per workload and server), for CI",
    )
    parser.add_argument(
        "--only",
        default=None,
        help="comma-separated servers: "
        + ", ".join(server.name for server in allServers())
        + " ('raw' includes 'raw-join')",
    )
    parser.add_argument(
        "--workload",
        default=None,
        help="comma-separated workloads: "
        + ", ".join(w.name for w in allWorkloads(0)),
    )
    parser.add_argument("--rounds", type=int, default=None, help="rounds (default 5; smoke 1)")
    parser.add_argument(
        "--duration",
        type=float,
        default=None,
        help="seconds per measurement window (default 2; smoke 1)",
    )
    parser.add_argument(
        "--idle-connections",
        type=int,
        default=None,
        help="connections in the memory row (default 5000; smoke 500)",
    )
    parser.add_argument(
        "--twisted-ws",
        choices=("auto", "twistd", "script"),
        default="auto",
        help="run twisted_ws via the twistd echo app or the script (auto: "
        "twistd if the plugin exists)",
    )
    parser.add_argument("--no-pin", action="store_true", help="do not pin processes to cores")
    parser.add_argument(
        "--output",
        default=None,
        help="directory for the results (default: benchmarks/results for a "
        "complete full run, benchmarks/results/raw otherwise)",
    )
    return parser.parse_args(argv)


def main(argv=None):
    arguments = parseArguments(sys.argv[1:] if argv is None else argv)
    selfCheck()
    smoke = arguments.smoke
    rounds = arguments.rounds or (1 if smoke else 5)
    duration = arguments.duration or (1.0 if smoke else 2.0)
    idle = arguments.idle_connections or (500 if smoke else 5000)
    fileLimit = raiseFileLimit()
    settings = Settings(duration, 1_000_000, 30.0, idle, fileLimit)
    pinning = Pinning(not arguments.no_pin)

    servers = allServers()
    workloads = allWorkloads(idle)
    complete = arguments.only is None and arguments.workload is None
    if arguments.only:
        names = set(arguments.only.split(","))
        if "raw" in names:
            names.add("raw-join")
        unknown = names - {s.name for s in servers}
        if unknown:
            sys.exit("unknown server(s): %s" % (", ".join(sorted(unknown)),))
        servers = [s for s in servers if s.name in names]
    if arguments.workload:
        names = set(arguments.workload.split(","))
        unknown = names - {w.name for w in workloads}
        if unknown:
            sys.exit("unknown workload(s): %s" % (", ".join(sorted(unknown)),))
        workloads = [w for w in workloads if w.name in names]

    skipped = {}
    for server in servers:
        missing = [
            install
            for module, install in server.requires.items()
            if importlib.util.find_spec(module) is None
        ]
        if missing:
            skipped[server.name] = "not installed: %s" % (", ".join(missing),)
            print("SKIP %s: %s" % (server.name, skipped[server.name]), flush=True)
            complete = False
        elif server.name in ("twisted_ws", METRICS_SERVER, LOGGING_SERVER):
            reason = prepareTwistedWs(server, arguments.twisted_ws)
            if reason is None and server.name == METRICS_SERVER and server.twistdApp is None:
                reason = "--metrics is a twistd option and the plugin is not in use"
            if reason is None and server.name == LOGGING_SERVER and server.twistdApp is None:
                reason = "--quiet is a twistd option and the plugin is not in use"
            if reason:
                skipped[server.name] = reason
                print("SKIP %s: %s" % (server.name, reason), flush=True)
                complete = False
    servers = [s for s in servers if s.name not in skipped and any(s.runs(w) for w in workloads)]

    if arguments.output:
        outDir = arguments.output
    elif complete and not smoke:
        outDir = RESULTS_DIR
    else:
        outDir = os.path.join(RAW_DIR, "smoke" if smoke else "partial")
    logDir = os.path.join(RAW_DIR, "logs")
    os.makedirs(outDir, exist_ok=True)
    os.makedirs(logDir, exist_ok=True)

    machine = report.machineInfo(pinning.description, fileLimit)
    print("machine: %s; %s" % (machine["cpu"], pinning.description), flush=True)
    results = {}
    errors = []
    started = time.monotonic()
    for roundIndex in range(rounds):
        for workload in workloads:
            order = [s for s in servers if s.runs(workload)]
            if order:
                shift = roundIndex % len(order)
                order = order[shift:] + order[:shift]
            for server in order:
                runStarted = time.monotonic()
                outcome = runOne(server, workload, settings, pinning, logDir)
                tag = "[round %d/%d, %4.1fs] %-9s %-12s" % (
                    roundIndex + 1,
                    rounds,
                    time.monotonic() - runStarted,
                    workload.name,
                    server.name,
                )
                if isinstance(outcome, str):
                    errors.append(
                        {
                            "round": roundIndex + 1,
                            "workload": workload.name,
                            "server": server.name,
                            "error": outcome,
                        }
                    )
                    print("%s FAILED: %s" % (tag, outcome), flush=True)
                    continue
                for key, metric in workload.metrics:
                    cell = results.setdefault(metric.name, {}).setdefault(
                        server.name,
                        {
                            "values": [],
                            "serverCpu": [],
                            "clientCpu": [],
                            "otherCpu": [],
                            "notes": [],
                        },
                    )
                    cell["values"].append(outcome.values[key])
                    if outcome.serverCpu is not None:
                        cell["serverCpu"].append(outcome.serverCpu)
                    if outcome.clientCpu is not None:
                        cell["clientCpu"].append(outcome.clientCpu)
                    if outcome.otherCpu is not None:
                        cell["otherCpu"].append(outcome.otherCpu)
                    if outcome.note and outcome.note not in cell["notes"]:
                        cell["notes"].append(outcome.note)
                print(
                    "%s %s%s"
                    % (
                        tag,
                        report.describeOutcome(workload, outcome),
                        "" if not outcome.note else "  (%s)" % (outcome.note,),
                    ),
                    flush=True,
                )

    elapsed = time.monotonic() - started
    config = {
        "mode": "smoke" if smoke else "full",
        "rounds": rounds,
        "duration": duration,
        "idleConnections": idle,
        "servers": [s.name for s in servers],
        "skipped": skipped,
        "workloads": [w.name for w in workloads],
        "elapsedSeconds": round(elapsed, 1),
        "command": "benchmarks/run.py " + " ".join(sys.argv[1:] if argv is None else argv),
    }
    document = report.buildDocument(machine, config, servers, workloads, results, errors)
    paths = report.writeAll(
        document,
        outDir,
        updateReadme=(outDir == RESULTS_DIR),
        readmePath=os.path.join(HERE, "README.md"),
    )
    print()
    print(document["markdown"])
    print("wrote %s (%.0f s)" % (", ".join(paths), elapsed))
    if errors:
        print("%d failure(s):" % (len(errors),))
        for error in errors:
            print("  round %(round)d, %(workload)s, %(server)s: %(error)s" % error)
        return 1
    return 0


def runOne(server, workload, settings, pinning, logDir):
    """
    Start C{server}, run C{workload} against it, stop it.

    @return: a L{workloads.Measurement}, or an error message.
    """
    logPath = os.path.join(logDir, "%s-%s.log" % (server.name, workload.name))
    try:
        running = RunningServer(
            server, workload.app, pinning, logPath, getattr(workload, "compression", False)
        )
    except (OSError, subprocess.SubprocessError) as e:
        return "could not start the server: %s" % (e,)
    try:
        running.waitReady()
        outcome = workload.run(running.target(), running.process.pid, settings)
        if running.process.poll() is not None:
            return "server exited during the run:\n" + running.logTail()
        return outcome
    except BenchmarkError as e:
        return str(e)
    except OSError as e:
        return "%s: %s (server log: %s)\n%s" % (type(e).__name__, e, logPath, running.logTail())
    except Exception:
        return traceback.format_exc()
    finally:
        running.stop()


if __name__ == "__main__":
    sys.exit(main())
