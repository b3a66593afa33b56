"""
Imported at the start of every Python process that tools/coverage.sh runs
(it puts this directory on PYTHONPATH): the processes the tests start are
measured by coverage.py already (patch = ["subprocess"] in pyproject.toml),
but twistd, stopped by SIGTERM or SIGINT, ends by sending that signal to
itself with the default action restored, so that its exit status tells
which signal stopped it; the process dies before coverage.py's atexit
handler saves its data.  This saves the data first.
"""

import os
import signal

_TERMINATING = {signal.SIGTERM, signal.SIGINT, signal.SIGHUP}


def _install() -> None:
    if not (os.environ.get("COVERAGE_PROCESS_CONFIG") or os.environ.get("COVERAGE_PROCESS_START")):
        return
    kill = os.kill

    def killSaving(pid: int, number: int) -> None:
        if (pid == os.getpid() and number in _TERMINATING
                and signal.getsignal(number) == signal.SIG_DFL):
            try:
                import coverage

                current = coverage.Coverage.current()
                if current is not None:
                    current.stop()
                    current.save()
            except Exception:
                pass  # never keep a process from ending
        kill(pid, number)

    os.kill = killSaving


_install()
