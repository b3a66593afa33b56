#!/usr/bin/env bash
# Branch coverage of twisted_ws over the whole test suite (coverage.py).
#
#   tools/coverage.sh                 the whole suite, then the report
#   tools/coverage.sh tests.test_x    only those test modules (the floors
#                                     are not checked then)
#
# The suite runs once as CI runs it (with the compiled helpers when they
# are built) and the codec's tests once more without them, so that the
# pure-Python masking and UTF-8 paths count too; the two runs are combined.
# Settings are in pyproject.toml ([tool.coverage.*]): branch coverage over
# the twisted_ws package, nothing omitted.  The report lists every module
# with its missed lines and branches; the run fails when the whole package
# or the codec falls under its floor.  Data stays in build/coverage/;
# .venv/bin/python -m coverage html then writes build/coverage/html/.
#
# Python subprocesses that the tests start (twistd, python -m twisted_ws,
# and the workers that twistd --workers starts with spawnProcess) are
# measured too ([tool.coverage.run] patch = ["subprocess"]: every Python
# process started with COVERAGE_PROCESS_CONFIG in its environment measures
# itself and writes its own data file, which combine then merges).  Each
# saves its data at exit; tools/coverage_hook/sitecustomize.py, on
# PYTHONPATH for this script's runs only, also saves it when a process
# ends by sending itself SIGTERM or SIGINT, as twistd does when stopped.

set -euo pipefail
cd "$(dirname "$0")/.."

# The floors, in percent of lines and branches together: the codec is held
# at 100 and the whole package at 95 (it measures 95.7 %; a few paths depend
# on timing in the twistd subprocesses, which is the margin).
PACKAGE_FLOOR=${PACKAGE_FLOOR:-95}
CODEC_FLOOR=${CODEC_FLOOR:-100}

# TWISTED_WS_PYTHON names an interpreter that has the test extra already;
# by default dev.py makes sure .venv has it.
if [ -n "${TWISTED_WS_PYTHON:-}" ]; then
    PY=$TWISTED_WS_PYTHON
else
    python3 -c 'import dev; dev.ensureEnvironment(dev.EXTRAS["test"])'
    PY=.venv/bin/python
fi
export PYTHONPATH="$PWD/tools/coverage_hook:$PWD${PYTHONPATH:+:$PYTHONPATH}"

# The codec's test modules, run once more without the compiled helpers.
CODEC_TESTS=()
for path in tests/test_codec_*.py tests/test_speedups.py; do
    if [ -f "$path" ]; then
        name=${path%.py}
        CODEC_TESTS+=("${name//\//.}")
    fi
done

rm -rf build/coverage
mkdir -p build/coverage

status=0
if [ "$#" -gt 0 ]; then
    "$PY" -m coverage run -m twisted.trial --reporter=text "$@" || status=$?
else
    "$PY" -m coverage run -m twisted.trial --reporter=text tests || status=$?
    TWISTED_WS_NO_SPEEDUPS=1 "$PY" -m coverage run -m twisted.trial --reporter=text \
        "${CODEC_TESTS[@]}" || status=$?
fi
"$PY" -m coverage combine --quiet

"$PY" -m coverage report --fail-under=0
if [ "$status" -ne 0 ]; then
    echo "coverage: the tests failed (exit $status); the floors are not checked" >&2
    exit "$status"
fi
if [ "$#" -gt 0 ]; then
    exit 0
fi

check() {
    local name=$1 floor=$2
    shift 2
    local total
    total=$("$PY" -m coverage report --format=total "$@")
    if awk -v t="$total" -v f="$floor" 'BEGIN { exit !(t + 0 < f + 0) }'; then
        echo "coverage: $name at $total%, under its floor of $floor%" >&2
        return 1
    fi
    echo "coverage: $name at $total% (floor $floor%)"
}

failed=0
check "twisted_ws" "$PACKAGE_FLOOR" || failed=1
check "twisted_ws.codec" "$CODEC_FLOOR" --include='twisted_ws/codec/*' || failed=1
exit "$failed"
