#!/usr/bin/env bash
# Requests/s of GET /api/v1/availability under gunicorn -w 2, measured in the same run as a bare
# Flask "hello" app (bench/hello_app.py) under the same gunicorn settings, two ways:
#
#   cached single URL    one 7-day question asked again and again, answer cache on (default
#                        AVAILABILITY_CACHE_SECONDS=10): what a clinic's website asking the same
#                        question gets. Goal >= 0.40 x hello.
#   uncached varied mix  14-day questions over every online service, "any practitioner" and each
#                        practitioner, and 15 start days (240 distinct URLs, picked round-robin by
#                        bench/varied_mix.lua), with AVAILABILITY_CACHE_SECONDS=0: what every answer
#                        costs to compute, as a busy desk or several web processes see it.
#                        Goal >= 0.25 x hello.
#
#   bash bench/http.sh    (DURATION=10s ROUNDS=3 THREADS=2 CONNECTIONS=16 by default)
#
# Everything runs on 127.0.0.1 against a throwaway SQLite database in a temp dir; the servers
# are stopped on exit, whatever happens.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN="$ROOT/.venv/bin"
DURATION=${DURATION:-10s}
ROUNDS=${ROUNDS:-3}
THREADS=${THREADS:-2}
CONNECTIONS=${CONNECTIONS:-16}
WORKERS=2
PORT_FIRST=18730
PORT_LAST=18769

if ! command -v wrk >/dev/null; then
    echo "wrk is not installed (Debian: apt-get install wrk)" >&2
    exit 1
fi

WORK=$(mktemp -d /tmp/clinic-http-bench.XXXXXX)
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in "${PIDS[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The app reads its settings from the environment; an empty API_RATE_LIMIT switches the limit
# off, which matters here: 429s are cheap and would flatter the figure.
export DATABASE_URL="sqlite:///$WORK/clinic.sqlite"
export SECRET_KEY=bench-secret
export API_RATE_LIMIT=
export LOGIN_RATE_LIMIT=
export PUBLIC_BASE_URL=http://127.0.0.1
export CLINIC_TIMEZONE=Europe/London
cd "$ROOT"

"$BIN/flask" --app wsgi db upgrade >"$WORK/upgrade.log" 2>&1 || {
    cat "$WORK/upgrade.log" >&2
    exit 1
}

# A small clinic (3 practitioners, 2 rooms, the 4 services) and two bookings on each working day
# of the coming four weeks, made through the booking service so they are what a real clinic
# holds. It also writes the varied mix's URLs, one a line, for bench/varied_mix.lua.
MIX_DAYS=15
"$BIN/python" - "$WORK/mix.txt" "$MIX_DAYS" <<'PY'
import sys
from datetime import datetime, time, timedelta

from clinic import create_app
from clinic.booking.services import clinic_timezone, online_services, practitioners_for
from clinic.clock import utcnow
from clinic.errors import SlotUnavailable
from tests.factories import make_booking, make_clinic, patient_details

mix_file, mix_days = sys.argv[1], int(sys.argv[2])
app = create_app()
with app.app_context():
    make_clinic(practitioners=3, rooms=2)
    tz = clinic_timezone()
    tomorrow = utcnow().astimezone(tz).date() + timedelta(days=1)
    for offset in range(28):
        day = tomorrow + timedelta(days=offset)
        for n, hour in enumerate((10, 14)):
            start = datetime.combine(day, time(hour), tzinfo=tz)
            patient = patient_details(
                full_name=f"Bench Patient {offset}-{n}", phone=f"+4479111{offset * 10 + n:05d}"
            )
            try:
                make_booking("microneedling", start, patient=patient)
            except SlotUnavailable:
                pass  # Sundays: nobody works
    paths = []
    for service in online_services():
        choices = [""] + [f"&practitioner={p.id}" for p in practitioners_for(service)]
        for choice in choices:
            for offset in range(mix_days):
                first = tomorrow + timedelta(days=offset)
                last = first + timedelta(days=13)
                paths.append(
                    f"/api/v1/availability?service={service.slug}&from={first}&to={last}{choice}"
                )
    with open(mix_file, "w") as out:
        out.write("\n".join(paths) + "\n")
PY
MIX_URLS=$(sort -u "$WORK/mix.txt" | wc -l)
if [ "$MIX_URLS" -lt 200 ]; then
    echo "the varied mix holds only $MIX_URLS distinct URLs (want >= 200)" >&2
    exit 1
fi

FROM=$(TZ=Europe/London date -d tomorrow +%F)
TO=$(TZ=Europe/London date -d "$FROM + 6 days" +%F)
AVAILABILITY_PATH="/api/v1/availability?service=microneedling&from=$FROM&to=$TO"

port_in_use() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

free_port() {
    local port
    for port in $(seq "$1" "$PORT_LAST"); do
        if ! port_in_use "$port"; then
            echo "$port"
            return 0
        fi
    done
    echo "no free port in $PORT_FIRST..$PORT_LAST" >&2
    return 1
}

# start_server NAME PORT CHDIR APP: gunicorn in the background, ready when it answers READY_PATH.
start_server() {
    local name=$1 port=$2 chdir=$3 app=$4 ready_path=$5
    "$BIN/gunicorn" --workers "$WORKERS" --bind "127.0.0.1:$port" --chdir "$chdir" \
        "$app" >"$WORK/$name.log" 2>&1 &
    local pid=$!
    PIDS+=("$pid")
    local attempt
    for attempt in $(seq 1 100); do
        if curl -fsS -o /dev/null "http://127.0.0.1:$port$ready_path" 2>/dev/null; then
            return 0
        fi
        if ! kill -0 "$pid" 2>/dev/null; then
            break
        fi
        sleep 0.2
    done
    echo "$name did not become ready on port $port (attempt $attempt); its log:" >&2
    cat "$WORK/$name.log" >&2
    return 1
}

# measure URL [LUA_SCRIPT PATHS_FILE]: requests/s from one wrk run after a short warm-up; fails
# on any non-2xx answer or socket error.
measure() {
    local url=$1 out="$WORK/wrk.txt"
    local script=()
    if [ $# -gt 1 ]; then
        script=(-s "$2" "$url" -- "$3")
    else
        script=("$url")
    fi
    wrk -t "$THREADS" -c "$CONNECTIONS" -d 2s --timeout 10s "${script[@]}" >/dev/null
    wrk -t "$THREADS" -c "$CONNECTIONS" -d "$DURATION" --timeout 10s --latency "${script[@]}" >"$out"
    if grep -qE "Non-2xx|Socket errors" "$out"; then
        echo "wrk saw failures for $url:" >&2
        cat "$out" >&2
        return 1
    fi
    awk '/^Requests\/sec:/ {print $2}' "$out"
    awk '/^ +50%/ {p50=$2} /^ +99%/ {p99=$2} END {print p50, p99}' "$out" >"$WORK/latency.txt"
}

API_PORT=$(free_port "$PORT_FIRST")
start_server api "$API_PORT" "$ROOT" wsgi:app "/api/v1/services"
HELLO_PORT=$(free_port $((API_PORT + 1)))
start_server hello "$HELLO_PORT" "$ROOT/bench" hello_app:app "/hello"
# The same app with the availability answer cache off: what every answer costs to compute.
UNCACHED_PORT=$(free_port $((HELLO_PORT + 1)))
AVAILABILITY_CACHE_SECONDS=0 start_server uncached "$UNCACHED_PORT" "$ROOT" wsgi:app "/api/v1/services"

API_URL="http://127.0.0.1:$API_PORT$AVAILABILITY_PATH"
SLOTS=$(curl -fsS "$API_URL" | "$BIN/python" -c 'import json, sys; print(len(json.load(sys.stdin)["slots"]))')
if [ "$SLOTS" -eq 0 ]; then
    echo "the availability answer holds no slots; nothing worth measuring" >&2
    exit 1
fi

echo "wrk -t $THREADS -c $CONNECTIONS -d $DURATION; gunicorn --workers $WORKERS (sync) on 127.0.0.1;" \
    "$ROUNDS rounds taking turns, best of each kept"
# The four take turns round by round, so load from elsewhere on the machine hits them alike;
# each keeps its best round. Prints "name rps p50 p99" per measurement to $WORK/rounds.txt.
: >"$WORK/rounds.txt"
for round in $(seq 1 "$ROUNDS"); do
    for name in hello services cached mix; do
        case $name in
            hello) rps=$(measure "http://127.0.0.1:$HELLO_PORT/hello") ;;
            services) rps=$(measure "http://127.0.0.1:$API_PORT/api/v1/services") ;;
            cached) rps=$(measure "$API_URL") ;;
            mix) rps=$(measure "http://127.0.0.1:$UNCACHED_PORT" "$ROOT/bench/varied_mix.lua" "$WORK/mix.txt") ;;
        esac
        read -r p50 p99 <"$WORK/latency.txt"
        echo "$name $rps $p50 $p99" >>"$WORK/rounds.txt"
        printf '    round %s %-9s %10.1f req/s\n' "$round" "$name" "$rps"
    done
done
best() { # NAME: "rps p50 p99" of the round with the most requests/s
    awk -v name="$1" '$1 == name && $2 > rps {rps = $2; line = $2 " " $3 " " $4} END {print line}' \
        "$WORK/rounds.txt"
}
read -r HELLO_RPS HELLO_P50 HELLO_P99 <<<"$(best hello)"
read -r SERVICES_RPS SERVICES_P50 SERVICES_P99 <<<"$(best services)"
read -r API_RPS API_P50 API_P99 <<<"$(best cached)"
read -r MIX_RPS MIX_P50 MIX_P99 <<<"$(best mix)"
printf '  hello                GET /hello: %10.1f req/s (p50 %s, p99 %s)\n' \
    "$HELLO_RPS" "$HELLO_P50" "$HELLO_P99"
# Reference only: one small query through the same stack, the app's fixed cost per request.
printf '  (reference)          GET /api/v1/services: %10.1f req/s (p50 %s, p99 %s)\n' \
    "$SERVICES_RPS" "$SERVICES_P50" "$SERVICES_P99"
printf '  cached single URL    GET %s (%s slots, AVAILABILITY_CACHE_SECONDS=10): %10.1f req/s (p50 %s, p99 %s)\n' \
    "$AVAILABILITY_PATH" "$SLOTS" "$API_RPS" "$API_P50" "$API_P99"
printf '  uncached varied mix  %s distinct 14-day URLs (AVAILABILITY_CACHE_SECONDS=0): %10.1f req/s (p50 %s, p99 %s)\n' \
    "$MIX_URLS" "$MIX_RPS" "$MIX_P50" "$MIX_P99"
# Exit status 1 when a goal is missed, like the other benchmarks.
awk -v cached="$API_RPS" -v mix="$MIX_RPS" -v hello="$HELLO_RPS" -v services="$SERVICES_RPS" 'BEGIN {
    c = cached / hello
    m = mix / hello
    printf "  ratio services/hello (reference):  %.3f\n", services / hello
    printf "  ratio cached single URL/hello:   %.3f (goal >= 0.40) -> %s\n", c, (c >= 0.40 ? "OK" : "MISSED")
    printf "  ratio uncached varied mix/hello: %.3f (goal >= 0.25) -> %s\n", m, (m >= 0.25 ? "OK" : "MISSED")
    exit (c >= 0.40 && m >= 0.25 ? 0 : 1)
}'
