#!/usr/bin/env bash
# For air-gapped sites: an image with the model inside, so nothing needs mounting. Builds FROM the app image
# (./mvnw package -Pcontainer) and adds MODEL_DIR at /models and, when an earlier start left one beside it, its
# Q4 copy (<MODEL_DIR>-Q4) at /cache/model-Q4, so the baked image starts without quantizing.
# usage: native/container/bake-model.sh MODEL_DIR [TAG]
#   APP_IMAGE (default localhost/allinone/qwen-all-in-one:latest) names the image to build on.
set -euo pipefail
model=$(realpath "${1:?usage: bake-model.sh MODEL_DIR [TAG]}")
tag=${2:-localhost/allinone/qwen-all-in-one:latest-model}
app=${APP_IMAGE:-localhost/allinone/qwen-all-in-one:latest}
[ -f "$model/config.json" ] || { echo "$model has no config.json: not a model directory" >&2; exit 1; }

context=$(mktemp -d)
trap 'rm -rf "$context"' EXIT
# Hard links where possible (no copy of a 1 GB checkpoint); -a keeps the modification times the Q4 stamp checks.
cp -al "$model" "$context/model" 2>/dev/null || cp -a "$model" "$context/model"
if [ -d "$model-Q4" ]; then
  cp -al "$model-Q4" "$context/model-Q4" 2>/dev/null || cp -a "$model-Q4" "$context/model-Q4"
else
  mkdir "$context/model-Q4"
fi
cat > "$context/Containerfile" <<CONTAINERFILE
FROM $app
COPY --chown=185:185 model/ /models/
COPY --chown=185:185 model-Q4/ /cache/model-Q4/
CONTAINERFILE
podman build --quiet --tag "$tag" --file "$context/Containerfile" "$context"
echo "baked $model into $tag: podman run --rm -p 8080:8080 $tag"
