#!/usr/bin/env bash
# The README's two commands:
#   tools/dev.sh demo   install what is missing, build, run the SQL demo (sql/demo.sql)
#   tools/dev.sh test   install what is missing, build, run the whole test suite
#                       (default build, then the ASan+UBSan build)
# Works on a fresh Debian 12 machine as root; elsewhere it only checks packages.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(cmake ninja-build g++ pkg-config libzstd-dev libsqlite3-dev sqlite3 python3 googletest libgtest-dev)

install_missing_packages() {
  local missing=()
  for package in "${PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
      missing+=("$package")
    fi
  done
  if [ ${#missing[@]} -eq 0 ]; then return; fi
  if [ "$(id -u)" -ne 0 ]; then
    echo "missing packages: ${missing[*]} (run as root, or install them with apt-get)" >&2
    exit 1
  fi
  echo "installing: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

# build DIR [cmake args...]
build() {
  local dir=$1
  shift
  cmake -S . -B "$dir" -G Ninja "$@" >/dev/null
  cmake --build "$dir" -j "$(nproc)"
}

run_tests() {
  local dir=$1
  ctest --test-dir "$dir" -j "$(nproc)" --output-on-failure --timeout 600
}

command=${1:-}
case "$command" in
  demo)
    install_missing_packages
    build build
    # The SQL demo in the sqlite3 shell, on a fresh database (its store is the
    # directory next to it).
    rm -rf /tmp/strata-demo.db /tmp/strata-demo.db-strata
    sqlite3 /tmp/strata-demo.db < sql/demo.sql
    ;;
  test)
    install_missing_packages
    build build
    run_tests build
    build build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSTRATA_SANITIZE=address
    run_tests build-asan
    ;;
  *)
    echo "usage: $0 demo|test" >&2
    exit 2
    ;;
esac
