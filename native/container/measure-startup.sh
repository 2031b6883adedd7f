#!/usr/bin/env bash
# Measures time from `podman run` to the first HTTP answer and to ready of the container image, N times without
# and N times with its AOT cache (the image's JAVA_TOOL_OPTIONS=-XX:AOTCache=app.aot, blanked for "without");
# prints the image size and the medians. With Q4_DIR (a Q4 copy an earlier start wrote, with the kernel-layout,
# tokenizer and pinned-KV files beside it) mounted read-only as the image's /cache/model-Q4, a start reads them
# instead of quantizing and repacking: a replica whose cache volume survived.
# usage: native/container/measure-startup.sh IMAGE MODEL_DIR [RUNS] [Q4_DIR]   (after ./mvnw package -Pcontainer)
set -euo pipefail
image=$1
model=$(realpath "$2")
runs=${3:-5}
cache=()
[ -n "${4:-}" ] && cache=(--volume "$(realpath "$4"):/cache/model-Q4:ro")
source "$(dirname "$0")/../startup-lib.sh"
port=18182

measure() { # $1: "aot" or ""; prints "live_ms ready_ms"
  local start name=allinone-startup-$$ env=(--env JAVA_TOOL_OPTIONS=)
  [ "$1" = aot ] && env=()
  start=$(date +%s%N)
  podman run --detach --name "$name" --publish "127.0.0.1:$port:8080" --volume "$model:/models:ro" "${cache[@]}" "${env[@]}" "$image" > /dev/null
  await_live_and_ready "$port" "$start" || podman logs "$name" >&2
  podman rm --force --time 0 "$name" > /dev/null
}

echo "image $image: $(podman image inspect --format '{{.Size}}' "$image" | awk '{printf "%.0f MB", $1 / 1e6}')"
report_with_and_without_aot aot
