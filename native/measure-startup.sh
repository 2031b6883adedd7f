#!/usr/bin/env bash
# Measures time from `java` start to the first HTTP answer (/q/health/live) and to ready (/q/health/ready) of the
# packaged service, N times with and N times without the AOT cache; prints medians.
# usage: native/measure-startup.sh MODEL_DIR [RUNS]   (after ./mvnw package, see README "Fast start")
set -euo pipefail
model=$(realpath "$1")
runs=${2:-5}
java="${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}/bin/java"
flags=(--add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -XX:MaxVectorSize=32 -XX:+UseSerialGC -Xms384m -Xmx384m)
source "$(dirname "$0")/startup-lib.sh"
cd "$(dirname "$0")/../target/quarkus-app"
port=18181

measure() { # $1: extra JVM flag or ""; prints "live_ms ready_ms"
  local start pid
  start=$(date +%s%N)
  "$java" "${flags[@]}" ${1:+"$1"} -Dquarkus.http.port=$port -Dallinone.model.path="$model" -jar quarkus-run.jar > /tmp/startup-run.log 2>&1 &
  pid=$!
  await_live_and_ready "$port" "$start"
  kill "$pid"; wait "$pid" 2>/dev/null || true
}

report_with_and_without_aot -XX:AOTCache=app.aot
