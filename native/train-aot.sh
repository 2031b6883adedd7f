#!/usr/bin/env bash
# Trains the JDK AOT cache of the packaged service (target/quarkus-app/app.aot) on a real workload: starts it with
# production's JVM flags and -XX:AOTCacheOutput, lets it load MODEL_DIR and serve (aot-workload.sh), stops it with
# SIGTERM; the JVM writes the cache as it exits. (Quarkus' own build-time training stops the application before its
# start-up events, so it never loads a model.) ./mvnw package runs it with a generated checkpoint.
# usage: native/train-aot.sh APP_DIR MODEL_DIR
set -euo pipefail
app=$(realpath "${1:?usage: train-aot.sh APP_DIR MODEL_DIR}")
model=$(realpath "${2:?usage: train-aot.sh APP_DIR MODEL_DIR}")
java="${JAVA_HOME:?set JAVA_HOME to a JDK 24+}/bin/java"
source "$(dirname "$0")/aot-workload.sh"

log="$(dirname "$app")/aot-training.log"
rm -f "$app/app.aot"
cd "$app"
"$java" --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -XX:MaxVectorSize=32 \
  -XX:+UseSerialGC -Xms384m -Xmx384m -XX:AOTCacheOutput=app.aot \
  -Dquarkus.http.host=127.0.0.1 -Dquarkus.http.port=0 -Dquarkus.shutdown.delay-enabled=false \
  -Dallinone.model.path="$model" -jar quarkus-run.jar > "$log" 2>&1 &
pid=$!
trap 'kill -9 $pid 2>/dev/null || true' EXIT
port=""
for _ in $(seq 1 600); do # the port the service picked, from its start-up line
  port=$(sed -n 's|.*Listening on: http://127.0.0.1:\([0-9]*\).*|\1|p' "$log")
  [ -n "$port" ] && break
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.1
done
[ -n "$port" ] || { tail -20 "$log" >&2; echo "the training run did not start" >&2; exit 1; }
run_training_workload "$port" || { tail -20 "$log" >&2; exit 1; }
kill -TERM "$pid"
wait "$pid" || true
trap - EXIT
[ -s app.aot ] || { echo "no AOT cache was written; see $log" >&2; exit 1; }
echo "AOT cache trained on a workload: $app/app.aot ($(du -h app.aot | cut -f1))"
