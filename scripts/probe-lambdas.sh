#!/usr/bin/env bash
# Measures every Kefu Lambda against a hello-world Rust Lambda built the same way: init (exec → first
# `GET /next`), first event, a second (warm) event in the same process, peak memory (VmHWM), size and zipped
# size. Functions run against moto with resources provisioned from infra/template.yaml, on this machine's
# architecture (x86_64 here; AWS runs arm64). Their AWS calls go over HTTPS to `kefu tls-front`, a TLS endpoint in
# front of moto, which they trust through SSL_CERT_FILE: the first AWS call of a process pays a real handshake.
#
#   scripts/probe-lambdas.sh            # release profile as shipped (lto, one codegen unit): slow to build
#   KEFU_PROBE_FAST=1 scripts/probe-lambdas.sh   # lto off, 16 codegen units (as the CI sam build check)
#   KEFU_PROBE_TLS=0 scripts/probe-lambdas.sh    # plain HTTP to moto, as before the TLS front
#   KEFU_PROBE_FUNCTIONS="notify timers" ...     # only these functions (hello-world always runs)
#   KEFU_PROBE_JITTER=1 ...                      # hello-world and the functions WITH aws-lc's CPU-jitter entropy
#
# Prints a Markdown table; progress goes to stderr. The front's log (one line per handshake) is left in
# $CARGO_TARGET_DIR/probe-front.log.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
venv="${KEFU_VENV:-$repo/.venv}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$repo/target}"
runs="${KEFU_PROBE_RUNS:-5}"
tls="${KEFU_PROBE_TLS:-1}"

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
fn_profile=release
if [ "${KEFU_PROBE_JITTER:-0}" = "1" ]; then
  # To show what the setting saves: hello-world and the functions built without it, in a profile of their own
  # (target/probe-jitter), since it rebuilds aws-lc and every crate above it and the usual build stays cached.
  fn_profile=probe-jitter
  export CARGO_PROFILE_PROBE_JITTER_INHERITS=release
  if [ "${KEFU_PROBE_FAST:-0}" = "1" ]; then
    export CARGO_PROFILE_PROBE_JITTER_LTO=off CARGO_PROFILE_PROBE_JITTER_CODEGEN_UNITS=16
  fi
  profile_note="$profile_note; functions WITH aws-lc's CPU-jitter entropy"
fi
echo "building ($profile_note)..." >&2
read -r -a functions <<<"${KEFU_PROBE_FUNCTIONS:-api intake realtime assign automation notify timers retention export}"
# The kefu binary, hello-world and each function in a build of its own, as `sam build` builds each function: one
# build of them all would unify the features of shared crates (kefu-local's `http` and `webhooks` in every
# consumer, axum and reqwest with them), and the binaries measured would not be the ones that ship.
cargo build --release --quiet -p kefu-local >&2
for package in kefu-lambda-hello $(printf -- 'kefu-fn-%s ' "${functions[@]}"); do
  if [ "$fn_profile" = "release" ]; then
    cargo build --release --quiet -p "$package" >&2
  else
    env -u AWS_LC_SYS_NO_JITTER_ENTROPY cargo build --profile "$fn_profile" --quiet -p "$package" >&2
  fi
done

port="$("$venv/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
"$venv/bin/python" infra/moto_server.py -H 127.0.0.1 -p "$port" >"$CARGO_TARGET_DIR/probe-moto.log" 2>&1 &
moto_pid=$!
front_pid=""
trap 'kill $moto_pid $front_pid 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$port/moto-api/" >/dev/null 2>&1 && break; sleep 0.2; done
endpoint="http://127.0.0.1:$port"
stack_json="$("$venv/bin/python" infra/moto_stack.py --endpoint "$endpoint" --stack "probe-$$")"
bin="$CARGO_TARGET_DIR/release"
function_endpoint="$endpoint"
tls_env=()
front_log="$CARGO_TARGET_DIR/probe-front.log"
[ "$tls" = "1" ] || front_log=/dev/null
if [ "$tls" = "1" ]; then
  # The TLS front: writes its authority's certificate once it listens. The functions trust that one
  # certificate (SSL_CERT_FILE replaces the system store), and the SDK connects to https://127.0.0.1:<port>.
  cert="$CARGO_TARGET_DIR/probe-front.pem"
  rm -f "$cert"
  tls_port="$("$venv/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
  RUST_LOG=info "$bin/kefu" tls-front --upstream "$endpoint" --cert-out "$cert" --listen "127.0.0.1:$tls_port" \
    >"$front_log" 2>&1 &
  front_pid=$!
  for _ in $(seq 1 100); do [ -s "$cert" ] && break; sleep 0.1; done
  [ -s "$cert" ] || { echo "kefu tls-front did not start; see $front_log" >&2; exit 1; }
  function_endpoint="https://127.0.0.1:$tls_port"
  tls_env=("--env=SSL_CERT_FILE=$cert")
fi
mapfile -t env_args < <("$venv/bin/python" -c '
import json, sys
for k, v in json.loads(sys.argv[1])["environment"].items():
    print(f"--env={k}={v}")' "$stack_json")
env_args+=("--env=AWS_ENDPOINT_URL=$function_endpoint" "--env=AWS_ACCESS_KEY_ID=test" "--env=AWS_SECRET_ACCESS_KEY=test"
  "--env=AWS_REGION=us-east-1" "--env=KEFU_BOOTSTRAP_TOKEN=probe" "${tls_env[@]}")

# TLS handshakes the front has completed so far (one log line each).
handshakes() { grep -c 'tls-front: handshake' "$front_log" || true; }

event_of() {
  case "$1" in
    api | intake) echo infra/events/http-health.json ;;
    realtime) echo infra/events/ws-default.json ;;
    assign | automation | notify | export) echo infra/events/sqs-tenant-created.json ;;
    *) echo infra/events/schedule.json ;;
  esac
}

printf '| function | event | init (median) | init − hello | first event (median) | second event (median) | first − second (median) | TLS handshakes per process (median time) | peak RSS | size | zipped | answered |\n'
printf '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n'
hello_init=""
for name in lambda-hello "${functions[@]}"; do
  exe="$CARGO_TARGET_DIR/$fn_profile/kefu-$name"
  event="$(event_of "$name")"
  before="$(handshakes)"
  summary="$("$bin/kefu" probe-lambda --binary "$exe" --event "$event" --runs "$runs" "${env_args[@]}")"
  [ -n "$hello_init" ] || hello_init="$("$venv/bin/python" -c 'import json, sys; print(json.loads(sys.argv[1])["init_ms_median"])' "$summary")"
  "$venv/bin/python" -c '
import json, re, sys
d = json.loads(sys.argv[1])
name, event, hello, runs = sys.argv[2], sys.argv[3].split("/")[-1], float(sys.argv[4]), len(d["runs"])
# This function'"'"'s handshakes: the front'"'"'s log lines after the ones counted before it ran.
lines = [l for l in open(sys.argv[5]) if "tls-front: handshake" in l][int(sys.argv[6]):]
us = sorted(int(m.group(1)) for m in (re.search(r"\"handshake_us\":(\d+)", l) for l in lines) if m)
tls = sys.argv[7] == "1"
ok = "ok" if all(r["ok"] for r in d["runs"]) else "error"
mib = 1048576
ms = lambda v: "%.1f ms" % v
cells = [name, event, ms(d["init_ms_median"]), "%+.1f ms" % (d["init_ms_median"] - hello),
         ms(d["first_event_ms_median"]), ms(d["second_event_ms_median"]), ms(d["first_minus_second_ms_median"]),
         ("%.1f (%.1f ms)" % (len(lines) / runs, us[len(us) // 2] / 1000) if us else "%.1f" % (len(lines) / runs)) if tls else "-",
         "%.1f MiB" % d["peak_rss_mib_max"], "%.1f MiB" % (d["size_bytes"] / mib), "%.1f MiB" % (d["zipped_bytes"] / mib), ok]
print("| " + " | ".join(cells) + " |")
' "$summary" "$name" "$event" "$hello_init" "$front_log" "$before" "$tls"
done
transport="plain HTTP to moto"
[ "$tls" = "1" ] && transport="HTTPS through kefu tls-front to moto; a handshake's time is the front's, from accept to done"
echo "($profile_note; $transport; $runs cold starts each, two events per process; $(uname -m); $(nproc) cores)"
