#!/usr/bin/env bash
# Every test, on a fresh Debian machine too: installs what is missing (scripts/install-deps.sh;
# as root nothing is then skipped for a missing package), runs `go test` (default ./...) and
# every fuzz target briefly (test/fuzz.sh, FUZZTIME each). .ci/run is this script.
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
go test ./...
test/fuzz.sh
