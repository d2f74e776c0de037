#!/usr/bin/env bash
# Make sure the named tools are on PATH: install their Debian package when allowed, else print
# the exact command and exit 2. Used by `npm test` (pretest), `npm run demo` (predemo), .ci/run
# and the embedded Redis.
#
#   scripts/ensure.sh redis-server prometheus faketime chromium cjk-fonts
#
# Installs only when root (or passwordless sudo), apt-get exists and LOOKOUT_NO_INSTALL is not 1.
set -uo pipefail

usage_tools="redis-server prometheus faketime chromium cjk-fonts perf"

# tool → Debian package (and the binary that proves it is present)
pkg_of() {
  case "$1" in
    redis-server) echo redis-server ;;
    prometheus) echo prometheus ;;
    faketime) echo faketime ;;
    chromium) echo chromium ;;
    cjk-fonts) echo fonts-wqy-microhei ;;
    # Linux perf, for bench/cpu.ts only (not the tests or the demo)
    perf) echo linux-perf ;;
    *) return 1 ;;
  esac
}

have() { command -v "$1" >/dev/null 2>&1; }

present() {
  case "$1" in
    prometheus) have prometheus && have promtool ;;
    chromium) have chromium || have chromium-browser ;;
    # Chinese glyphs for the browser tests' screenshots and the charts rendered as PNG
    cjk-fonts) [ -f /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ] ;;
    *) have "$1" ;;
  esac
}

if [ "$#" -eq 0 ]; then
  echo "usage: scripts/ensure.sh TOOL… (known: $usage_tools)" >&2
  exit 2
fi

missing=()
for tool in "$@"; do
  if ! pkg_of "$tool" >/dev/null; then
    echo "lookout: unknown tool '$tool' (known: $usage_tools)" >&2
    exit 2
  fi
  present "$tool" || missing+=("$tool")
done
[ "${#missing[@]}" -eq 0 ] && exit 0

pkgs=()
for tool in "${missing[@]}"; do pkgs+=("$(pkg_of "$tool")"); done

sudo_cmd=""
can_install=0
if [ "${LOOKOUT_NO_INSTALL:-}" != 1 ] && have apt-get; then
  if [ "$(id -u)" = 0 ]; then
    can_install=1
  elif have sudo && sudo -n true >/dev/null 2>&1; then
    can_install=1
    sudo_cmd="sudo -n"
  fi
fi

if [ "$can_install" != 1 ]; then
  echo "lookout: missing ${missing[*]}; install with: sudo apt-get install -y ${pkgs[*]}" >&2
  [ "${LOOKOUT_NO_INSTALL:-}" = 1 ] && echo "lookout: (LOOKOUT_NO_INSTALL=1: not installing automatically)" >&2
  exit 2
fi

export DEBIAN_FRONTEND=noninteractive
updated=0
for tool in "${missing[@]}"; do
  pkg="$(pkg_of "$tool")"
  echo "lookout: installing $tool (Debian package $pkg)…" >&2
  if [ "$updated" = 0 ]; then
    $sudo_cmd apt-get update -qq >/dev/null 2>&1 || true
    updated=1
  fi
  if ! $sudo_cmd apt-get install -y -qq --no-install-recommends "$pkg" >/dev/null 2>&1 || ! present "$tool"; then
    echo "lookout: could not install $pkg; install it with: sudo apt-get install -y $pkg" >&2
    exit 2
  fi
done
exit 0
