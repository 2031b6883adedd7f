#!/usr/bin/env bash
# The README's test command: installs what the tests need when it is missing (Debian packages, with apt-get), then
# runs the whole suite, the container image included. Needs JAVA_HOME at a JDK 25 or newer (pom.xml: release 25).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -z "${JAVA_HOME:-}" ] || ! "$JAVA_HOME/bin/java" -version 2>&1 | grep -qE 'version "(2[5-9]|[3-9][0-9])'; then
  echo "native/test.sh: set JAVA_HOME to a JDK 25 or newer (the build compiles for release 25)" >&2
  exit 2
fi
"$JAVA_HOME/bin/java" -version
if [ "$(id -u)" = 0 ]; then sudo=(); else sudo=(sudo); fi

# The engine's C kernels are compiled by the build (native/build-kernels.sh): this architecture's with cc, the other
# one's with Debian's cross-compiler; the ARM64 kernels' harness runs under qemu-aarch64 (KernelsHarnessTest).
need=()
command -v cc >/dev/null || need+=(gcc libc6-dev)
if [ "$(uname -m)" = x86_64 ]; then
  command -v aarch64-linux-gnu-gcc >/dev/null || need+=(gcc-aarch64-linux-gnu libc6-dev-arm64-cross)
  command -v qemu-aarch64 >/dev/null || need+=(qemu-user)
fi
if [ ${#need[@]} -gt 0 ]; then
  "${sudo[@]}" apt-get update -q
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need[@]}"
fi

# Conversations in Redis (RedisConversationsTest) and two replicas behind HAProxy (ScaleOutIT): the tests start
# Debian's redis-server and haproxy themselves, on loopback.
need=()
command -v redis-server >/dev/null || need+=(redis-server)
command -v haproxy >/dev/null || [ -x /usr/sbin/haproxy ] || need+=(haproxy)
if [ ${#need[@]} -gt 0 ]; then
  "${sudo[@]}" apt-get update -q
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need[@]}"
fi

# The web page test drives Debian's headless Chromium; a CJK font makes its screenshot readable.
need=()
command -v chromium >/dev/null || need+=(chromium)
command -v chromedriver >/dev/null || need+=(chromium-driver)
fc-list 2>/dev/null | grep -qi "wenquanyi\|noto sans cjk" || need+=(fonts-wqy-zenhei)
if [ ${#need[@]} -gt 0 ]; then
  "${sudo[@]}" apt-get update -q
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need[@]}"
fi
chromium --version || true

# The container image test builds and runs the image with podman (no registry needed: the base image is made
# locally from this JDK). On this sandboxed machine type podman needs runc, fixed ulimits and netavark.
need=()
for p in podman runc iptables uidmap slirp4netns fuse-overlayfs netavark; do
  dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
  "${sudo[@]}" apt-get update -q
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need[@]}"
fi
export CONTAINERS_CONF="${CONTAINERS_CONF:-$PWD/native/container/containers.conf}"
podman --version

./mvnw -B verify -Pcontainer

