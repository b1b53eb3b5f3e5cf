#!/usr/bin/env bash
# Builds the tiny sandbox image the tests and the benchmark use, from the host's static busybox
# (no registry is reachable, so the image is assembled from a rootfs and `docker import`ed).
# Usage: images/build-test-image.sh [--force]
set -euo pipefail

IMAGE="${SANDBOX_TEST_IMAGE:-orchestrator-sandbox-test:busybox}"
BUSYBOX="${BUSYBOX:-/bin/busybox}"
FORCE=0
[[ "${1:-}" == "--force" ]] && FORCE=1

if [[ $FORCE -eq 0 ]] && docker image inspect "$IMAGE" >/dev/null 2>&1; then
  echo "image $IMAGE exists; use --force to rebuild"
  exit 0
fi

[[ -x "$BUSYBOX" ]] || { echo "busybox not found at $BUSYBOX (apt-get install -y busybox-static)" >&2; exit 1; }
# A dynamically linked busybox would need the host's libc inside the image.
if ! "$BUSYBOX" --list >/dev/null 2>&1; then
  echo "$BUSYBOX does not support --list" >&2; exit 1
fi

ROOTFS="$(mktemp -d)"
trap 'rm -rf "$ROOTFS"' EXIT

mkdir -p "$ROOTFS"/{bin,etc,tmp,workspace,proc,sys,dev}
chmod 1777 "$ROOTFS/tmp"
cp "$BUSYBOX" "$ROOTFS/bin/busybox"
for applet in $("$BUSYBOX" --list); do
  [[ "$applet" == busybox ]] || ln -sf busybox "$ROOTFS/bin/$applet"
done
# Names for the usual ids, so `id` and `ps` print something readable.
cat >"$ROOTFS/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/bin/sh
agent:x:1000:1000:agent:/workspace:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
PASSWD
cat >"$ROOTFS/etc/group" <<'GROUP'
root:x:0:
agent:x:1000:
nogroup:x:65534:
GROUP

tar -C "$ROOTFS" --numeric-owner --owner=0 --group=0 -c . \
  | docker import --change 'CMD ["/bin/sh"]' --change 'ENV PATH=/bin' - "$IMAGE" >/dev/null
echo "built $IMAGE"
