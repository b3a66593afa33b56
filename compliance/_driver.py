"""
Drive kosoku's fuzzing client over a list of case chunks, one chunk at a time.

Run by C{compliance/run} with the project's virtualenv; not meant to be run by
hand.  Each chunk's per-case reports are written to their own directory as
soon as the chunk ends, so a run that is stopped at its time limit still
leaves the results of every chunk that finished.  When all chunks are done,
one merged report (index.json, index.html and a page per case) is written
over the whole run.

    python _driver.py PLAN.json

PLAN.json holds C{url}, C{outdir}, C{parallelism}, C{deadline} (seconds for the
whole run) and C{chunks}: a list of C{[name, [case ids]]}.

C{compliance/run client} also starts kosoku's fuzzing server through it, so
that the server's compression cases get the same work-around
(L{bytesPayloads}) as the fuzzing client's:

    python _driver.py --fuzzingserver KOSOKU-ARGUMENTS...
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path

import kosoku.cases
from kosoku import FailureError, run_fuzzingclient
from kosoku._report import write_reports


def bytesPayloads(cases: dict) -> int:
    """
    Work around a bug of kosoku 0.1.0 in the compression cases (12.x, 13.x).

    kosoku hands a message to the case's C{onMessage} as C{bytes} when it
    arrived compressed (RSV1 set) but as C{str} when it arrived uncompressed,
    which RFC 7692 allows a sender to do for any message.  The cases hash the
    payload before decoding it, as Autobahn (whose payload is always bytes)
    lets them, so an uncompressed text echo ends the case in ERROR with
    hashlib's "Strings must be encoded before hashing".  twisted_ws sends a
    message uncompressed when, without context takeover, compressing it would
    not make it shorter (the 16-byte messages of 13.2.1, 13.5.1 and 13.6.1).
    twisted_ws's client does the same when its offer commits it to no
    context takeover (compliance/client_driver.py), for the fuzzing server's
    cases, of every size for incompressible data (12.5.x).  This gives those
    cases the bytes instead, which is what Autobahn gives them: the UTF-8
    bytes of a text message, and for a binary message (which kosoku's
    fuzzing server hands over as a C{str} of one character per byte, its
    bytes decoded as Latin-1) those bytes.  The check the cases make is
    unchanged.

    @param cases: kosoku's case index (id -> case class).
    @return: how many case classes were wrapped.
    """
    wrapped = 0
    for caseId, cls in cases.items():
        if caseId.split(".")[0] not in ("12", "13") or "onMessage" not in vars(cls):
            continue
        original = vars(cls)["onMessage"]

        def onMessage(self, msg, binary, _original=original):
            if isinstance(msg, str):
                # A binary message comes as one character per byte (its
                # bytes decoded as Latin-1), a text message as its text.
                msg = msg.encode("latin-1" if binary else "utf-8")
            return _original(self, msg, binary)

        cls.onMessage = onMessage
        wrapped += 1
    return wrapped


async def runChunks(plan: dict) -> int:
    """
    Run every chunk of C{plan} in order, within its deadline.

    @param plan: the parsed PLAN.json.
    @return: 0 if every chunk finished, 3 if the deadline stopped the run.
    """
    outdir = Path(plan["outdir"])
    deadline = time.monotonic() + float(plan["deadline"])
    everything = []
    for index, (name, cases) in enumerate(plan["chunks"]):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            print(f"driver: time limit reached before chunk {name}", flush=True)
            return 3
        started = time.monotonic()
        try:
            results = await asyncio.wait_for(
                run_fuzzingclient(plan["url"], cases, None, concurrency=int(plan["parallelism"])),
                timeout=remaining,
            )
        except FailureError as failure:
            results = failure.results
        except TimeoutError:
            print(f"driver: time limit reached during chunk {name}", flush=True)
            return 3
        everything.extend(results)
        write_reports(results, str(outdir / "chunks" / f"{index:03d}-{name}"), produce_html=False)
        passed = sum(1 for r in results if r.passed)
        print(
            f"driver: {name:<8} {len(results):>4} cases, {passed:>4} passed,"
            f" {time.monotonic() - started:6.1f} s",
            flush=True,
        )
    write_reports(everything, str(outdir))
    return 0


def fuzzingServer(argv: list[str]) -> int:
    """
    Run kosoku's command line in fuzzing server mode, with L{bytesPayloads}.

    @param argv: kosoku's arguments after C{-m fuzzingserver}.
    @return: the exit status.
    """
    from kosoku._cli import main as kosokuMain

    bytesPayloads(kosoku.cases.CASES)
    sys.argv = ["kosoku", "-m", "fuzzingserver", *argv]
    try:
        kosokuMain()
    except SystemExit as e:
        return e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    return 0


def main(argv: list[str]) -> int:
    """
    @param argv: the path of PLAN.json, or C{--fuzzingserver} and kosoku's
        arguments.
    @return: the exit status.
    """
    if argv[:1] == ["--fuzzingserver"]:
        return fuzzingServer(argv[1:])
    plan = json.loads(Path(argv[0]).read_text())
    bytesPayloads(kosoku.cases.CASES)
    return asyncio.run(runChunks(plan))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
