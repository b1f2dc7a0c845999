#!/usr/bin/env bash
# Every test, on a fresh Debian machine too: installs what is missing (scripts/install-deps.sh;
# as root nothing is then skipped for a missing package), runs `go test` (default ./...) and
# the example operator's module (examples/operator), and every fuzz target briefly (test/fuzz.sh, FUZZTIME each). .ci/run is this script.
#
#   test/run.sh                     # everything
#   test/run.sh ./scheduler/...     # go test arguments instead of ./... (fuzzing skipped)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
export PATH=$PWD/bin:$PATH # where install-deps.sh puts kubectl when not root
go version
if (($#)); then
  exec go test "$@"
fi
# The end-to-end package runs real clusters one after another: well past go test's default
# 10-minute limit per package on a loaded machine.
go test -timeout 45m ./...
# The example operator is a module of its own (controller-runtime is its dependency, never
# skiff's): its in-process test (skifftest) and its end-to-end test (skiff up + kubectl).
(cd examples/operator && go test -timeout 20m ./...)
test/fuzz.sh
