#!/usr/bin/env bash
# Builds the base image of the service from local files only (no registry is needed or reachable):
#   a jlink runtime of $JAVA_HOME (the JDK the project builds with, so the AOT cache trained on it matches),
#   the glibc files that runtime links against, /tmp, a writable /cache for the Q4 copy of the model, user 185;
#   FROM scratch. The image is tagged in podman (the AOT training run uses it) and saved as a docker-archive,
#   which Jib takes as the base (quarkus.jib.base-jvm-image=tar://...).
# Usage: native/container/base-image.sh OUTPUT_DIR     (the container profile runs it as target/container)
set -euo pipefail
out=$(realpath -m "${1:?usage: base-image.sh OUTPUT_DIR}")
here=$(cd "$(dirname "$0")" && pwd)
image=${ALLINONE_BASE_IMAGE:-localhost/allinone-jre:25}
java_home=${JAVA_HOME:?set JAVA_HOME to a JDK 25+ (pom.xml compiles for release 25)}
command -v podman > /dev/null || {
  echo "base-image.sh: podman is needed for the container image (Debian: apt-get install podman runc iptables" \
       "uidmap slirp4netns fuse-overlayfs netavark; .ci/run does this), or build without -Pcontainer" >&2
  exit 1
}
# What the service needs (jdeps over the packaged jars), plus jdk.jcmd so operators can run jcmd in the container.
modules=java.base,java.compiler,java.desktop,java.logging,java.management,java.naming,java.net.http,java.sql,java.xml,jdk.incubator.vector,jdk.jcmd,jdk.management,jdk.unsupported,jdk.zipfs

key="$("$java_home/bin/java" -version 2>&1 | tr '\n' ' ') $modules $(cat "$0" "$here/base.Containerfile" | sha256sum)"
if [ -f "$out/allinone-jre.tar" ] && [ "$(cat "$out/base-image.key" 2>/dev/null)" = "$key" ] && podman image exists "$image"; then
  echo "base image $image is up to date ($out/allinone-jre.tar)"
  exit 0
fi

rm -rf "$out/rootfs"
mkdir -p "$out/rootfs/opt" "$out/rootfs/etc"
"$java_home/bin/jlink" --add-modules "$modules" --strip-debug --no-man-pages --no-header-files \
  --generate-cds-archive --output "$out/rootfs/opt/java"

# The loader and the shared libraries the runtime's binaries need, from this machine's glibc. The AWT/sound
# libraries of java.desktop are left out: the service only uses java.beans from that module, never a display.
find "$out/rootfs/opt/java" -type f \( -name '*.so' -o -perm -u+x \) \
    ! -name 'libawt*' ! -name 'libjawt*' ! -name 'libsplashscreen*' ! -name 'libjsound*' ! -name 'libfontmanager*' \
    -print0 \
  | xargs -0 -n1 ldd 2>/dev/null \
  | awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// {print $1}' \
  | grep -v "^$out/" | sort -u \
  | while read -r lib; do cp -L --parents "$lib" "$out/rootfs"; done

# glibc's C.UTF-8 locale, so file names and the JVM's native encoding are UTF-8 (LANG=C.UTF-8 in the image).
mkdir -p "$out/rootfs/usr/lib/locale" && cp -a /usr/lib/locale/C.utf8 "$out/rootfs/usr/lib/locale/"
install -d -m 1777 "$out/rootfs/tmp"
install -d -m 0755 "$out/rootfs/app"
printf 'root:x:0:0:root:/root:/sbin/nologin\nallinone:x:185:185:Qwen All-in-One:/app:/sbin/nologin\n' > "$out/rootfs/etc/passwd"
printf 'root:x:0:\nallinone:x:185:\n' > "$out/rootfs/etc/group"
# /cache holds the Q4 copy of a mounted model (allinone.model.quantized-path); writable by the service user.
install -d -m 1777 "$out/rootfs/cache"

podman build --quiet --tag "$image" --file "$here/base.Containerfile" "$out"
rm -f "$out/allinone-jre.tar"
podman save --quiet --format docker-archive --output "$out/allinone-jre.tar" "$image"
echo "$key" > "$out/base-image.key"
echo "base image $image: $(du -h "$out/allinone-jre.tar" | cut -f1) ($out/allinone-jre.tar)"
