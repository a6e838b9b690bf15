#!/usr/bin/env bash
# Makes a headless-capable Chromium available for the status page's browser
# test (test/status_browser_test.go): if none is installed (chromium,
# chromium-browser, google-chrome, google-chrome-stable on PATH), Debian's
# `chromium` package is installed with apt-get.
#
# It always exits 0: when Chromium cannot be installed (no apt-get, not
# root, no network) it says why on stderr, and the browser test then skips
# with a message saying so. Progress goes to stderr; nothing goes to stdout.
set -uo pipefail

log() { printf 'chromium.sh: %s\n' "$*" >&2; }

find_chromium() {
	local name
	for name in chromium chromium-browser google-chrome google-chrome-stable; do
		if command -v "$name" >/dev/null 2>&1; then
			command -v "$name"
			return 0
		fi
	done
	return 1
}

if path=$(find_chromium); then
	log "found $path; nothing to install"
	exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
	log "no Chromium and no apt-get on this machine; install Chromium by hand or the browser test skips"
	exit 0
fi

sudo=()
if [[ $(id -u) -ne 0 ]]; then
	if command -v sudo >/dev/null 2>&1 && sudo -n true >/dev/null 2>&1; then
		sudo=(sudo -n)
	else
		log "no Chromium, and installing it needs root (or password-less sudo); the browser test skips"
		exit 0
	fi
fi

log "installing Debian's chromium (apt-get; this takes a minute)"
out=$(mktemp)
trap 'rm -f "$out"' EXIT
if ! "${sudo[@]}" apt-get update -qq >"$out" 2>&1; then
	log "apt-get update failed; the browser test skips. Its output:"
	tail -n 20 "$out" >&2
	exit 0
fi
if ! "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >"$out" 2>&1; then
	log "apt-get install chromium failed; the browser test skips. Its output:"
	tail -n 20 "$out" >&2
	exit 0
fi
if path=$(find_chromium); then
	log "installed $path"
else
	log "apt-get installed chromium but no chromium binary is on PATH; the browser test skips"
fi
exit 0
