#!/usr/bin/env bash
# The README's two commands:
#   tools/dev.sh demo   install what is missing, build, run the SQL demo (sql/demo.sql)
#   tools/dev.sh test   install what is missing, build, run the whole test suite
#                       (default build, then the ASan+UBSan build)
# Works on a fresh Debian 12 machine as root; elsewhere it only checks packages.
set -euo pipefail
cd "$(dirname "$0")/.."

# make and python3 also serve node-gyp, which compiles better-sqlite3 for
# tests/node_extension_test.js. Node.js >= 20 with npm (and its headers in
# <prefix>/include/node, as NodeSource's package installs them) is not among them:
# Debian 12's nodejs is 18, too old (see node_test_flag).
PACKAGES=(cmake ninja-build g++ make pkg-config libzstd-dev liblz4-dev libsqlite3-dev sqlite3 python3 googletest libgtest-dev)

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

# -DSTRATA_NODE_TEST=OFF, with a warning, where Node.js >= 20 and npm are missing (a
# fresh Debian 12 has neither; its own nodejs 18 is too old for better-sqlite3 12): the
# rest of the suite still runs there.
node_test_flag() {
  local major
  major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
  if [ "$major" -ge 20 ] && command -v npm >/dev/null; then
    echo "-DSTRATA_NODE_TEST=ON"
  else
    echo "WARNING: Node.js >= 20 with npm not found: node_extension_test (strata inside" \
         "better-sqlite3's newer SQLite) is not built" >&2
    echo "-DSTRATA_NODE_TEST=OFF"
  fi
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
    build build "$(node_test_flag)"
    # The SQL demo in the sqlite3 shell, on a fresh database (its store is the
    # directory next to it).
    rm -rf /tmp/strata-demo.db /tmp/strata-demo.db-strata
    sqlite3 /tmp/strata-demo.db < sql/demo.sql
    ;;
  test)
    install_missing_packages
    node_flag=$(node_test_flag)
    build build "$node_flag"
    run_tests build
    # The ASan build reuses the default build's better-sqlite3 (about a minute of CPU).
    build build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSTRATA_SANITIZE=address "$node_flag" \
      -DSTRATA_NODE_MODULES_DIR="$PWD/build/tests/node" -DSTRATA_BUILD_BENCH=OFF
    run_tests build-asan
    ;;
  *)
    echo "usage: $0 demo|test" >&2
    exit 2
    ;;
esac
