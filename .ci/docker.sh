#!/usr/bin/env bash
# Makes a Docker engine available for the container test
# (test/docker_test.go) and prints, on stdout and nothing else,
#
#   export FSBRIDGE_TEST_DOCKER=1
#
# so that `eval "$(.ci/docker.sh)"` sets it. Progress goes to stderr.
#
# - If `docker info` answers, that engine is used.
# - Otherwise Debian's docker.io package is installed if dockerd is missing
#   (needs root and apt), and dockerd is started in the background, logging
#   to $FSBRIDGE_CI_DOCKER_DIR/dockerd.log (default
#   ${TMPDIR:-/tmp}/fsbridge-ci-docker). It is left running; a later run
#   reuses it.
# - The Dockerfile's base images (its FROM lines) are pulled if they are
#   not present. Where the registry cannot be reached (a CI machine that
#   reaches package registries only), a stand-in is built from this
#   machine instead and labelled org.fsbridge.stand-in=true:
#     golang:*            busybox + this machine's Go toolchain ($(go env GOROOT))
#     gcr.io/distroless/static-debian12:nonroot
#                         the files distroless/static holds (passwd and group
#                         with nonroot 65532, CA certificates, tzdata,
#                         nsswitch.conf, /tmp, /home/nonroot), user 65532
#   The container test then checks the Dockerfile's own work (its stages,
#   the static binary, the user, the volume, the health check, the
#   documented `docker run` lines) on those. A build against the real
#   images needs a registry; docs/docker.md says how to run the same test
#   there.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf 'docker.sh: %s\n' "$*" >&2; }
die() {
	log "error: $*"
	exit 1
}

state=${FSBRIDGE_CI_DOCKER_DIR:-${TMPDIR:-/tmp}/fsbridge-ci-docker}
mkdir -p "$state"

engine_up() { docker info >/dev/null 2>&1; }

if ! command -v docker >/dev/null 2>&1 || ! engine_up; then
	if ! command -v dockerd >/dev/null 2>&1; then
		log "no Docker engine; installing Debian's docker.io package"
		((EUID == 0)) || die "installing Docker needs root (run as root, or start a Docker engine first)"
		command -v apt-get >/dev/null || die "apt-get not found: start a Docker engine first"
		# The package's service is not started by its postinst here
		# (no init system); dockerd is started below.
		if ! { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q docker.io; } >&2; then
			die "apt-get install docker.io failed (see above)"
		fi
	fi
	((EUID == 0)) || die "starting dockerd needs root"
	start_dockerd() {
		log "starting dockerd $* (log: $state/dockerd.log)"
		nohup dockerd "$@" >>"$state/dockerd.log" 2>&1 &
		for _ in $(seq 1 60); do
			engine_up && return 0
			kill -0 $! 2>/dev/null || return 1
			sleep 0.5
		done
		kill $! 2>/dev/null || true
		return 1
	}
	# overlay2 first; vfs (slower, but needs no overlay filesystem) if
	# the kernel or the backing filesystem refuses it.
	start_dockerd || start_dockerd --storage-driver=vfs ||
		die "dockerd did not start; the end of $state/dockerd.log says why:
$(tail -n 20 "$state/dockerd.log")"
fi
log "engine: $(docker version --format 'client {{.Client.Version}}, server {{.Server.Version}}' 2>/dev/null)"

# standin_golang builds a Go build image from this machine's toolchain.
standin_golang() {
	local ref=$1 root goroot
	command -v busybox >/dev/null || {
		((EUID == 0)) && command -v apt-get >/dev/null || die "busybox is needed to build a stand-in for $ref"
		{ apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q busybox-static; } >&2 ||
			die "apt-get install busybox-static failed"
	}
	goroot=$(go env GOROOT)
	root=$(mktemp -d "$state/golang.XXXXXX")
	mkdir -p "$root/bin" "$root/usr/local" "$root/etc/ssl/certs" "$root/go" "$root/tmp" "$root/root"
	chmod 1777 "$root/tmp"
	cp "$(command -v busybox)" "$root/bin/busybox"
	local applet
	for applet in $(busybox --list); do
		[[ -e "$root/bin/$applet" ]] || ln -s busybox "$root/bin/$applet"
	done
	cp -a "$goroot" "$root/usr/local/go"
	cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/"
	printf 'root:x:0:0:root:/root:/bin/sh\n' >"$root/etc/passwd"
	printf 'root:x:0:\n' >"$root/etc/group"
	printf 'hosts: files dns\n' >"$root/etc/nsswitch.conf"
	tar -C "$root" -c . | docker import \
		--change 'ENV PATH=/go/bin:/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
		--change 'ENV GOPATH=/go' \
		--change 'ENV GOTOOLCHAIN=local' \
		--change 'WORKDIR /go' \
		--change 'LABEL org.fsbridge.stand-in=true' \
		- "$ref" >/dev/null
	rm -rf "$root"
}

# standin_distroless builds the files of distroless/static (nonroot).
standin_distroless() {
	local ref=$1 root
	root=$(mktemp -d "$state/distroless.XXXXXX")
	mkdir -p "$root/etc/ssl/certs" "$root/usr/share" "$root/tmp" "$root/home/nonroot" "$root/root" "$root/var/lib"
	chmod 1777 "$root/tmp"
	chmod 700 "$root/root" "$root/home/nonroot"
	chown 65532:65532 "$root/home/nonroot"
	cat >"$root/etc/passwd" <<-'EOF'
		root:x:0:0:root:/root:/sbin/nologin
		nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin
		nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin
	EOF
	cat >"$root/etc/group" <<-'EOF'
		root:x:0:
		nobody:x:65534:
		tty:x:5:
		staff:x:50:
		nonroot:x:65532:
	EOF
	printf 'hosts: files dns\n' >"$root/etc/nsswitch.conf"
	printf 'PRETTY_NAME="Distroless (stand-in)"\nID=debian\nVERSION_ID="12"\n' >"$root/etc/os-release"
	cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/"
	[[ -d /usr/share/zoneinfo ]] && cp -a /usr/share/zoneinfo "$root/usr/share/"
	tar -C "$root" -c . | docker import \
		--change 'ENV PATH=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin' \
		--change 'ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt' \
		--change 'USER 65532' \
		--change 'WORKDIR /home/nonroot' \
		--change 'LABEL org.fsbridge.stand-in=true' \
		- "$ref" >/dev/null
	rm -rf "$root"
}

for ref in $(awk 'toupper($1) == "FROM" { print $2 }' Dockerfile); do
	if docker image inspect "$ref" >/dev/null 2>&1; then
		log "$ref: present"
		continue
	fi
	if timeout 120 docker pull -q "$ref" >/dev/null 2>&1; then
		log "$ref: pulled"
		continue
	fi
	case $ref in
	golang:*) standin_golang "$ref" ;;
	gcr.io/distroless/static-debian12:nonroot) standin_distroless "$ref" ;;
	*) die "cannot pull $ref and have no stand-in for it" ;;
	esac
	log "$ref: the registry is out of reach; built a stand-in (label org.fsbridge.stand-in=true)"
done

printf 'export FSBRIDGE_TEST_DOCKER=1\n'
