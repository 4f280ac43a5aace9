#!/usr/bin/env bash
# bench.sh: the load harness behind `make bench` (docs/PERFORMANCE.md,
# "Load: 32 concurrent clients"). On a private PostgreSQL under a temporary
# DATA_DIR (never ./var) it migrates, seeds the demo users, BENCH_APPS
# synthetic applications with their documents and BENCH_POSTINGS ledger
# postings, starts bin/server on a free loopback port, and drives it with
# bin/loadgen. Everything it started is stopped on exit.
#
#   make bench                                        # 100,000 applications, 1,000,000 postings
#   BENCH_APPS=2000 BENCH_POSTINGS=20000 make bench   # a quick run
#
# Environment:
#   BENCH_APPS       synthetic applications (default 100000)
#   BENCH_POSTINGS   synthetic ledger postings (default 1000000)
#   BENCH_CLIENTS    concurrent signed-in clients (default 32)
#   BENCH_DURATION   per scenario (default 15s)
#   BENCH_DOCUMENTS  "off": seed the applications without their documents
#                    (seed -synthetic -documents=false: about 30 s instead
#                    of 12 min for 100,000; the checklists are then empty)
#   BENCH_WRITES     commits per second while each scenario runs (default 0:
#                    read-only; loadgen -writes)
#   BENCH_WRITE_KIND what those commits are (loadgen -write-kind): comment
#                    (default; a staff comment, which no to-do list reads) or
#                    liaison (an application's liaison assigned again: a
#                    write to applications, which the staff lists read)
#   BENCH_SERVER     run this server binary instead of building bin/server
#                    (to compare two builds on the same kept data)
#   BENCH_SCENARIOS  loadgen -scenarios (default: all of them, including the
#                    staff and approver to-do home pages)
#   BENCH_DIR        keep the data here and reuse it on the next run with the
#                    same sizes (default: a temporary directory, removed on exit)
set -euo pipefail
cd "$(dirname "$0")/.."

apps=${BENCH_APPS:-100000}
postings=${BENCH_POSTINGS:-1000000}
clients=${BENCH_CLIENTS:-32}
duration=${BENCH_DURATION:-15s}
writes=${BENCH_WRITES:-0}
documents=${BENCH_DOCUMENTS:-on}
case "$documents" in
  on) docflag= ; docstamp= ;;
  off) docflag=-documents=false; docstamp=-nodocs ;;
  *) echo "bench: BENCH_DOCUMENTS must be on or off" >&2; exit 1 ;;
esac

keep=1
dir=${BENCH_DIR:-}
if [ -z "$dir" ]; then
  keep=0
  dir=$(mktemp -d /tmp/ite-bench.XXXXXX)
fi
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)

unset DATABASE_URL
export DATA_DIR="$dir/var" APP_ENV=development LOG_LEVEL=warn
# As root the private cluster lives in /var/lib/ite/postgres-<hash of DATA_DIR>
# (see clusterDir in cmd/server/config.go); otherwise under DATA_DIR.
cluster="$DATA_DIR/postgres"
if [ "$(id -u)" = 0 ]; then
  cluster="/var/lib/ite/postgres-$(printf %s "$DATA_DIR" | sha256sum | cut -c1-12)"
fi

server_pid=
cleanup() {
  status=$?
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null || true
    for _ in $(seq 1 60); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.5; done
    kill -0 "$server_pid" 2>/dev/null && kill -KILL "$server_pid" 2>/dev/null || true
  fi
  if [ "$keep" = 0 ]; then
    rm -rf "$dir" "$cluster"
  else
    echo "bench: data kept in $dir (cluster $cluster)" >&2
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

step() { echo "bench: $(date +%T) $*" >&2; }

scripts/ensure-packages.sh postgres
server=${BENCH_SERVER:-bin/server}
if [ -z "${BENCH_SERVER:-}" ]; then
  step "building bin/server and bin/loadgen"
  make -s build
else
  step "using $server; building bin/loadgen"
fi
go build -trimpath -o bin/loadgen ./cmd/loadgen

stamp="$dir/seeded-$apps-$postings$docstamp"
if [ -f "$stamp" ]; then
  step "reusing the data in $dir ($apps applications, $postings postings)"
  # Data kept from an earlier run may predate the newest migrations.
  "$server" migrate >&2
else
  [ -d "$DATA_DIR" ] && { echo "bench: $DATA_DIR holds data of other sizes; remove it or pick another BENCH_DIR" >&2; exit 1; }
  step "migrating a private PostgreSQL in $cluster"
  "$server" migrate >&2
  "$server" seed >/dev/null
  step "seeding $apps synthetic applications (documents $documents)"
  /usr/bin/time -f 'bench: seed -synthetic: %e s wall, %U s user, %S s sys, %M KiB max RSS' \
    "$server" seed -synthetic "$apps" $docflag | grep -v '^合成数据：已写入' >&2
  step "seeding $postings ledger postings"
  /usr/bin/time -f 'bench: ledger synthetic: %e s wall, %U s user, %S s sys, %M KiB max RSS' \
    "$server" ledger synthetic -postings "$postings" >&2
  touch "$stamp"
fi

# A free loopback port: probing a port nobody listens on is refused at once.
port=
for _ in $(seq 1 50); do
  p=$((20000 + RANDOM % 40000))
  if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then port=$p; break; fi
done
[ -n "$port" ] || { echo "bench: no free loopback port found" >&2; exit 1; }

step "starting $server on 127.0.0.1:$port"
LISTEN_ADDR="127.0.0.1:$port" BASE_URL="http://127.0.0.1:$port" \
  "$server" serve >"$dir/server.out" 2>"$dir/server.log" &
server_pid=$!
ready=0
for _ in $(seq 1 240); do
  if curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1; then ready=1; break; fi
  kill -0 "$server_pid" 2>/dev/null || break
  sleep 0.5
done
if [ "$ready" != 1 ]; then
  echo "bench: the server did not become ready; its log:" >&2
  tail -n 30 "$dir/server.log" >&2
  exit 1
fi

step "load: $clients clients, $duration per scenario"
echo "Data: $apps synthetic applications (documents $documents), $postings ledger postings, page cache ${PAGE_CACHE:-on}, $writes commits/s; $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg) before the run."
echo
bin/loadgen -target "http://127.0.0.1:$port" -clients "$clients" -duration "$duration" -writes "$writes" \
  -write-kind "${BENCH_WRITE_KIND:-comment}" \
  ${BENCH_SCENARIOS:+-scenarios "$BENCH_SCENARIOS"}
