#!/usr/bin/env bash
# Trains the JDK AOT cache of the packaged service (APP_DIR/app.aot) on a real workload: starts it with production's
# JVM flags (jvm.options) and -XX:AOTCacheOutput, lets it load MODEL_DIR and serve (aot-workload.sh), stops it with
# SIGTERM; the JVM writes the cache as it exits. (Quarkus' own build-time training stops the application before its
# start-up events, so it never loads a model.) ./mvnw package runs it with a generated checkpoint.
# The cache only maps for a JVM started with the same class path as written here, so run it from the directory the
# service is started from, with APP_DIR as the README's run command names it (target/quarkus-app); it checks at the
# end that such a start maps the cache.
# usage: native/train-aot.sh APP_DIR MODEL_DIR
set -euo pipefail
app=${1:?usage: train-aot.sh APP_DIR MODEL_DIR}
model=$(realpath "${2:?usage: train-aot.sh APP_DIR MODEL_DIR}")
java="${JAVA_HOME:?set JAVA_HOME to a JDK 24+}/bin/java"
here=$(cd "$(dirname "$0")" && pwd)
source "$here/aot-workload.sh"
log="$(dirname "$app")/aot-training.log"

# Starts the service with the given extra JVM flags, logging to $log; sets $pid and $port (the port it picked).
start_service() {
  "$java" @"$here/jvm.options" "$@" -Dquarkus.http.host=127.0.0.1 -Dquarkus.http.port=0 \
    -Dquarkus.shutdown.delay-enabled=false -Dallinone.model.path="$model" -jar "$app/quarkus-run.jar" > "$log" 2>&1 &
  pid=$!
  trap 'kill -9 $pid 2>/dev/null || true' EXIT
  port=""
  for _ in $(seq 1 3000); do # the port the service picked, from its start-up line (5 min: a busy machine)
    port=$(sed -n 's|.*Listening on: http://127.0.0.1:\([0-9]*\).*|\1|p' "$log")
    [ -n "$port" ] && return 0
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  tail -20 "$log" >&2
  return 1
}

rm -f "$app/app.aot"
start_service -XX:AOTCacheOutput="$app/app.aot" || { echo "the training run did not start" >&2; exit 1; }
run_training_workload "$port" || { tail -20 "$log" >&2; exit 1; }
kill -TERM "$pid"
wait "$pid" || true
[ -s "$app/app.aot" ] || { echo "no AOT cache was written; see $log" >&2; exit 1; }

# -XX:AOTMode=on: the JVM refuses to start unless it can map the cache.
start_service -XX:AOTCache="$app/app.aot" -XX:AOTMode=on \
  || { echo "the AOT cache does not map for a start like the README's; see $log" >&2; exit 1; }
kill -TERM "$pid"
wait "$pid" || true
trap - EXIT
echo "AOT cache trained on a workload: $app/app.aot ($(du -h "$app/app.aot" | cut -f1)); a start with it maps it"
