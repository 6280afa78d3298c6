#!/usr/bin/env bash
# Runs every test: unit, property, reference (npm's IPFS importer), sandbox (real bubblewrap and cgroups),
# and end-to-end (real hub and provider processes on loopback). Ends with one line:
#   N passed, N failed[, N skipped]
set -uo pipefail
ROOT="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)"
cd "$ROOT"
export DOTNET_NOLOGO=1 DOTNET_CLI_TELEMETRY_OPTOUT=1 KUMO_REPO_ROOT="$ROOT"
# shellcheck source=scripts/prereqs.sh
source "$ROOT/scripts/prereqs.sh"
kumo_need_dotnet
kumo_need_bwrap
kumo_need_node
kumo_need_cc

fail() { echo "test.sh: $*" >&2; echo "0 passed, 1 failed"; exit 1; }
kumo_need_datasets || fail "could not fetch the data sets (scripts/datasets.sh)"

if [ ! -d test/reference/ipfs/node_modules ]; then
  (cd test/reference/ipfs && npm ci --silent --no-audit --no-fund >/dev/null) || fail "npm ci for the IPFS reference importer failed"
fi

echo "test.sh: building…" >&2
dotnet build Kumo.slnx -c Release -nologo -v:quiet -clp:ErrorsOnly || fail "build failed"

RESULTS="$ROOT/artifacts/test-results"
rm -rf "$RESULTS" && mkdir -p "$RESULTS"
status=0
for project in test/*/*.csproj; do
  name="$(basename "$project" .csproj)"
  echo "test.sh: $name" >&2
  dotnet test "$project" -c Release --no-build -nologo -v:quiet \
    --logger "trx;LogFileName=$name.trx" --logger "console;verbosity=minimal" \
    --results-directory "$RESULTS" "$@" || status=1
done

passed=0 failed=0 skipped=0 files=0
for trx in "$RESULTS"/*.trx; do
  [ -f "$trx" ] || continue
  files=$((files + 1))
  counters="$(grep -o '<Counters [^>]*>' "$trx" | head -n 1)"
  get() { printf '%s' "$counters" | grep -o " $1=\"[0-9]*\"" | grep -o '[0-9]*'; }
  total=$(get total); executed=$(get executed); p=$(get passed); f=$(get failed); e=$(get error); t=$(get timeout); a=$(get aborted)
  passed=$((passed + ${p:-0}))
  failed=$((failed + ${f:-0} + ${e:-0} + ${t:-0} + ${a:-0}))
  skipped=$((skipped + ${total:-0} - ${executed:-0}))
done
# A test project that crashed before writing its results counts as a failure.
expected_files=$(ls test/*/*.csproj | wc -l)
[ "$files" -lt "$expected_files" ] && failed=$((failed + expected_files - files))
[ "$status" -ne 0 ] && [ "$failed" -eq 0 ] && failed=1

if [ "$skipped" -gt 0 ]; then
  echo "$passed passed, $failed failed, $skipped skipped"
else
  echo "$passed passed, $failed failed"
fi
[ "$failed" -eq 0 ]
