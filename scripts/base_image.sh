#!/usr/bin/env bash
# Make the Docker base image that environments are built on, without pulling:
# debootstrap a minimal Debian of the host's own release from the host's own
# mirror, then `docker import` it. The root filesystem is cached as a tarball
# under var/base-image, so only the first run pays for debootstrap.
#
# Usage: scripts/base_image.sh TAG   (as root, with a running Docker engine)
set -euo pipefail
cd "$(dirname "$0")/.."

tag=${1:?usage: scripts/base_image.sh TAG}
# python3-venv brings ensurepip, so the build can make a venv offline; the
# Node runtime alone is enough because npm runs on the host, not in builds.
packages=python3,python3-venv,nodejs,ca-certificates
debootstrap_timeout=${SKILLINSTALL_DEBOOTSTRAP_TIMEOUT:-1200}
cache_dir=var/base-image

say() { printf 'base_image.sh: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

# The release and mirror are the host's, so the image's Python and glibc match
# the wheels that pip downloads on the host for it.
# shellcheck disable=SC1091
codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
[ -n "$codename" ] || die "/etc/os-release names no VERSION_CODENAME"
arch=$(dpkg --print-architecture)
# Names the image's contents: a changed package list makes a new image.
key=$codename-$arch-$(printf '%s' "$packages" | sha256sum | cut -c1-12)

label='{{ index .Config.Labels "skillinstall.base" }}'
if [ "$(docker image inspect -f "$label" "$tag" 2>/dev/null)" = "$key" ]; then
  say "$tag is present"
  exit 0
fi
previous=$(docker image inspect -f '{{ .Id }}' "$tag" 2>/dev/null || true)

# Print "URI KEYRING" for the first enabled deb source carrying $1 with the
# main component; KEYRING is "-" when the source names no keyring file.
host_mirror() {
  local suite=$1 file
  for file in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$file" ] || continue
    awk -v suite="$suite" '
      $1 == "deb" {
        i = 2
        if ($i ~ /^\[/) { while (i < NF && $i !~ /\]$/) i++; i++ }
        if ($(i + 1) != suite) next
        for (j = i + 2; j <= NF; j++) if ($j == "main") { print $i, "-"; exit }
      }' "$file"
  done
  for file in /etc/apt/sources.list.d/*.sources; do
    [ -f "$file" ] || continue
    # deb822: one stanza per paragraph, "Field: value" lines.
    awk -v suite="$suite" '
      BEGIN { RS = ""; FS = "\n" }
      {
        delete f
        for (n = 1; n <= NF; n++) {
          if ($n ~ /^#/ || $n !~ /^[A-Za-z-]+:/) continue
          key = tolower(substr($n, 1, index($n, ":") - 1))
          f[key] = " " substr($n, index($n, ":") + 1) " "
        }
        if (f["types"] !~ / deb / || tolower(f["enabled"]) ~ / no /) next
        if (f["suites"] !~ (" " suite " ") || f["components"] !~ / main /) next
        split(f["uris"], uris, " ")
        keyring = f["signed-by"]
        gsub(/ /, "", keyring)
        if (keyring !~ /^\//) keyring = "-"
        print uris[1], keyring
        exit
      }' "$file"
  done
}

rootfs_tar=$cache_dir/$key.tar.gz
mkdir -p "$cache_dir"

if [ ! -s "$rootfs_tar" ]; then
  read -r mirror keyring < <(host_mirror "$codename" | head -n1) || true
  [ -n "${mirror:-}" ] ||
    die "no deb source for '$codename main' in /etc/apt/sources.list{,.d/}"
  command -v debootstrap >/dev/null ||
    die "debootstrap is not installed (apt-get install debootstrap)"

  rootfs=$cache_dir/rootfs.partial
  rm -rf "$rootfs"
  keyring_arg=()
  [ "$keyring" = "-" ] || keyring_arg=(--keyring="$keyring")
  say "debootstrap $codename ($arch) from $mirror with $packages"
  say "its log: $cache_dir/debootstrap.log"
  if ! timeout "$debootstrap_timeout" debootstrap --variant=minbase --arch="$arch" \
      "${keyring_arg[@]}" --include="$packages" "$codename" "$rootfs" "$mirror" \
      >"$cache_dir/debootstrap.log" 2>&1; then
    tail -n 20 "$cache_dir/debootstrap.log" >&2
    rm -rf "$rootfs"
    die "debootstrap failed or took over ${debootstrap_timeout}s"
  fi

  # Package caches and indexes only grow the image; builds never run apt.
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* \
    "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/log/*.log
  tar --numeric-owner -C "$rootfs" -czf "$rootfs_tar.partial" .
  mv "$rootfs_tar.partial" "$rootfs_tar"
  rm -rf "$rootfs"
else
  say "reusing cached root filesystem $rootfs_tar"
fi

docker import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'ENV LANG=C.UTF-8' \
  --change 'CMD ["/bin/bash"]' \
  --change "LABEL skillinstall.base=$key" \
  "$rootfs_tar" "$tag" >/dev/null
say "imported $tag from $rootfs_tar"

# The image the tag named before is replaced, unless something still uses it.
if [ -n "$previous" ]; then
  docker image rm "$previous" >/dev/null 2>&1 || true
fi
