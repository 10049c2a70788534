#!/usr/bin/env bash
# Install (when missing) and start the services the test suite needs, then
# write their addresses to var/services.env. Safe to run again: what is
# installed and running is left as it is.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p var

need_apt=()
command -v node >/dev/null || need_apt+=(nodejs)
command -v npm >/dev/null || need_apt+=(npm)
if ((${#need_apt[@]})); then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
  else
    echo "services.sh: missing ${need_apt[*]}; install them or run as root" >&2
  fi
fi

: > var/services.env
