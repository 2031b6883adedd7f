#!/usr/bin/env bash
# Measures time from `java` start to the first HTTP answer (/q/health/live) and to ready (/q/health/ready) of the
# packaged service, N times with and N times without the AOT cache; prints medians.
# usage: native/measure-startup.sh MODEL_DIR [RUNS]   (after a package with the AOT profile, see README)
set -euo pipefail
model=$(realpath "$1")
runs=${2:-5}
java="${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}/bin/java"
flags=(--add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -XX:MaxVectorSize=32 -XX:+UseSerialGC -Xmx384m)
cd "$(dirname "$0")/../target/quarkus-app"
port=18181

measure() { # $@: extra JVM flags; prints "live_ms ready_ms"
  local start end_live="" end_ready=""
  start=$(date +%s%N)
  "$java" "${flags[@]}" "$@" -Dquarkus.http.port=$port -Dallinone.model.path="$model" -jar quarkus-run.jar > /tmp/startup-run.log 2>&1 &
  local pid=$!
  for _ in $(seq 1 3000); do
    if [ -z "$end_live" ] && curl -sf -o /dev/null "localhost:$port/q/health/live"; then end_live=$(date +%s%N); fi
    if [ -n "$end_live" ] && curl -sf -o /dev/null "localhost:$port/q/health/ready"; then end_ready=$(date +%s%N); break; fi
    sleep 0.01
  done
  kill "$pid"; wait "$pid" 2>/dev/null || true
  echo "$(( (end_live - start) / 1000000 )) $(( (end_ready - start) / 1000000 ))"
}

median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2 ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2)}'; }

for mode in without with; do
  extra=()
  [ "$mode" = with ] && extra=(-XX:AOTCache=app.aot)
  results=()
  for _ in $(seq 1 "$runs"); do results+=("$(measure "${extra[@]}")"); done
  live=$(printf '%s\n' "${results[@]}" | cut -d' ' -f1 | median)
  ready=$(printf '%s\n' "${results[@]}" | cut -d' ' -f2 | median)
  echo "AOT cache $mode: first HTTP answer ${live} ms, ready ${ready} ms (median of $runs)"
done
