# -*- test-case-name: tests.test_workers -*-
"""
C{twistd websocket --workers N}: one set of listening sockets served by N
worker processes, so that every core of a machine serves connections.

The parent process opens every listening socket itself (before any worker
exists), then starts N workers, each a C{twistd -n websocket} with the same
options, handing them the sockets as inherited file descriptors; each worker
adopts them with C{IReactorSocket.adoptStreamPort} and accepts connections
from the one kernel queue.  The parent serves nothing: it restarts a worker
that dies (with backoff) and, when it is told to stop (SIGTERM), sends
SIGTERM to every worker and waits a bounded time for all of them, each
closing its connections with 1001 (going away).

Why inherited sockets and not C{SO_REUSEPORT} (each worker binding the port
itself): one socket means one accept queue, so a connection waiting in it
is taken by another worker when the one that would have taken it dies
(with C{SO_REUSEPORT} the kernel has already picked the dead worker's own
queue, and those connections are reset); it works the same for UNIX
sockets, for port 0, and for privileged ports opened before twistd drops
its privileges; and no second server started by mistake on the same port
quietly shares its traffic.  What it costs: the kernel balances less
evenly between workers that all wait on one queue.

What a worker gets of twistd's own options (those before C{websocket}):
C{--reactor} and C{--umask}, so that it runs as the parent does.  It never
gets C{--logfile}, C{--syslog}, C{--prefix} or C{--logger}: each worker
writes its log events as JSON lines to a pipe and the parent logs them
again as its own events (with C{worker_index} and C{worker_pid} added and
the system C{worker N pid P ...}), so that every event of every process
ends wherever and however the parent logs (one file, rotated by one
process; syslog; a custom observer; C{--log-format json}).  It never gets
C{--pidfile} (the parent's pid file is the parent's) nor the daemon options
(C{-n} always; it inherits the parent's directory, user and umask).  For
an C{ssl:} endpoint the parent opens the TCP socket and each worker does
TLS on the connections it accepts.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sys
import time
from typing import Any

from twisted.application import service
from twisted.application.internet import backoffPolicy
from twisted.internet import endpoints
from twisted.internet.defer import Deferred, DeferredList
from twisted.internet.error import ProcessDone
from twisted.internet.protocol import ProcessProtocol
from twisted.logger import Logger
from twisted.python.failure import Failure

from ._hub import SHARED_KEY, HubConfig, parseHubTable, parseHubURL
from ._values import ConfigError
from ._workersocket import WORKER_ENV, listenSpec, openSocket

_log = Logger(namespace="twisted_ws.workers")


#: The most workers C{--workers} accepts.
MAX_WORKERS = 256

#: Seconds a worker must have run for its next death to restart it with no
#: delay at first again.
STABLE_AFTER = 10.0

#: Seconds given to the workers past the drain time before they are killed.
STOP_GRACE = 5.0



def parseWorkers(value: object) -> int:
    """
    Parse a number of worker processes.

    @raise ConfigError: it is not an integer from 1 to L{MAX_WORKERS}.
    """
    if isinstance(value, str):
        try:
            value = int(value.strip())
        except ValueError:
            raise ConfigError(f"expected a number of processes, got {value!r}") from None
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= MAX_WORKERS:
        raise ConfigError(f"expected a number of processes from 1 to {MAX_WORKERS}, got {value!r}")
    return value


def parseScalingKeys(data: dict[str, Any], path: str, result: dict[str, Any], problems: Any) -> None:
    """
    Read C{[hub]} and C{workers} from a parsed configuration file into
    C{result} (under C{"hub"} and C{"workers"}).
    """
    if "hub" in data:
        hub = parseHubTable(data["hub"], f"{path}: hub", problems)
        if hub is not None:
            result["hub"] = hub
    if "workers" in data:
        workers = problems.parse(f"{path}: workers", parseWorkers, data["workers"])
        if workers is not None:
            result["workers"] = workers
            result["workersOrigin"] = f"{path}: workers"


def mergeScaling(cli: Any, fromFile: dict[str, Any], config: Any, problems: Any) -> None:
    """
    Set C{config.hub} and C{config.workers}: C{--hub} and C{--workers}
    win over the file's C{[hub]} C{url} and C{workers}; the file's hub
    bounds apply to either URL.
    """
    hub = fromFile.get("hub") or HubConfig()
    if cli.hub is not None:
        url = problems.parse("--hub", parseHubURL, cli.hub)
        if url is not None:
            hub = HubConfig(url, dict(hub.settings), "--hub")
    config.hub = hub
    config.workers = fromFile.get("workers", 1)
    config.workersOrigin = fromFile.get("workersOrigin", "--workers")
    if cli.workers is not None:
        workers = problems.parse("--workers", parseWorkers, cli.workers)
        if workers is not None:
            config.workers = workers
            config.workersOrigin = "--workers"


def isWorker() -> bool:
    """
    Whether this process is a worker of a C{--workers} parent.
    """
    return WORKER_ENV in os.environ


def usesHub(config: Any, reactor: Any) -> list[str]:
    """
    The applications of a L{ServerConfig} that use the server's hub: each
    is built once in a context of its own that is never started, and is
    counted if it asked for L{AppContext.hub}.
    """
    from ._apps import AppContext, loadApp, optionsFor

    names = []
    for app in config.apps:
        try:
            loaded = loadApp(app.name)
            shared: dict[str, Any] = {}
            context = AppContext(app.name, app.path, optionsFor(config.settings, app, loaded),
                                 reactor, service.MultiService(), shared, HubConfig())
            loaded.build(context)
        except Exception:
            continue  # reported by checkApps, or by the build itself at start
        if SHARED_KEY in shared:
            names.append(app.name)
    return names


def checkWorkers(config: Any, reactor: Any, problems: Any) -> None:
    """
    With more than one worker: every endpoint must be one a parent can
    open for its workers, and no application may use the in-process hub.
    """
    if getattr(config, "workers", 1) <= 1 or isWorker():
        return
    for description in config.listen:
        try:
            listenSpec(endpoints.serverFromString(reactor, description))
        except ConfigError as e:
            problems.add(f"{config.listenOrigin} {description!r}", str(e))
        except Exception:
            pass  # checkEndpoints says why it does not parse
    if config.hub.inProcess:
        for name in usesHub(config, reactor):
            problems.add(
                config.workersOrigin,
                f"{config.workers} workers cannot share the in-process hub that {name!r} "
                "uses: add --hub redis://HOST:PORT/DB (or url in [hub]) so that they share "
                "one on Redis",
            )


def twistdArguments(options: Any) -> list[str]:
    """
    The twistd options a worker runs with, from the parent's twistd
    options (the C{ServerOptions} before C{websocket}, or L{None}): in the
    foreground, with no pid file, logging to standard output (the pipe to
    the parent), with the parent's reactor and umask.
    """
    args = ["-n", "--pidfile=", "--logfile=-"]
    get = getattr(options, "get", None)
    if get is None:
        return args
    reactor = get("reactor")
    if reactor:
        args.append(f"--reactor={reactor}")
    umask = get("umask")
    if umask is not None:
        args.append(f"--umask={umask:04o}")
    return args


def websocketArguments(argv: list[str]) -> list[str]:
    """
    The arguments after C{websocket} in a twistd command line.

    @raise SystemExit: if there is no C{websocket} in it.
    """
    for index, arg in enumerate(argv[1:], 1):
        if arg == "websocket":
            return argv[index + 1:]
    raise SystemExit("twistd websocket: --workers needs twistd started as 'twistd ... websocket ...'")


#: The longest log line taken from a worker; the rest of a longer one is
#: dropped (with a warning), so that a worker cannot fill the parent.
MAX_LINE = 1024 * 1024


def relayedEvent(line: str, index: int, pid: int | None) -> dict[str, Any] | None:
    """
    The log event of one JSON line a worker wrote, marked with the worker
    (C{worker_index}, C{worker_pid}, and a C{log_system} that starts with
    C{worker N pid P}); L{None} if the line is not a JSON log event.
    """
    from twisted.logger import eventFromJSON

    if not line.startswith("{"):
        return None
    try:
        event = eventFromJSON(line)
    except Exception:
        return None
    if not isinstance(event, dict) or "log_time" not in event:
        return None
    level = event.get("log_level")
    system = event.get("log_system")
    if system is None:
        name = getattr(level, "name", None) or "-"
        system = f"{event.get('log_namespace', '-')}#{name}"
    event["worker_index"] = index
    event["worker_pid"] = pid
    event["log_system"] = f"worker {index} pid {pid} {system}"
    return event


class _WorkerProtocol(ProcessProtocol):
    def __init__(self, parent: WorkersService, index: int) -> None:
        self.parent = parent
        self.index = index
        self.started = time.monotonic()
        self.ended: Deferred[None] = Deferred()
        self._buffers: dict[int, bytes] = {}
        self._cutting: set[int] = set()
        self.pid: int | None = None

    def makeConnection(self, transport: Any) -> None:
        self.pid = getattr(transport, "pid", None)
        super().makeConnection(transport)

    def childDataReceived(self, childFD: int, data: bytes) -> None:
        # One buffer per descriptor, so that a line on standard error never
        # lands in the middle of a JSON line on standard output.
        *lines, rest = (self._buffers.get(childFD, b"") + data).split(b"\n")
        if childFD in self._cutting and lines:
            lines.pop(0)  # the end of a line too long to keep
            self._cutting.discard(childFD)
        if childFD in self._cutting:
            rest = b""
        elif len(rest) > MAX_LINE:
            _log.warn("worker {index} (pid {pid}) wrote a log line of more than {limit} bytes: "
                      "dropped", index=self.index, pid=self.pid, limit=MAX_LINE)
            self._cutting.add(childFD)
            rest = b""
        self._buffers[childFD] = rest
        for line in lines:
            self.relay(childFD, line.decode("utf-8", "replace").rstrip())

    def relay(self, childFD: int, text: str) -> None:
        """
        Log one line of the worker as the parent's own event: a JSON log
        event as it was, anything else (a traceback on standard error
        before its logging started, say) as a line of text.
        """
        if not text:
            return
        event = relayedEvent(text, self.index, self.pid)
        if event is not None:
            _log.observer(event)
            return
        emit = _log.warn if childFD == 2 else _log.info
        emit("{line}", line=text, worker_index=self.index, worker_pid=self.pid,
             log_system=f"worker {self.index} pid {self.pid}")

    def processEnded(self, reason: Failure) -> None:
        for childFD, rest in sorted(self._buffers.items()):
            if rest and childFD not in self._cutting:
                self.relay(childFD, rest.decode("utf-8", "replace").rstrip())
        self._buffers.clear()
        code = getattr(reason.value, "exitCode", None)
        signalNumber = getattr(reason.value, "signal", None)
        self.parent.workerEnded(self, code, signalNumber, reason.check(ProcessDone) is not None)
        self.ended.callback(None)


class WorkersService(service.Service):
    """
    The parent of C{--workers N}: open the sockets, keep N workers running,
    and stop them all together.

    @ivar workers: the running workers' protocols, by number.
    """

    def __init__(self, config: Any, reactor: Any, argv: list[str] | None = None,
                 twistdOptions: Any = None, logObserver: Any = None) -> None:
        self.config = config
        self.reactor = reactor
        self.argv = list(sys.argv if argv is None else argv)
        self.twistdOptions = twistdOptions
        self.logObserver = logObserver
        self.count = config.workers
        self.drainTimeout = float(getattr(config, "drainTimeout", 5.0))
        self.retryPolicy = backoffPolicy(initialDelay=0.5, maxDelay=30.0, factor=2.0)
        self.workers: dict[int, _WorkerProtocol] = {}
        self._attempts: dict[int, int] = {}
        self._restarts: dict[int, Any] = {}
        self._sockets: list[tuple[str, socket.socket, str]] = []
        self._stopping = False

    def setServiceParent(self, parent: Any) -> None:
        # As ServerService does: twistd logs to the application's
        # ILogObserver component (the JSON one of --log-format json).
        if self.logObserver is not None and hasattr(parent, "setComponent"):
            from twisted.logger import ILogObserver

            parent.setComponent(ILogObserver, self.logObserver)
        super().setServiceParent(parent)

    def workerArguments(self) -> list[str]:
        """
        The command line of a worker after the interpreter: twistd's
        options (L{twistdArguments}), then C{websocket} with the parent's
        own arguments, and C{--log-format json} last (it wins), for the
        pipe to the parent.
        """
        return [*twistdArguments(self.twistdOptions), "websocket",
                *websocketArguments(self.argv), "--log-format", "json"]

    def privilegedStartService(self) -> None:
        for description in self.config.listen:
            sock, family = openSocket(self.reactor, description)
            self._sockets.append((description, sock, family))
        super().privilegedStartService()

    def startService(self) -> None:
        super().startService()
        for description, sock, _ in self._sockets:
            _log.info("{count} workers share {description} ({address})", count=self.count,
                      description=description, address=sock.getsockname())
        for index in range(1, self.count + 1):
            self._spawn(index)

    def _spawn(self, index: int) -> None:
        self._restarts.pop(index, None)
        if self._stopping:
            return
        sockets = {}
        childFDs: dict[int, Any] = {0: "w", 1: "r", 2: "r"}
        for number, (description, sock, family) in enumerate(self._sockets, 3):
            sockets[description] = [number, family]
            childFDs[number] = sock.fileno()
        env = dict(os.environ)
        env[WORKER_ENV] = json.dumps({"index": index, "parent": os.getpid(), "sockets": sockets})
        env["PYTHONUNBUFFERED"] = "1"
        args = [sys.executable, "-c", "from twisted.scripts.twistd import run; run()",
                *self.workerArguments()]
        protocol = _WorkerProtocol(self, index)
        self.reactor.spawnProcess(protocol, sys.executable, args, env=env, path=os.getcwd(),
                                  childFDs=childFDs)
        self.workers[index] = protocol
        _log.info("worker {index} started (pid {pid})", index=index, pid=protocol.pid)

    def workerEnded(self, protocol: _WorkerProtocol, code: int | None, signalNumber: int | None,
                    clean: bool) -> None:
        """
        A worker ended: restart it after a delay that grows while it keeps
        dying soon after starting, unless the service is stopping.
        """
        index = protocol.index
        if self.workers.get(index) is protocol:
            del self.workers[index]
        how = f"signal {signalNumber}" if signalNumber is not None else f"status {code}"
        if self._stopping:
            _log.info("worker {index} (pid {pid}) stopped ({how})", index=index,
                      pid=protocol.pid, how=how)
            return
        if time.monotonic() - protocol.started >= STABLE_AFTER:
            self._attempts[index] = 0
        attempt = self._attempts.get(index, 0)
        self._attempts[index] = attempt + 1
        delay = self.retryPolicy(attempt) if attempt else 0.0
        _log.warn("worker {index} (pid {pid}) ended ({how}); restarting it in {delay:.1f} s",
                  index=index, pid=protocol.pid, how=how, delay=delay)
        self._restarts[index] = self.reactor.callLater(delay, self._spawn, index)

    def stopService(self) -> Deferred[Any]:
        """
        Send SIGTERM to every worker and wait for all of them: each drains
        its connections (1001) within the drain time; a worker still
        running L{STOP_GRACE} seconds after that is killed.
        """
        super().stopService()
        self._stopping = True
        for call in self._restarts.values():
            if call.active():
                call.cancel()
        self._restarts.clear()
        waiting = list(self.workers.values())
        for protocol in waiting:
            self._signal(protocol, signal.SIGTERM)
        killer = self.reactor.callLater(self.drainTimeout + STOP_GRACE, self._killAll)
        done = DeferredList([p.ended for p in waiting])

        def finished(result: Any) -> None:
            if killer.active():
                killer.cancel()
            for _description, sock, _family in self._sockets:
                sock.close()
            self._sockets = []

        done.addCallback(finished)
        return done

    def _killAll(self) -> None:
        for protocol in list(self.workers.values()):
            _log.warn("worker {index} (pid {pid}) did not stop in time: killing it",
                      index=protocol.index, pid=protocol.pid)
            self._signal(protocol, signal.SIGKILL)

    def _signal(self, protocol: _WorkerProtocol, number: int) -> None:
        if protocol.transport is None:
            return
        try:
            protocol.transport.signalProcess(number)
        except Exception:
            pass  # it has ended already


class ParentWatch(service.Service):
    """
    In a worker: stop when the parent is gone (killed without the chance
    to stop its workers), instead of serving on alone.
    """

    def __init__(self, reactor: Any, interval: float = 1.0) -> None:
        self.reactor = reactor
        self.interval = interval
        self.parentPid = json.loads(os.environ.get(WORKER_ENV, "{}")).get("parent")
        self._call: Any = None

    def startService(self) -> None:
        super().startService()
        self._call = self.reactor.callLater(self.interval, self._check)

    def _check(self) -> None:
        self._call = None
        if self.parentPid is not None and os.getppid() != self.parentPid:
            _log.warn("the workers' parent is gone: stopping")
            self.reactor.stop()
            return
        self._call = self.reactor.callLater(self.interval, self._check)

    def stopService(self) -> None:
        super().stopService()
        if self._call is not None and self._call.active():
            self._call.cancel()
        self._call = None
