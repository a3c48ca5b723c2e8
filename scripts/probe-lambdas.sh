#!/usr/bin/env bash
# Measures every Kefu Lambda against a hello-world Rust Lambda built the same way: init (exec → first
# `GET /next`), first event, peak memory (VmHWM), size and zipped size. Functions run against moto with
# resources provisioned from infra/template.yaml, on this machine's architecture (x86_64 here; AWS runs arm64).
#
#   scripts/probe-lambdas.sh            # release profile as shipped (lto, one codegen unit): slow to build
#   KEFU_PROBE_FAST=1 scripts/probe-lambdas.sh   # lto off, 16 codegen units (as the CI sam build check)
#
# Prints a Markdown table; progress goes to stderr.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
venv="${KEFU_VENV:-$repo/.venv}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$repo/target}"
runs="${KEFU_PROBE_RUNS:-5}"

if [ ! -x "$venv/bin/moto_server" ]; then
  python3 -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet 'moto[server]>=5.1,<6' 'boto3>=1.35,<2' 'aws-sam-translator' pyyaml
fi

if [ "${KEFU_PROBE_FAST:-0}" = "1" ]; then
  export CARGO_PROFILE_RELEASE_LTO=off CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16
  profile_note="release, lto off, 16 codegen units"
else
  profile_note="release as shipped (lto, 1 codegen unit, strip)"
fi
# As the Lambda builds (.cargo/config.toml sets it for aarch64): aws-lc without CPU-jitter entropy, which a cold
# process would otherwise pay at its first TLS handshake.
export AWS_LC_SYS_NO_JITTER_ENTROPY=1
echo "building ($profile_note)..." >&2
functions=(api intake realtime assign automation notify timers retention export)
cargo build --release --quiet --bin kefu -p kefu-local -p kefu-lambda-hello $(printf -- '-p kefu-fn-%s ' "${functions[@]}") >&2

port="$("$venv/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
"$venv/bin/python" infra/moto_server.py -H 127.0.0.1 -p "$port" >"$CARGO_TARGET_DIR/probe-moto.log" 2>&1 &
moto_pid=$!
trap 'kill $moto_pid 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$port/moto-api/" >/dev/null 2>&1 && break; sleep 0.2; done
endpoint="http://127.0.0.1:$port"
stack_json="$("$venv/bin/python" infra/moto_stack.py --endpoint "$endpoint" --stack "probe-$$")"
mapfile -t env_args < <("$venv/bin/python" -c '
import json, sys
for k, v in json.loads(sys.argv[1])["environment"].items():
    print(f"--env={k}={v}")' "$stack_json")
env_args+=("--env=AWS_ENDPOINT_URL=$endpoint" "--env=AWS_ACCESS_KEY_ID=test" "--env=AWS_SECRET_ACCESS_KEY=test"
  "--env=AWS_REGION=us-east-1" "--env=KEFU_BOOTSTRAP_TOKEN=probe")

event_of() {
  case "$1" in
    api | intake) echo infra/events/http-health.json ;;
    realtime) echo infra/events/ws-default.json ;;
    assign | automation | notify | export) echo infra/events/sqs-tenant-created.json ;;
    *) echo infra/events/schedule.json ;;
  esac
}

bin="$CARGO_TARGET_DIR/release"
printf '| function | event | init (median) | first event (median) | peak RSS | size | zipped | answered |\n'
printf '|---|---|---:|---:|---:|---:|---:|---|\n'
for name in lambda-hello "${functions[@]}"; do
  exe="$bin/kefu-$name"
  event="$(event_of "$name")"
  summary="$("$bin/kefu" probe-lambda --binary "$exe" --event "$event" --runs "$runs" "${env_args[@]}")"
  "$venv/bin/python" -c '
import json, sys
d = json.loads(sys.argv[1])
ok = "ok" if all(r["ok"] for r in d["runs"]) else "error"
event = sys.argv[3].split("/")[-1]
mib = 1048576
cells = [sys.argv[2], event, "%.1f ms" % d["init_ms_median"], "%.1f ms" % d["first_event_ms_median"],
         "%.1f MiB" % d["peak_rss_mib_max"], "%.1f MiB" % (d["size_bytes"] / mib), "%.1f MiB" % (d["zipped_bytes"] / mib), ok]
print("| " + " | ".join(cells) + " |")
' "$summary" "$name" "$event"
done
echo "($profile_note; $runs cold starts each; $(uname -m); $(nproc) cores)"
