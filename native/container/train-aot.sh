#!/usr/bin/env bash
# Trains the image's JDK AOT cache inside the image itself (its jlink JVM is the one that must map the cache): runs
# IMAGE with MODEL_DIR at /models and -XX:AOTCacheOutput, serves the training workload (../aot-workload.sh), stops
# it with SIGTERM so the JVM writes the cache, then rebuilds IMAGE with the cache in /app and
# JAVA_TOOL_OPTIONS=-XX:AOTCache=app.aot, under the same tags. ./mvnw package -Pcontainer runs it.
# usage: native/container/train-aot.sh IMAGE MODEL_DIR WORK_DIR [EXTRA_TAG...]
set -euo pipefail
image=${1:?usage: train-aot.sh IMAGE MODEL_DIR WORK_DIR [EXTRA_TAG...]}
model=$(realpath "${2:?model directory}")
work=$(realpath -m "${3:?work directory}")
shift 3
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../aot-workload.sh"
name=allinone-aot-training-$$

rm -rf "$work"
mkdir -p "$work/aot"
chmod 0777 "$work/aot" # written by the image's user, 185
podman run --detach --name "$name" --publish 127.0.0.1::8080 --volume "$model:/models:ro" --volume "$work/aot:/aot" \
  --env JAVA_TOOL_OPTIONS=-XX:AOTCacheOutput=/aot/app.aot --env QUARKUS_SHUTDOWN_DELAY_ENABLED=false "$image" > /dev/null
trap 'podman logs "$name" > "$work/training.log" 2>&1; podman rm --force --time 0 "$name" > /dev/null 2>&1 || true' EXIT
port=$(podman port "$name" 8080 | sed 's/.*://')
run_training_workload "$port" || { podman logs "$name" 2>&1 | tail -20 >&2; exit 1; }
podman stop --time 120 "$name" > /dev/null
[ -s "$work/aot/app.aot" ] || { echo "no AOT cache was written; see $work/training.log" >&2; exit 1; }

cp "$work/aot/app.aot" "$work/app.aot"
cat > "$work/Containerfile" <<CONTAINERFILE
FROM $image
COPY app.aot /app/app.aot
ENV JAVA_TOOL_OPTIONS=-XX:AOTCache=app.aot
CONTAINERFILE
tags=(--tag "$image")
for extra in "$@"; do tags+=(--tag "$extra"); done
podman build --quiet "${tags[@]}" --file "$work/Containerfile" "$work" > /dev/null
echo "AOT cache trained in $image on a workload ($(du -h "$work/app.aot" | cut -f1)); image rebuilt with it"
