#!/usr/bin/env bash
# The one command that runs every test on a fresh machine:
#   1. installs what the tests need (a Python venv with moto, boto3, SAM CLI, cargo-lambda, zig; the aarch64 target;
#      cargo-nextest, cargo-deny),
#   2. checks the habits that keep the code in shape, before any test: `cargo fmt --check`, clippy on every target
#      with warnings as errors (missing_docs is a workspace lint, so an undocumented public item fails it), and
#      cargo-deny's licence and duplicate-crate checks (deny.toml; offline), and that no queue or schedule
#      function links axum or utoipa again,
#   3. starts moto_server on a free port (stopped on exit) so the AWS adapters are tested against emulated AWS whose
#      resources are created from infra/template.yaml itself (infra/moto_stack.py, shared/testkit),
#   4. runs every Rust test (unit, conformance, end-to-end, doc tests; benches in test mode),
#   5. checks the web client (web/): npm ci, lint, typecheck, Vitest, build, the widget's size budgets, that the
#      generated API types match the server's OpenAPI document, then the Playwright browser tests against a real
#      `kefu serve` in Debian's Chromium (installed with apt when missing),
#   6. lints the SAM template and builds every Lambda for arm64 with `sam build`.
#
# Environment (all optional):
#   KEFU_VENV            venv location (default: <repo>/.venv)
#   CARGO_TARGET_DIR     cargo target dir (default: <repo>/target)
#   KEFU_SKIP_SAM_BUILD  set to 1 to skip the `sam build` step (it compiles all eleven functions for arm64)
#   KEFU_SKIP_WEB        set to 1 to skip the web client's checks and browser tests
#   KEFU_TEST_ARGS       extra arguments for `cargo nextest run` / `cargo test` (e.g. a filter)
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"

venv="${KEFU_VENV:-$repo/.venv}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$repo/target}"
export SAM_CLI_TELEMETRY=0
# A CI run builds once from clean: incremental state would only take disk (5 GB here), which a CI machine may lack.
if [ -n "${CI:-}" ]; then export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"; fi
total_start=$SECONDS

section() { printf '\n==> %s\n' "$*"; }
# step NAME CMD...: runs CMD with a header and prints how long it took.
step() {
  local name="$1" start=$SECONDS
  shift
  section "$name"
  "$@"
  printf '<== %s: %ss\n' "$name" "$((SECONDS - start))"
}

install_python_tools() {
  if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
  fi
  if [ -x "$venv/bin/sam" ] && [ -x "$venv/bin/cargo-lambda" ] && [ -x "$venv/bin/moto_server" ] &&
    "$venv/bin/python" -c 'import boto3, moto, samtranslator, yaml, ziglang' 2>/dev/null; then
    echo "already installed in $venv"
  else
    "$venv/bin/python" -m pip install --quiet --upgrade pip
    "$venv/bin/python" -m pip install --quiet \
      'moto[server]>=5.1,<6' 'boto3>=1.35,<2' 'aws-sam-cli>=1.170,<2' 'aws-lambda-builders>=1.67' \
      'cargo-lambda>=1.9,<2' 'ziglang>=0.13'
  fi
  "$venv/bin/sam" --version
  "$venv/bin/python" -c 'import moto; print("moto", moto.__version__)'
}

install_rust_tools() {
  if command -v rustup >/dev/null 2>&1; then
    if rustup target list --installed | grep -qx aarch64-unknown-linux-gnu; then
      echo "aarch64-unknown-linux-gnu already installed"
    else
      rustup target add aarch64-unknown-linux-gnu
    fi
  fi
  if ! cargo nextest --version >/dev/null 2>&1; then
    cargo install cargo-nextest --locked || echo "cargo-nextest could not be installed; falling back to cargo test"
  fi
  cargo nextest --version 2>/dev/null | head -1 || true
  if ! cargo deny --version >/dev/null 2>&1; then
    # Pinned: the version checked to build with this toolchain and to run `check licenses bans` offline.
    cargo install cargo-deny --locked --version 0.20.2
  fi
  cargo deny --version
}

# The habits, quick and before the tests: formatting, clippy on every target with warnings as errors (the
# workspace's missing_docs lint included), and the licences and duplicate crates of the dependency graph.
static_checks() {
  cargo fmt --all --check
  cargo clippy --workspace --all-targets -- -D warnings
  # cargo-deny reads the whole graph through `cargo metadata`, which needs every locked crate's source, those
  # of other targets (Windows, Android) included, which no build here downloads: fetch them first, so the
  # check also works on a fresh machine.
  cargo fetch --locked
  cargo deny --offline check licenses bans
  consumers_link_no_http
}

# The queue and schedule functions speak no HTTP: built without the `http` feature of kefu-app and kefu-lambda,
# they must not link axum or utoipa (each capability's errors are free of HTTP; only the HTTP layer maps them),
# nor tower-http, except through reqwest (its redirect layer) in notify, which delivers webhooks. The normal
# dependency graph of each is listed first (a failure of `cargo tree` itself fails the step), then searched.
consumers_link_no_http() {
  local crate names
  for crate in kefu-fn-assign kefu-fn-automation kefu-fn-export kefu-fn-mail kefu-fn-notify kefu-fn-retention kefu-fn-timers kefu-fn-due; do
    names="$(cargo tree -p "$crate" -e normal --prefix none --format '{p}' | cut -d' ' -f1 | sort -u)"
    if [ -z "$names" ]; then
      echo "cargo tree listed nothing for $crate" >&2
      return 1
    fi
    local forbidden='axum|axum-core|tower-http|utoipa|utoipa-axum|lambda_http'
    [ "$crate" = kefu-fn-notify ] && forbidden='axum|axum-core|utoipa|utoipa-axum|lambda_http'
    if grep -qxE "$forbidden" <<<"$names"; then
      echo "$crate links an HTTP crate it must not (enable kefu-app/http only in the HTTP functions):" >&2
      grep -xE "$forbidden" <<<"$names" >&2
      return 1
    fi
  done
  # And they build that way: an OpenAPI attribute left outside `cfg_attr(feature = "http", …)` breaks only them.
  cargo check --quiet -p kefu-fn-assign -p kefu-fn-automation -p kefu-fn-export -p kefu-fn-notify \
    -p kefu-fn-retention -p kefu-fn-timers -p kefu-fn-mail -p kefu-fn-due
}

moto_pid=""
stop_moto() {
  if [ -n "$moto_pid" ] && kill -0 "$moto_pid" 2>/dev/null; then
    kill "$moto_pid" 2>/dev/null || true
    wait "$moto_pid" 2>/dev/null || true
  fi
}
trap stop_moto EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

start_moto() {
  local port
  port="$("$venv/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
  mkdir -p "$CARGO_TARGET_DIR"
  # infra/moto_server.py is moto_server with DynamoDB's per-operation isolation restored (see the file).
  "$venv/bin/python" infra/moto_server.py -H 127.0.0.1 -p "$port" >"$CARGO_TARGET_DIR/moto_server.log" 2>&1 &
  moto_pid=$!
  export KEFU_MOTO_ENDPOINT="http://127.0.0.1:$port"
  "$venv/bin/python" - "$KEFU_MOTO_ENDPOINT" "$moto_pid" <<'PY'
import os, sys, time, urllib.request
url, pid = sys.argv[1], int(sys.argv[2])
deadline = time.time() + 60
while True:
    try:
        urllib.request.urlopen(url + "/moto-api/", timeout=2)
        break
    except Exception as e:
        try:
            os.kill(pid, 0)
        except OSError:
            sys.exit("moto_server exited; see its log in $CARGO_TARGET_DIR/moto_server.log")
        if time.time() > deadline:
            sys.exit(f"moto_server did not answer on {url}: {e}")
        time.sleep(0.2)
print("moto_server answering on", url)
PY
}

test_log="$CARGO_TARGET_DIR/kefu-test-run.log"
run_rust_tests() {
  mkdir -p "$CARGO_TARGET_DIR"
  # shellcheck disable=SC2086 # KEFU_TEST_ARGS is deliberately split into words
  if cargo nextest --version >/dev/null 2>&1; then
    cargo nextest run --workspace --all-targets --no-fail-fast ${KEFU_TEST_ARGS:-} 2>&1 | tee "$test_log"
  else
    cargo test --workspace --all-targets --no-fail-fast ${KEFU_TEST_ARGS:-} 2>&1 | tee "$test_log"
  fi
}

# The closing line: the Rust test totals, so the last word of the run is how many tests passed.
print_totals() {
  local passed failed skipped lines
  # nextest ends with one "Summary ... N tests run: N passed, ..." line; cargo test prints one "test result"
  # line per test binary, which are added up.
  lines=$(grep -E 'Summary .*tests run' "$test_log" || grep -E '^test result:' "$test_log" || true)
  sum() { { grep -Eo "[0-9]+ $1" <<<"$lines" || true; } | awk '{s += $1} END {print s + 0}'; }
  passed=$(sum passed)
  failed=$(sum failed)
  skipped=$(sum skipped)
  if [ "${passed:-0}" -eq 0 ]; then
    echo "no Rust test ran" >&2
    exit 1
  fi
  printf 'tests: %s passed, %s failed, %s skipped\n' "$passed" "${failed:-0}" "${skipped:-0}"
}

run_doc_tests() {
  # nextest does not run doc tests; cargo test does (and says so when a crate has none).
  cargo test --workspace --doc --no-fail-fast
}

install_chromium() {
  # Playwright's own browser download does not work here: the browser tests drive Debian's Chromium. A CJK font
  # makes the zh-CN screenshots readable (the tests pass without one).
  if [ -x "${KEFU_CHROMIUM:-/usr/bin/chromium}" ] && [ -d /usr/share/fonts/truetype/wqy ]; then
    "${KEFU_CHROMIUM:-/usr/bin/chromium}" --version 2>/dev/null || true
    return
  fi
  local sudo=""
  if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium fonts-wqy-microhei >/dev/null
  "${KEFU_CHROMIUM:-/usr/bin/chromium}" --version
}

# The web client: dependencies from the lockfile, static checks, unit tests, the build and its size budgets, the
# API types against the kefu binary the Rust tests just built, then the browser tests (which start that binary).
web_checks() {
  (
    cd "$repo/web"
    export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
    export KEFU_BIN="${KEFU_BIN:-$CARGO_TARGET_DIR/debug/kefu}"
    test -x "$KEFU_BIN" || cargo build --bin kefu
    npm ci --no-audit --no-fund
    npm run lint
    npm run typecheck
    npm test
    npm run build
    npm run size
    npm run check:api
    npm run e2e
  )
}

sam_validate() {
  sam validate --lint --template infra/template.yaml
}

sam_build() {
  # The release profile (lto, one codegen unit) is for what ships; this build only proves that every function
  # builds for arm64 and that the template's build metadata is right, so it trades speed of the binaries for
  # speed of the build. All eleven functions share $CARGO_TARGET_DIR, so dependencies compile once.
  CARGO_PROFILE_RELEASE_LTO=off CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 \
    sam build --beta-features --template infra/template.yaml --build-dir "$CARGO_TARGET_DIR/sam-build"
  for fn in Api Intake Realtime Assign Automation Notify Mail Timers Due Retention Export; do
    test -x "$CARGO_TARGET_DIR/sam-build/${fn}Function/bootstrap" || {
      echo "sam build produced no bootstrap for ${fn}Function" >&2
      exit 1
    }
  done
  du -sh "$CARGO_TARGET_DIR"/sam-build/*Function/bootstrap
}

step "Python tools (moto, boto3, SAM CLI, cargo-lambda, zig) in $venv" install_python_tools
export PATH="$venv/bin:$PATH"
export KEFU_PYTHON="$venv/bin/python"
export AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-test}"
export AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-test}"
export AWS_REGION="${AWS_REGION:-us-east-1}"
export AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-$AWS_REGION}"

step "Rust tools (aarch64 target, cargo-nextest, cargo-deny)" install_rust_tools
step "Static checks (cargo fmt --check, clippy -D warnings, cargo deny licenses bans)" static_checks
step "moto_server" start_moto
step "Rust tests (cargo nextest run --workspace --all-targets)" run_rust_tests
step "Doc tests (cargo test --workspace --doc)" run_doc_tests
if [ "${KEFU_SKIP_WEB:-0}" = "1" ]; then
  section "web checks skipped (KEFU_SKIP_WEB=1)"
else
  step "Chromium (and a CJK font) for the browser tests" install_chromium
  step "Web client (npm ci, lint, typecheck, vitest, build, size budgets, API types, Playwright)" web_checks
fi
step "sam validate --lint" sam_validate
if [ "${KEFU_SKIP_SAM_BUILD:-0}" = "1" ]; then
  section "sam build skipped (KEFU_SKIP_SAM_BUILD=1)"
else
  step "sam build --beta-features (all functions, arm64)" sam_build
fi

printf '\nAll checks passed in %ss.\n' "$((SECONDS - total_start))"
print_totals
