# The AOT training workload (sourced by train-aot.sh and container/train-aot.sh, not run): waits until the service
# on port $1 is ready (at most 120 s), then uses what a start-up and the first users need — the health probes,
# sentiment over REST, a chat reply as JSON and as a stream, the tokenizer.
run_training_workload() {
  local base="http://127.0.0.1:$1"
  for _ in $(seq 1 1200); do
    curl -sf -o /dev/null "$base/q/health/ready" && break
    sleep 0.1
  done
  curl -sf -o /dev/null "$base/q/health/ready" || { echo "the training run never became ready" >&2; return 1; }
  local text
  for text in '刚拿到offer，超级开心！' '今天被领导批评了，心情很低落……' 'The exam went better than I feared.'; do
    curl -sf -o /dev/null -H 'Content-Type: application/json' -d "{\"text\":\"$text\"}" "$base/api/sentiment"
  done
  curl -sf -o /dev/null -H 'Content-Type: application/json' -d '{"text":"刚拿到offer，超级开心！"}' "$base/api/chat"
  curl -sf -o /dev/null -N -H 'Accept: text/event-stream' -H 'Content-Type: application/json' \
    -d '{"text":"明天要面试了，有点紧张"}' "$base/api/chat"
  curl -sf -o /dev/null -H 'Content-Type: application/json' -d '{"text":"你好😄"}' "$base/api/tokenize"
  curl -sf -o /dev/null "$base/q/health/live"
}
