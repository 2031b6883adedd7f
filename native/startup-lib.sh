# Shared by the start-up measurements (sourced, not run).

# Polls until http://127.0.0.1:$1/q/health/live answers, then until /q/health/ready does (at most 60 s);
# prints "live_ms ready_ms" counted from $2 (date +%s%N taken just before the start command).
await_live_and_ready() {
  local port=$1 start=$2 end_live="" end_ready=""
  for _ in $(seq 1 6000); do
    if [ -z "$end_live" ] && curl -sf -o /dev/null "127.0.0.1:$port/q/health/live"; then end_live=$(date +%s%N); fi
    if [ -n "$end_live" ] && curl -sf -o /dev/null "127.0.0.1:$port/q/health/ready"; then end_ready=$(date +%s%N); break; fi
    sleep 0.01
  done
  [ -n "$end_ready" ] || { echo "not ready within 60 s" >&2; return 1; }
  echo "$(( (end_live - start) / 1000000 )) $(( (end_ready - start) / 1000000 ))"
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
