#!/usr/bin/env bash
# Runs every Go fuzz target briefly (FUZZTIME, default 3s each), one package and target at a
# time as `go test -fuzz` requires. Their seeds (f.Add, testdata/fuzz/) also run as plain
# tests under `go test ./...`; a crash found here is written to the package's
# testdata/fuzz/FuzzX/ by go test: commit that file, it becomes a regression test.
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime=${FUZZTIME:-3s}

# Every fuzz target in the module: "package target" per line.
mapfile -t targets < <(grep -rl --include='*_test.go' '^func Fuzz' . | sort | while read -r f; do
  pkg=./$(dirname "${f#./}")
  grep -o '^func Fuzz[A-Za-z0-9_]*' "$f" | sed "s|^func |$pkg |"
done)

failed=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT
for t in "${targets[@]}"; do
  read -r pkg name <<<"$t"
  echo "fuzz: $pkg $name ($fuzztime)"
  ok=1
  go test "$pkg" -run '^$' -fuzz "^${name}\$" -fuzztime "$fuzztime" >"$log" 2>&1 || ok=0
  # Go's fuzzing engine sometimes ends a run with "context deadline exceeded" and no failing
  # input when a worker is slow to stop at -fuzztime: that is no finding; run it once more.
  if ((ok == 0)) && grep -q 'context deadline exceeded' "$log" && ! grep -q 'Failing input written' "$log"; then
    echo "fuzz: $pkg $name: the engine timed out stopping (no input found); once more"
    ok=1
    go test "$pkg" -run '^$' -fuzz "^${name}\$" -fuzztime "$fuzztime" >"$log" 2>&1 || ok=0
  fi
  if ((ok == 0)); then
    cat "$log"
    echo "fuzz: $pkg $name FAILED (the failing input is under $pkg/testdata/fuzz/$name/)"
    failed=$((failed + 1))
  fi
done
echo "fuzz: $((${#targets[@]} - failed)) passed, $failed failed"
((failed == 0))
