#!/usr/bin/env bash
# Measures time from `java` start to the first HTTP answer (/q/health/live) and to ready (/q/health/ready) of the
# packaged service, N times with and N times without the AOT cache, and how long the first sentiment request right
# after ready takes; prints medians (and each run's figures).
# usage: native/measure-startup.sh MODEL_DIR [RUNS]   (after ./mvnw package, see docs/fast-start.md)
set -euo pipefail
model=$(realpath "$1")
runs=${2:-5}
java="${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}/bin/java"
flags=("@native/jvm.options") # production's JVM flags
source "$(dirname "$0")/startup-lib.sh"
cd "$(dirname "$0")/.." # started as the README's run command starts it: the cache only maps for that class path
port=18181

measure() { # $1: extra JVM flags or ""; prints "live_ms ready_ms first_request_ms"
  local start pid
  start=$(date +%s%N)
  # shellcheck disable=SC2086 # $1 holds several flags
  "$java" "${flags[@]}" $1 -Dquarkus.http.port=$port -Dallinone.model.path="$model" \
    -jar target/quarkus-app/quarkus-run.jar > /tmp/startup-run.log 2>&1 &
  pid=$!
  echo "$(await_live_and_ready "$port" "$start") $(first_request_ms "$port")"
  kill "$pid"; wait "$pid" 2>/dev/null || true
}

# -XX:AOTMode=on: the JVM refuses to start unless it maps the cache, so "with" really is with it.
report_with_and_without_aot "-XX:AOTCache=target/quarkus-app/app.aot -XX:AOTMode=on"
