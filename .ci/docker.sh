#!/usr/bin/env bash
# Makes a Docker engine available for the container test
# (test/docker_test.go) and prints, on stdout and nothing else,
#
#   export FSBRIDGE_TEST_DOCKER=1
#
# so that `eval "$(.ci/docker.sh)"` sets it. Progress goes to stderr; when
# no engine can be had, the last line on stderr says why and what to do,
# and the exit status is 1 (so .ci/run fails rather than skip the test).
#
# - If `docker info` answers, that engine is used, whatever its networks
#   look like: the container test uses host networking and loopback only.
# - Otherwise Debian's docker.io package is installed if dockerd is missing
#   (needs root and apt), and dockerd is started in the background with no
#   default bridge and no iptables rules (--bridge=none --iptables=false):
#   the test needs neither, and a sandbox without netfilter cannot break
#   it. It logs to $FSBRIDGE_CI_DOCKER_DIR/dockerd.log (default
#   ${TMPDIR:-/tmp}/fsbridge-ci-docker) and is left running; a later run
#   reuses it.
# - The Dockerfile's base images (its FROM lines) are used if present.
#   Otherwise, by default, stand-ins are built from this machine, with no
#   attempt to reach a registry (CI machines reach package registries
#   only), labelled org.fsbridge.stand-in=true:
#     golang:*            busybox + this machine's Go toolchain ($(go env GOROOT))
#     gcr.io/distroless/static-debian12:nonroot
#                         the files distroless/static holds (passwd and group
#                         with nonroot 65532, CA certificates, tzdata,
#                         nsswitch.conf, /tmp, /home/nonroot), user 65532
#   FSBRIDGE_CI_BASE_IMAGES=pull pulls the real images instead (and fails
#   if a pull fails). The container test checks the Dockerfile's own work
#   (its stages, the static binary, the user, the volume, the health
#   check, the documented `docker run` lines) on either.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf 'docker.sh: %s\n' "$*" >&2; }
# die ends the run with one line: what is missing, and what to do.
die() {
	printf '.ci/docker.sh: the container test cannot run: %s\n' "$*" >&2
	exit 1
}

state=${FSBRIDGE_CI_DOCKER_DIR:-${TMPDIR:-/tmp}/fsbridge-ci-docker}
mkdir -p "$state"

engine_up() { docker info >/dev/null 2>&1; }

if ! command -v docker >/dev/null 2>&1 || ! engine_up; then
	if ! command -v dockerd >/dev/null 2>&1; then
		log "no Docker engine; installing Debian's docker.io package"
		((EUID == 0)) || die "no Docker engine answers and installing one needs root; run .ci/run as root, or start a Docker engine (dockerd) first"
		command -v apt-get >/dev/null || die "no Docker engine answers and apt-get is missing; start a Docker engine (dockerd) first"
		# The package's service is not started by its postinst here
		# (no init system); dockerd is started below.
		if ! { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q docker.io; } >&2; then
			die "no Docker engine answers and apt-get install docker.io failed (its output is above); fix the package source, or start a Docker engine (dockerd) first"
		fi
	fi
	((EUID == 0)) || die "no Docker engine answers and starting dockerd needs root; run .ci/run as root, or start a Docker engine first"
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
	# No default bridge and no iptables: the container test runs every
	# container on the host network and talks over loopback only.
	net=(--bridge=none --iptables=false --ip6tables=false --ip-masq=false)
	# overlay2 first; vfs (slower, but needs no overlay filesystem) if
	# the kernel or the backing filesystem refuses it.
	if ! start_dockerd "${net[@]}" && ! start_dockerd "${net[@]}" --storage-driver=vfs; then
		die "dockerd did not start ($(grep -iE 'level=(fatal|error)' "$state/dockerd.log" | tail -n1 | tail -c 300 | tr -d '\n'); whole log: $state/dockerd.log); start a Docker engine by hand and rerun"
	fi
fi
log "engine: $(docker version --format 'client {{.Client.Version}}, server {{.Server.Version}}' 2>/dev/null)"

# standin_golang builds a Go build image from this machine's toolchain.
standin_golang() {
	local ref=$1 root goroot
	command -v busybox >/dev/null || {
		((EUID == 0)) && command -v apt-get >/dev/null || die "busybox is needed to build a stand-in for $ref and cannot be installed without root and apt-get; install busybox-static, or set FSBRIDGE_CI_BASE_IMAGES=pull where a registry is reachable"
		{ apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q busybox-static; } >&2 ||
			die "apt-get install busybox-static failed (its output is above); install busybox-static by hand"
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
	# A module proxy in the image holding the modules this go.sum names
	# (the layout of the module cache's download directory is a GOPROXY's),
	# so the Dockerfile's `go mod download` and build need no network: the
	# container test builds with --network none.
	go mod download >&2 || die "go mod download failed (its output is above); the stand-in needs the project's modules"
	local cache list
	cache=$(go env GOMODCACHE)/cache/download
	list=$(mktemp "$state/modules.XXXXXX")
	(cd "$cache" && find . \( -name '*.mod' -o -name '*.info' \) -print) >"$list"
	go mod download -json | sed -n 's/^[[:space:]]*"Zip": "\(.*\)",\{0,1\}$/\1/p' | sed "s|^$cache/|./|" >>"$list"
	mkdir -p "$root/goproxy"
	tar -C "$cache" -c -T "$list" | tar -C "$root/goproxy" -x
	rm -f "$list"
	tar -C "$root" -c . | docker import \
		--change 'ENV PATH=/go/bin:/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
		--change 'ENV GOPATH=/go' \
		--change 'ENV GOTOOLCHAIN=local' \
		--change 'ENV GOPROXY=file:///goproxy' \
		--change 'ENV GOSUMDB=off' \
		--change 'WORKDIR /go' \
		--change 'LABEL org.fsbridge.stand-in=true' \
		--change "LABEL org.fsbridge.go-sum=$(gosum_hash)" \
		- "$ref" >/dev/null
	rm -rf "$root"
}

# gosum_hash names the module set a Go stand-in holds: a stand-in built
# for another go.sum is rebuilt.
gosum_hash() { sha256sum go.sum | cut -c1-16; }

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

mode=${FSBRIDGE_CI_BASE_IMAGES:-standin}
case $mode in
standin | pull) ;;
*) die "FSBRIDGE_CI_BASE_IMAGES is \"$mode\"; set it to standin (the default) or pull" ;;
esac
for ref in $(awk 'toupper($1) == "FROM" { print $2 }' Dockerfile); do
	if docker image inspect "$ref" >/dev/null 2>&1; then
		held=$(docker image inspect -f '{{index .Config.Labels "org.fsbridge.go-sum"}}' "$ref")
		standin=$(docker image inspect -f '{{index .Config.Labels "org.fsbridge.stand-in"}}' "$ref")
		if [[ $standin != true || $ref != golang:* || $held == "$(gosum_hash)" ]]; then
			log "$ref: present"
			continue
		fi
		log "$ref: a stand-in built for another go.sum; building it again"
	fi
	if [[ $mode == pull ]]; then
		docker pull -q "$ref" >/dev/null || die "docker pull $ref failed; unset FSBRIDGE_CI_BASE_IMAGES to build a stand-in instead"
		log "$ref: pulled"
		continue
	fi
	case $ref in
	golang:*) standin_golang "$ref" ;;
	gcr.io/distroless/static-debian12:nonroot) standin_distroless "$ref" ;;
	*) die "no stand-in for the base image $ref; add one to .ci/docker.sh, or set FSBRIDGE_CI_BASE_IMAGES=pull where a registry is reachable" ;;
	esac
	log "$ref: built a stand-in from this machine (label org.fsbridge.stand-in=true; FSBRIDGE_CI_BASE_IMAGES=pull pulls the real one)"
done

printf 'export FSBRIDGE_TEST_DOCKER=1\n'
