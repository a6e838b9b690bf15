#!/usr/bin/env bash
# Makes a PostgreSQL server available on loopback for the store tests
# (internal/store/postgres) and prints, on stdout and nothing else,
#
#   export FSBRIDGE_TEST_POSTGRES_DSN=postgres://...
#
# so that `eval "$(.ci/postgres.sh)"` sets it. Progress goes to stderr.
#
# - If FSBRIDGE_TEST_POSTGRES_DSN is already set, it is printed as is.
# - If no server binaries are under /usr/lib/postgresql/*/bin, Debian's
#   `postgresql` package is installed (needs root and apt).
# - A throw-away cluster is initialised in $FSBRIDGE_CI_PG_DIR (default
#   ${TMPDIR:-/tmp}/fsbridge-ci-postgres), owned by the `postgres` system
#   user when running as root (the server refuses to run as root), listening
#   on 127.0.0.1 only, on a free port, with trust authentication (local test
#   use only; nothing else can reach it), and with durability off (fsync,
#   synchronous_commit), which a test database does not need.
# - The server is left running. A later run that finds it still running
#   reuses it (about 0.1s); one that finds it dead starts afresh (about 2s).
#
# Environment: FSBRIDGE_CI_PG_DIR (the state directory), FSBRIDGE_CI_PG_BINDIRS
# (a glob of server bin directories; tests of this script use it).
set -euo pipefail

log() { printf 'postgres.sh: %s\n' "$*" >&2; }
die() {
	log "error: $*"
	exit 1
}
print_dsn() { printf 'export FSBRIDGE_TEST_POSTGRES_DSN=%q\n' "$1"; }

if [[ -n "${FSBRIDGE_TEST_POSTGRES_DSN:-}" ]]; then
	log "FSBRIDGE_TEST_POSTGRES_DSN is already set; using it"
	print_dsn "$FSBRIDGE_TEST_POSTGRES_DSN"
	exit 0
fi

bindir_glob=${FSBRIDGE_CI_PG_BINDIRS:-/usr/lib/postgresql/*/bin}

# find_bindir prints the bin directory of the newest installed server.
find_bindir() {
	local d found=()
	for d in $bindir_glob; do
		[[ -x "$d/initdb" && -x "$d/pg_ctl" && -x "$d/postgres" ]] && found+=("$d")
	done
	((${#found[@]})) || return 1
	printf '%s\n' "${found[@]}" | sort -V | tail -n 1
}

if ! bindir=$(find_bindir); then
	log "no PostgreSQL server under $bindir_glob; installing Debian's postgresql package"
	((EUID == 0)) || die "installing PostgreSQL needs root (run as root, or install the postgresql package first)"
	command -v apt-get >/dev/null || die "apt-get not found: install PostgreSQL server binaries under /usr/lib/postgresql/*/bin"
	# The package's postinst creates and starts a system cluster on port
	# 5432; that is harmless, and we do not use it.
	if ! { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql; } >&2; then
		die "apt-get install postgresql failed (see above)"
	fi
	bindir=$(find_bindir) || die "the postgresql package is installed but no server is under $bindir_glob"
fi
log "using $("$bindir/postgres" --version) from $bindir"

state=${FSBRIDGE_CI_PG_DIR:-${TMPDIR:-/tmp}/fsbridge-ci-postgres}
mkdir -p "$state"
# One run at a time per state directory (two CI jobs may start together).
exec 9>"$state/.lock"
if command -v flock >/dev/null; then
	flock 9
fi

# Run the server tools as a user the server accepts: `postgres` when root.
if ((EUID == 0)); then
	if ! id postgres >/dev/null 2>&1; then
		log "creating the postgres system user"
		useradd --system --user-group --home-dir /var/lib/postgresql --no-create-home \
			--shell /usr/sbin/nologin postgres >&2 || die "could not create the postgres user"
	fi
	as_pg() { (cd / && runuser -u postgres -- "$@"); }
	owner=postgres
	as_owner="runuser -u postgres -- "
else
	as_pg() { (cd / && "$@"); }
	owner=$(id -un)
	as_owner=
fi

data=$state/data
dsn_file=$state/dsn

# Reuse a server that an earlier run left running.
if [[ -s "$dsn_file" && -f "$data/postmaster.pid" ]] &&
	as_pg "$bindir/pg_ctl" status -D "$data" >/dev/null 2>&1; then
	port=$(sed -n 's/^port=//p' "$state/port" 2>/dev/null || true)
	if [[ -n "$port" ]] && "$bindir/pg_isready" -q -h 127.0.0.1 -p "$port" -t 5 2>/dev/null; then
		log "reusing the server already running on 127.0.0.1:$port"
		print_dsn "$(cat "$dsn_file")"
		exit 0
	fi
	log "pg_ctl reports a server in $data, but it does not answer; starting afresh"
	as_pg "$bindir/pg_ctl" stop -D "$data" -m immediate >/dev/null 2>&1 || true
fi

# A fresh cluster: initdb of an empty directory takes about a second.
rm -rf "$data" "$dsn_file" "$state/port" "$state/server.log" "$state/initdb.log"
mkdir -p "$data"
chmod 755 "$state" # the server user must reach its data directory
chown "$owner" "$data"
chmod 700 "$data"
touch "$state/server.log"
chown "$owner" "$state/server.log"

log "initialising a cluster in $data"
initdb_log=$state/initdb.log
if ! as_pg "$bindir/initdb" -D "$data" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 --no-sync \
	>"$initdb_log" 2>&1; then
	# No C.UTF-8 locale on this system: plain C sorts and compares the same.
	rm -rf "${data:?}"/*
	as_pg "$bindir/initdb" -D "$data" -U postgres --auth=trust --encoding=UTF8 --locale=C --no-sync \
		>"$initdb_log" 2>&1 || {
		cat "$initdb_log" >&2
		die "initdb failed (output above)"
	}
fi

# port_free reports whether nothing accepts connections on 127.0.0.1:$1.
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

started=
for _ in 1 2 3 4 5 6 7 8 9 10; do
	port=$((20000 + RANDOM % 20000))
	port_free "$port" || continue
	# TCP on loopback only, no Unix socket (its default directory may be
	# missing or belong to the system cluster). 9>&-: the server must not
	# inherit the lock on the state directory, or the next run waits for it.
	if as_pg "$bindir/pg_ctl" start -D "$data" -l "$state/server.log" -w -t 60 -o \
		"-c listen_addresses=127.0.0.1 -p $port -c unix_socket_directories='' \
		 -c max_connections=300 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" >&2 9>&-; then
		started=1
		break
	fi
	log "could not start on port $port (taken in the meantime?); trying another"
	tail -n 5 "$state/server.log" >&2 || true
done
[[ -n "$started" ]] || die "could not start the server; its log is $state/server.log"
echo "port=$port" >"$state/port"

"$bindir/createdb" -h 127.0.0.1 -p "$port" -U postgres fsbridge_test >&2 || die "createdb failed"

dsn="postgres://postgres@127.0.0.1:$port/fsbridge_test?sslmode=disable"
echo "$dsn" >"$dsn_file"
log "server running on 127.0.0.1:$port (data $data; stop it with: ${as_owner}$bindir/pg_ctl stop -D $data)"
print_dsn "$dsn"
