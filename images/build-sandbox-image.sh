#!/usr/bin/env bash
# Builds the default agent image (Debian bookworm minbase + bash, git, Node.js, npm) with
# debootstrap and `docker import`, because no registry image can be pulled here.
# Usage: images/build-sandbox-image.sh [--force]
# Env: SANDBOX_IMAGE (default orchestrator-sandbox:latest), DEBIAN_MIRROR, DEBIAN_SUITE.
set -euo pipefail

IMAGE="${SANDBOX_IMAGE:-orchestrator-sandbox:latest}"
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
SUITE="${DEBIAN_SUITE:-bookworm}"
# debootstrap installs the base set; the rest goes in with the chroot's apt, because
# `--include=nodejs,npm` pulls ~300 node-* packages that debootstrap's one-pass configure
# cannot order ("Failure while configuring base packages ... npm is at fault").
BASE_PACKAGES="bash,coreutils,ca-certificates"
EXTRA_PACKAGES="git nodejs npm procps"
FORCE=0
[[ "${1:-}" == "--force" ]] && FORCE=1

if [[ $FORCE -eq 0 ]] && docker image inspect "$IMAGE" >/dev/null 2>&1; then
  echo "image $IMAGE exists; use --force to rebuild"
  exit 0
fi

if ! command -v debootstrap >/dev/null 2>&1; then
  [[ $(id -u) -eq 0 ]] || { echo "debootstrap is missing and installing it needs root" >&2; exit 1; }
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap
fi
[[ $(id -u) -eq 0 ]] || { echo "debootstrap needs root" >&2; exit 1; }

WORK="$(mktemp -d)"
ROOTFS="$WORK/rootfs"
cleanup() {
  mountpoint -q "$ROOTFS/proc" 2>/dev/null && umount "$ROOTFS/proc"
  if [[ -f "$ROOTFS/debootstrap/debootstrap.log" ]]; then
    echo "--- tail of debootstrap.log ---" >&2
    tail -n 40 "$ROOTFS/debootstrap/debootstrap.log" >&2
  fi
  rm -rf --one-file-system "$WORK"
}
trap cleanup EXIT

debootstrap --variant=minbase --include="$BASE_PACKAGES" "$SUITE" "$ROOTFS" "$MIRROR"

cp /etc/resolv.conf "$ROOTFS/etc/resolv.conf"
mount -t proc proc "$ROOTFS/proc"
chroot "$ROOTFS" apt-get update -qq
chroot "$ROOTFS" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $EXTRA_PACKAGES
chroot "$ROOTFS" apt-get clean
umount "$ROOTFS/proc"
: >"$ROOTFS/etc/resolv.conf"

# The container runs as the worktree owner's uid with HOME=/workspace; give uid 1000 a name
# so tools that look the user up (git, npm) do not complain.
chroot "$ROOTFS" /usr/sbin/groupadd --gid 1000 agent
chroot "$ROOTFS" /usr/sbin/useradd --uid 1000 --gid 1000 --home-dir /workspace --no-create-home --shell /bin/bash agent
mkdir -p "$ROOTFS/workspace"
chmod 1777 "$ROOTFS/tmp"
# Package caches only make the image bigger; the root filesystem is read-only at run time anyway.
rm -rf "$ROOTFS"/var/cache/apt/archives/*.deb "$ROOTFS"/var/lib/apt/lists/* "$ROOTFS"/usr/share/doc/* "$ROOTFS"/usr/share/man/*

tar -C "$ROOTFS" --numeric-owner -c . \
  | docker import \
      --change 'CMD ["/bin/bash"]' \
      --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
      --change 'ENV LANG=C.UTF-8' \
      - "$IMAGE" >/dev/null
echo "built $IMAGE"
