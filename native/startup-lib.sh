# Shared by the start-up measurements (sourced, not run).

# Polls until http://127.0.0.1:$1/q/health/live answers 200, then until /q/health/ready does, every 10 ms (at most
# 60 s); prints "live_ms ready_ms" counted from $2 (date +%s%N taken just before the start command).
# The polling uses only bash built-ins (/dev/tcp, read -t): a curl and a sleep process 100 times a second took a
# good part of one of this machine's two cores from the start being measured (ready came 0.7-1.1 s later).
await_live_and_ready() {
  local port=$1 start=$2 end_live="" end_ready="" tick
  exec {tick}<> <(:) # a pipe nothing is written to: `read -t` on it waits without a process
  for _ in $(seq 1 6000); do
    if [ -z "$end_live" ] && http_ok "$port" /q/health/live; then end_live=$(date +%s%N); fi
    if [ -n "$end_live" ] && http_ok "$port" /q/health/ready; then end_ready=$(date +%s%N); break; fi
    read -r -t 0.01 -u "$tick" _ || true
  done
  exec {tick}<&-
  [ -n "$end_ready" ] || { echo "not ready within 60 s" >&2; return 1; }
  echo "$(( (end_live - start) / 1000000 )) $(( (end_ready - start) / 1000000 ))"
}

# True when GET http://127.0.0.1:$1$2 answers 200 (HTTP/1.0 over bash's /dev/tcp; false while nothing listens).
http_ok() {
  local fd status
  { exec {fd}<> "/dev/tcp/127.0.0.1/$1"; } 2>/dev/null || return 1
  printf 'GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' "$2" >&"$fd"
  read -r -t 5 -u "$fd" _ status _ || status=""
  exec {fd}<&-
  [ "$status" = 200 ]
}

# Right after ready: the time of the first sentiment request (POST /api/sentiment) of http://127.0.0.1:$1, in ms.
first_request_ms() {
  curl -sf -o /dev/null -w '%{time_total}' "127.0.0.1:$1/api/sentiment" -H 'Content-Type: application/json' \
    -d '{"text":"第一次来这家店，服务真不错"}' | awk '{printf "%d", $1 * 1000}'
}

median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2 ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2)}'; }

# Runs `measure EXTRA...` $runs times per mode (without / with the AOT cache) and prints the medians; `measure`
# prints "live_ms ready_ms" and, optionally, a third column: the first request's time after ready.
# $1: the extra arguments that switch the cache on, as one string.
report_with_and_without_aot() {
  local with_flag=$1 mode results live ready first
  for mode in without with; do
    results=()
    for _ in $(seq 1 "$runs"); do
      if [ "$mode" = with ]; then results+=("$(measure "$with_flag")"); else results+=("$(measure "")"); fi
    done
    live=$(printf '%s\n' "${results[@]}" | cut -d' ' -f1 | median)
    ready=$(printf '%s\n' "${results[@]}" | cut -d' ' -f2 | median)
    first=""
    if printf '%s\n' "${results[@]}" | awk 'NF < 3 {missing = 1} END {exit missing}'; then
      first=", first sentiment request $(printf '%s\n' "${results[@]}" | cut -d' ' -f3 | median) ms after ready"
    fi
    echo "AOT cache $mode: first HTTP answer ${live} ms, ready ${ready} ms${first} (median of $runs; each: ${results[*]})"
  done
}
