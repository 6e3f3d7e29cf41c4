#!/usr/bin/env bash
# FTGate OAuth build script.
#   ./build.sh test      install what the tests need, build in Release, run every test, print "N passed, N failed"
#   ./build.sh build     restore and build in Release
#   ./build.sh pack      build and pack the packages into artifacts/packages (builds no test project)
#   ./build.sh install   only install the test prerequisites (Debian and npm packages)
set -euo pipefail
cd "$(dirname "$0")"
ROOT=$PWD
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

install_prereqs() {
  if [ -x tests/infra/install.sh ] || [ -f tests/infra/install.sh ]; then
    bash tests/infra/install.sh
  fi
}

build() {
  dotnet restore FTGate.sln
  dotnet build FTGate.sln -c Release --no-restore
}

# The packages: every library under src/ and the ftgate tool (the web admin sample and the tests are not packages).
# A solution filter of the libraries lets one MSBuild run build them in parallel without building any test project. The
# tool is packed on its own: it has RID-specific packages (FTGate.Cli.linux-x64 with ReadyToRun, FTGate.Cli.any), whose
# inner publishes build it per RID, so it cannot be packed from the solution's RID-less build (--no-build).
packages_filter() {
  local filter="$ROOT/artifacts/packages.slnf"
  mkdir -p "$ROOT/artifacts"
  {
    printf '{ "solution": { "path": "../FTGate.sln", "projects": [\n'
    local first=1
    for project in src/*/*.csproj; do
      [ $first -eq 1 ] || printf ',\n'
      first=0
      printf '  "%s"' "$project"
    done
    printf '\n] } }\n'
  } > "$filter"
  echo "$filter"
}

# $1: --no-build when the solution was just built (./build.sh test), empty to build only the packages (./build.sh pack).
pack() {
  rm -rf artifacts/packages
  local filter
  filter=$(packages_filter)
  if [ "${1:-}" = "--no-build" ]; then
    dotnet pack "$filter" -c Release --no-build -o artifacts/packages
  else
    dotnet restore "$filter"
    dotnet pack "$filter" -c Release --no-restore -o artifacts/packages
  fi
  dotnet pack samples/FTGate.Cli/FTGate.Cli.csproj -c Release -o artifacts/packages
  ls -1 artifacts/packages
}

run_tests() {
  local results="$ROOT/artifacts/test-results"
  rm -rf "$results"
  mkdir -p "$results"
  local status=0
  dotnet test FTGate.sln -c Release --no-build \
    --logger "trx" --logger "console;verbosity=normal" \
    --results-directory "$results" -- RunConfiguration.TestSessionTimeout=3000000 || status=$?
  python3 "$ROOT/.ci/trx-summary.py" "$results" || status=1
  return $status
}

case "${1:-test}" in
  install) install_prereqs ;;
  build) build ;;
  pack) pack ;;
  test) install_prereqs; build; pack --no-build; run_tests ;;
  *) echo "usage: $0 [test|build|pack|install]" >&2; exit 2 ;;
esac
