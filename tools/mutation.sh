#!/usr/bin/env bash
# Mutation testing of the codec with mutmut 3: small changes (an operator,
# a constant, a condition) are made to the codec's code one at a time, and
# each one that the codec's tests do not notice ("survived") points at code
# that no test checks.
#
#   tools/mutation.sh                 every module of twisted_ws/codec/
#   tools/mutation.sh _utf8 _mask     only those modules (of twisted_ws/codec/,
#                                     or handshake/_http and the like)
#
# Each module runs on its own, one after the other, in a copy of the
# committed tree (HEAD, or MUTATION_REVISION) under build/mutation/MODULE/ (mutmut writes its mutants/
# folder there, never into the source tree), niced, on MUTATION_CHILDREN
# processes (1 by default) and for at most MUTATION_TIMEOUT seconds per
# module (1800 by default).  The tests are the fast codec modules below, run
# by pytest (which runs trial's test cases) with TWISTED_WS_NO_SPEEDUPS=1, so
# that the pure-Python masking and UTF-8 paths are the ones mutated and
# tested.  At the end of each module it prints the counts, the kill rate
# and the surviving mutants; "mutmut show NAME" in build/mutation/MODULE/
# shows one as a diff.
#
# CPU-heavy: not for CI.

set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

CHILDREN=${MUTATION_CHILDREN:-1}
# The commit whose code and tests are used (mutmut needs the tests to pass
# before it starts): HEAD unless MUTATION_REVISION names another.
REVISION=${MUTATION_REVISION:-HEAD}
LIMIT=${MUTATION_TIMEOUT:-1800}

# The codec's test modules that are quick and deterministic, as the
# revision has them (the copy the tests run in); the property and fuzz
# modules (hypothesis) and the import check (a subprocess) are left out to
# keep each mutant's run short.
TESTS=()
for name in framing hixie handshake options state text deflate deflateframe mutants; do
    if git cat-file -e "$REVISION:tests/test_codec_$name.py" 2>/dev/null; then
        TESTS+=("\"tests/test_codec_$name.py\"")
    fi
done

if [ -n "${TWISTED_WS_PYTHON:-}" ]; then
    BIN=$(dirname "$TWISTED_WS_PYTHON")
else
    python3 -c 'import dev; dev.ensureEnvironment("test,mutation")'
    BIN=$ROOT/.venv/bin
fi

if [ "$#" -gt 0 ]; then
    MODULES=("$@")
else
    MODULES=()
    while IFS= read -r path; do
        MODULES+=("${path#twisted_ws/codec/}")
    done < <(git ls-tree -r --name-only "$REVISION" -- twisted_ws/codec/ \
        | grep '\.py$' | grep -v '__init__\.py$' | sed 's/\.py$//')
fi

joined() {
    local IFS=,
    echo "$*"
}

summary=()
for module in "${MODULES[@]}"; do
    module=${module%.py}
    source="twisted_ws/codec/$module.py"
    work="build/mutation/${module//\//_}"
    rm -rf "$work"
    mkdir -p "$work"
    git archive "$REVISION" -- twisted_ws tests pyproject.toml setup.cfg | tar -x -C "$work"
    if [ ! -f "$work/$source" ]; then
        echo "mutation: no $source in $REVISION" >&2
        exit 2
    fi
    cat >> "$work/pyproject.toml" <<EOF

[tool.mutmut]
source_paths = ["twisted_ws/"]
only_mutate = ["$source"]
pytest_add_cli_args = ["-p", "no:cacheprovider", "-q", "-W", "ignore::DeprecationWarning"]
pytest_add_cli_args_test_selection = [$(joined "${TESTS[@]}")]
EOF
    echo "======== mutation: $source ========"
    rc=0
    (
        cd "$work"
        TWISTED_WS_NO_SPEEDUPS=1 timeout "$LIMIT" nice -n 19 \
            "$BIN/mutmut" run --max-children "$CHILDREN" > mutmut-run.log 2>&1
    ) || rc=$?
    if [ "$rc" -eq 124 ]; then
        echo "mutation: $source stopped after $LIMIT seconds; the counts are partial"
    elif [ "$rc" -ne 0 ]; then
        echo "mutation: mutmut failed on $source (exit $rc); the end of $work/mutmut-run.log:" >&2
        tail -20 "$work/mutmut-run.log" >&2
        exit "$rc"
    fi
    line=$(cd "$work" && "$BIN/python" - "$module" "$BIN/mutmut" <<'EOF'
import subprocess
import sys

out = subprocess.run([sys.argv[2], "results", "--all", "true"], capture_output=True, text=True).stdout
status = {}
for row in out.splitlines():
    name, _, result = row.strip().rpartition(": ")
    if name:
        status[name] = result
counts = {}
for result in status.values():
    counts[result] = counts.get(result, 0) + 1
killed = counts.get("killed", 0)
# A mutant that made the tests hang or crash the interpreter was noticed too;
# one that no test runs ("no tests") was not.
noticed = killed + counts.get("timeout", 0) + counts.get("segfault", 0)
judged = noticed + counts.get("survived", 0) + counts.get("no tests", 0)
rate = f"{100 * noticed / judged:.1f}%" if judged else "n/a"
detail = ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
print(f"{sys.argv[1]}: {len(status)} mutants, {detail}; kill rate {rate}")
for name, result in sorted(status.items()):
    if result in ("survived", "no tests"):
        print(f"    {result}: {name}", file=sys.stderr)
EOF
)
    echo "$line"
    summary+=("$line")
done

echo "======== mutation: summary ========"
printf '%s\n' "${summary[@]}"
