#!/usr/bin/env bash
# Runs every test of the project on a fresh Debian 12 machine, installing what
# the tests need first. This is the README's test command; .ci/run calls it.
#
#   scripts/test.sh            everything (format, lints, tests, fuzz smoke run)
#   FUZZ_SECONDS=0 scripts/test.sh   skip the fuzz run (the targets are still built; default 20 s each)
#   TANDEM_SLOW_TESTS=1 scripts/test.sh   also the slow tests kept out of CI's time:
#       #[ignore]d Rust tests (files_netem.rs on an Ethernet-sized link, ~45 min each) and the
#       1 GiB browser transfer (TANDEM_E2E_1GB)
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

# A clean CI clone gains nothing from incremental caches, and they cost
# gigabytes of disk (CI once ran out of space building the tests).
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"

# Debian packages the tests need: the union of scripts/debian-packages/*.txt
# (one list per area, so that each part of the product names its own needs).
mapfile -t DEBIAN_PACKAGES < <(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' scripts/debian-packages/*.txt | sort -u)
missing=()
for p in "${DEBIAN_PACKAGES[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  step "installing Debian packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends "${missing[@]}"
fi

# The browser tests and the Rust tests that drive Chromium (peer/tests/nat_browser.rs)
# both need playwright-core.
step "npm packages"
npm ci --no-audit --no-fund

step "format"
cargo fmt --all -- --check

step "lints"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "tests"
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --locked --no-fail-fast
  cargo test --workspace --doc --locked
  if [ "${TANDEM_SLOW_TESTS:-0}" = 1 ]; then
    cargo nextest run --workspace --locked --no-fail-fast --run-ignored only
  else
    echo "slow tests not run (#[ignore]d: files_netem on an Ethernet-sized link, about 45 min each): TANDEM_SLOW_TESTS=1 runs them"
  fi
else
  cargo test --workspace --locked --no-fail-fast
fi

step "web client tests (npm)"
if [ "${TANDEM_SLOW_TESTS:-0}" = 1 ]; then export TANDEM_E2E_1GB=1; fi
# The Rust tests above built target/debug/tandem-signaling and tandem-peer from
# this tree. The e2e tests would otherwise run `cargo build -p <one package>`,
# whose narrower feature set rebuilds many dependencies (8 minutes on 2 cores).
for bin in tandem-signaling tandem-peer; do
  [ -x "target/debug/$bin" ] || cargo build --locked -p "$bin"
done
TANDEM_E2E_NO_BUILD=1 npm test

step "fuzz targets (signaling decoder + session core; control decoder; remote file messages)"
if cargo +nightly --version >/dev/null 2>&1; then
  command -v cargo-fuzz >/dev/null 2>&1 || cargo install cargo-fuzz --locked
  seconds="${FUZZ_SECONDS:-20}"
  for target in signaling_messages control_messages remote_file_messages; do
    (cd fuzz && cargo +nightly fuzz build "$target")
    if [ "$seconds" -gt 0 ]; then
      corpus="$(mktemp -d)"
      (cd fuzz && cargo +nightly fuzz run "$target" "$corpus" "seeds/$target" -- \
        -max_total_time="$seconds" -max_len=4096)
      rm -rf "$corpus"
    fi
  done
else
  echo "no nightly toolchain: checking that the fuzz target compiles on stable instead"
  cargo check --manifest-path fuzz/Cargo.toml --bins
fi

step "all tests passed (target/ holds $(du -sh target 2>/dev/null | cut -f1))"
