#!/usr/bin/env bash
# FTGate OAuth build script.
#   ./build.sh test      install what the tests need, build in Release, run every test, print "N passed, N failed"
#   ./build.sh build     restore and build in Release
#   ./build.sh pack      pack the libraries into artifacts/packages
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

pack() {
  rm -rf artifacts/packages
  # The packages (and the ftgate tool); the samples' web app and the test projects are not packable.
  for project in src/FTGate.OAuth src/FTGate.SmartPop src/FTGate.Redis src/FTGate.Testing samples/FTGate.Cli; do
    dotnet pack "$project" -c Release --no-build -o artifacts/packages
  done
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
  pack) build; pack ;;
  test) install_prereqs; build; pack; run_tests ;;
  *) echo "usage: $0 [test|build|pack|install]" >&2; exit 2 ;;
esac
