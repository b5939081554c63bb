#!/usr/bin/env bash
# deploy/build-static.sh — the Dockerfile's builder stage, without Docker.
#
# KEEP IN SYNC with ../Dockerfile: this script runs the same `go build`
# (CGO_ENABLED=0, -trimpath, -buildvcs=false, the same -ldflags) from a copy
# of the build context (the tree less .dockerignore's patterns), and first
# checks that the Dockerfile's build line is still the one below. Change both
# together.
#
# Then it checks the result: a static ELF executable (file, readelf, ldd),
# the build settings recorded in it (go version -m), `--help`, `--version`,
# and, unless SMOKE=0, a smoke run on 127.0.0.1 with the image's ENV:
# /healthz, /readyz, `p2pcache healthcheck`, SIGTERM drain and exit 0.
# Any failure exits non-zero.
#
# Usage: deploy/build-static.sh [OUT_DIR]        (default: bin/static)
# Env:   VERSION, COMMIT  default: git describe --tags --always --dirty, git rev-parse HEAD
#        GOOS, GOARCH     cross-build; a foreign binary is inspected, not run
#        SMOKE=0          skip the smoke run
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
out=${1:-bin/static}
mkdir -p "$out"
out=$(cd "$out" && pwd)
bin=$out/p2pcache

warnings=0
say() { echo "build-static: $*"; }
ok() { say "ok   $*"; }
warn() { say "WARN $*" >&2; warnings=$((warnings + 1)); }
fail() { say "FAIL $*" >&2; exit 1; }

# ---- the build line, as in the Dockerfile (single quotes: unexpanded) ----
build_env='CGO_ENABLED=0'
# shellcheck disable=SC2016 # expanded later, by eval, after the Dockerfile check
build_flags='-trimpath -buildvcs=false -ldflags="-s -w -X main.version=${VERSION} -X main.commit=${COMMIT}"'

[ -f Dockerfile ] || fail "no Dockerfile at $root"
[ "$(grep -v '^[[:space:]]*#' Dockerfile | grep -c 'go build')" = 1 ] || fail "Dockerfile: expected exactly one 'go build' line"
grep -qF -- "$build_env GOOS=\$TARGETOS GOARCH=\$TARGETARCH" Dockerfile ||
	fail "Dockerfile: the builder's environment is no longer '$build_env GOOS=\$TARGETOS GOARCH=\$TARGETARCH': update this script too"
grep -qF -- "go build $build_flags -o /out/p2pcache ./server" Dockerfile ||
	fail "Dockerfile: the go build line differs from this script's ('go build $build_flags -o /out/p2pcache ./server'): update both together"
ok "Dockerfile builds with: $build_env go build $build_flags ./server"

image_go=$(sed -nE 's/^FROM .*golang:([0-9]+\.[0-9]+).*/\1/p' Dockerfile | head -1)
local_go=$(go env GOVERSION | sed -nE 's/^go([0-9]+\.[0-9]+).*/\1/p')
[ -n "$image_go" ] || fail "Dockerfile: no golang:X.Y builder image"
if [ "$image_go" = "$local_go" ]; then
	ok "Go $local_go here, golang:$image_go in the Dockerfile"
else
	warn "Go $(go env GOVERSION) here but golang:$image_go in the Dockerfile: the image's binary may differ"
fi

# ---- version stamp ----
VERSION=${VERSION:-$(git describe --tags --always --dirty 2>/dev/null || echo dev)}
COMMIT=${COMMIT:-$(git rev-parse HEAD 2>/dev/null || echo unknown)}
for v in "$VERSION" "$COMMIT"; do
	[[ $v =~ ^[A-Za-z0-9._+-]+$ ]] || fail "VERSION/COMMIT '$v': letters, digits and ._+- only"
done

# ---- the build context: the tree less .dockerignore ----
ctx=$(mktemp -d)
relay_pid=
cleanup() {
	if [ -n "$relay_pid" ]; then kill "$relay_pid" 2>/dev/null || true; fi
	rm -rf "$ctx"
}
trap cleanup EXIT
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	# Tracked and untracked files git does not ignore, that exist now.
	git ls-files -z -co --exclude-standard |
		while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done |
		tar --null -T - -cf - | tar -xf - -C "$ctx"
else
	cp -a . "$ctx"
fi
(
	cd "$ctx"
	shopt -s globstar dotglob nullglob
	while IFS= read -r pat || [ -n "$pat" ]; do
		pat=${pat#"${pat%%[![:space:]]*}"}
		pat=${pat%"${pat##*[![:space:]]}"}
		case $pat in '' | '#'*) continue ;; '!'*) fail ".dockerignore: '!' exceptions are not emulated here: '$pat'" ;; esac
		pat=${pat#/}
		pat=${pat%/}
		# shellcheck disable=SC2086 # the pattern is meant to glob
		for m in $pat; do rm -rf -- "$m"; done
	done <"$root/.dockerignore"
)
if [ ! -f "$ctx/go.mod" ] || [ ! -d "$ctx/server" ]; then fail ".dockerignore drops go.mod or server/"; fi
ok "build context: $(find "$ctx" -type f | wc -l) files after .dockerignore"

# ---- the builder stage ----
say "go mod download && go mod verify"
(cd "$ctx" && go mod download && go mod verify >/dev/null) || fail "go mod download/verify"
say "$build_env go build ... -o $bin ./server  (VERSION=$VERSION COMMIT=$COMMIT${GOOS:+ GOOS=$GOOS}${GOARCH:+ GOARCH=$GOARCH})"
if ! (cd "$ctx" && eval "env $build_env GOFLAGS= go build $build_flags -o \"\$bin\" ./server"); then
	if (cd "$root" && env $build_env go build -o /dev/null ./server 2>/dev/null); then
		fail "go build fails from the build context but not from the tree: .dockerignore drops a file the build needs"
	fi
	fail "go build ./server fails (in the tree too)"
fi
[ -x "$bin" ] || fail "no executable at $bin"
ok "built $bin ($(du -h "$bin" | cut -f1))"

# ---- a static executable? ----
target_os=$(go env GOOS) target_arch=$(go env GOARCH)
native=false
if [ "$target_os" = "$(go env GOHOSTOS)" ] && [ "$target_arch" = "$(go env GOHOSTARCH)" ]; then native=true; fi
if command -v file >/dev/null; then
	desc=$(file -b "$bin")
	[[ $desc == ELF* ]] || fail "file: not ELF: $desc"
	[[ $desc == *"statically linked"* ]] || fail "file: not statically linked: $desc"
	ok "file: $desc"
else
	warn "no 'file' command: skipped"
fi
if command -v readelf >/dev/null; then
	! readelf -lW "$bin" | grep -q INTERP || fail "readelf: has a program interpreter (dynamically linked)"
	readelf -d "$bin" | grep -q "no dynamic section" || fail "readelf: has a dynamic section"
	ok "readelf: no INTERP, no dynamic section"
fi
if $native && command -v ldd >/dev/null; then
	l=$(ldd "$bin" 2>&1 || true)
	[[ $l == *"not a dynamic executable"* || $l == *"statically linked"* ]] || fail "ldd: $l"
	ok "ldd: ${l//$'\n'/ }"
fi
info=$(go version -m "$bin")
check_info() { grep -qE "$1" <<<"$info" || fail "go version -m: no '$2' in:"$'\n'"$info"; }
check_info $'^\tpath\tgithub.com/p2pcache/p2pcache/server$' "path github.com/p2pcache/p2pcache/server"
check_info $'^\tbuild\tCGO_ENABLED=0$' "CGO_ENABLED=0"
check_info $'^\tbuild\t-trimpath=true$' "-trimpath=true"
! grep -qE $'^\tbuild\tvcs' <<<"$info" || fail "go version -m: VCS stamped (want -buildvcs=false):"$'\n'"$info"
check_info $'^\tbuild\tGOOS='"$target_os"'$' "GOOS=$target_os"
check_info $'^\tbuild\tGOARCH='"$target_arch"'$' "GOARCH=$target_arch"
ok "go version -m: $(head -1 <<<"$info" | cut -d' ' -f2-), CGO_ENABLED=0, -trimpath, no VCS stamp, $target_os/$target_arch"
# -trimpath keeps -ldflags out of the build info: check their effects.
if command -v readelf >/dev/null; then
	sections=$(readelf -SW "$bin")
	! grep -qE '\.symtab|\.debug_' <<<"$sections" || fail "readelf: symbol table or DWARF present (want -s -w)"
	ok "readelf: no .symtab, no .debug_* (-s -w)"
fi
if grep -qaF "$COMMIT" "$bin"; then
	ok "-X main.commit=$COMMIT is in the binary"
else
	warn "-X main.commit: '$COMMIT' is not in the binary: the relay has no main.commit (or does not use it) yet"
fi

if ! $native; then
	say "PASS (built for $target_os/$target_arch: not run here; $warnings warnings)"
	exit 0
fi

# ---- it runs ----
help=$("$bin" --help 2>&1) || fail "--help exited non-zero: $help"
[[ $help == *"Usage: p2pcache"* ]] || fail "--help: no usage text: $help"
ok "--help ($(grep -c '^  -' <<<"$help") flags)"
if v=$("$bin" --version 2>&1); then
	[[ $v == *"$VERSION"* && $v == *"$COMMIT"* ]] || fail "--version does not print VERSION=$VERSION and COMMIT=$COMMIT: $v"
	ok "--version: $v"
else
	warn "--version: not in this relay yet (needs main.version/main.commit: until then the -X flags are no-ops): ${v%%$'\n'*}"
fi

# ---- smoke run: the image's ENV, on loopback ----
if [ "${SMOKE:-1}" = 0 ]; then
	say "PASS (smoke run skipped; $warnings warnings)"
	exit 0
fi
command -v curl >/dev/null || fail "smoke run needs curl (or SMOKE=0)"
# The ENV instruction(s) of the final stage, as KEY=VALUE words.
mapfile -t image_env < <(awk '
	/^FROM / { envs = "" }
	/^ENV / || cont { line = $0; sub(/^ENV /, "", line); cont = (line ~ /\\$/); sub(/\\$/, "", line); envs = envs " " line }
	END { n = split(envs, w, /[ \t]+/); for (i = 1; i <= n; i++) if (w[i] ~ /=/) print w[i] }' Dockerfile)
[ "${#image_env[@]}" -gt 0 ] || fail "Dockerfile: no ENV in the final stage"
logf=$ctx/relay.log
# As in the image, except: loopback, any free port, text logs, a short drain.
env -i PATH=/usr/bin:/bin HOME="$ctx" "${image_env[@]}" \
	P2PCACHE_LISTEN=127.0.0.1:0 P2PCACHE_ICE_LISTEN=127.0.0.1:0 P2PCACHE_LOG_FORMAT=text P2PCACHE_SHUTDOWN_TIMEOUT=2s \
	"$bin" >"$logf" 2>&1 &
relay_pid=$!
url=
for _ in $(seq 100); do
	url=$(grep -oE 'http=https?://[^ "]+' "$logf" | head -1 | cut -d= -f2) || true
	[ -n "$url" ] && break
	kill -0 "$relay_pid" 2>/dev/null || fail "relay exited at start with the image's ENV (${image_env[*]}):"$'\n'"$(cat "$logf")"
	sleep 0.1
done
[ -n "$url" ] || fail "relay not ready after 10 s:"$'\n'"$(cat "$logf")"
ok "relay up with the image's ENV (${image_env[*]}; listening on 127.0.0.1 here) at $url"
body=$(curl -fsS --max-time 5 "$url/healthz") || fail "GET /healthz"
ok "GET /healthz: $body"
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$url/readyz")
case $code in
200) ok "GET /readyz: 200" ;;
*) fail "GET /readyz: $code" ;;
esac
hc_rc=0
hc=$(env -i P2PCACHE_LISTEN="${url#*://}" "$bin" healthcheck 2>&1) || hc_rc=$?
if [ "$hc_rc" = 0 ]; then
	ok "p2pcache healthcheck: exit 0 against a ready relay"
	# ...and it must be able to fail: a port nothing listens on.
	free=$(awk 'BEGIN { srand(); print 20000 + int(rand() * 20000) }')
	if env -i P2PCACHE_LISTEN="127.0.0.1:$free" "$bin" healthcheck >/dev/null 2>&1; then
		fail "p2pcache healthcheck: exit 0 with no relay on 127.0.0.1:$free"
	fi
	ok "p2pcache healthcheck: non-zero with no relay listening"
else
	fail "p2pcache healthcheck: exit $hc_rc: $hc"
fi
kill -TERM "$relay_pid"
rc=0
for _ in $(seq 70); do kill -0 "$relay_pid" 2>/dev/null || break; sleep 0.1; done
kill -0 "$relay_pid" 2>/dev/null && fail "relay still running 7 s after SIGTERM (shutdown-timeout 2s)"
wait "$relay_pid" || rc=$?
relay_pid=
[ "$rc" = 0 ] || fail "relay exited $rc after SIGTERM:"$'\n'"$(cat "$logf")"
grep -q "shutting down" "$logf" || fail "no 'shutting down' in the relay's log"
ok "SIGTERM: drained and exited 0"
say "PASS ($warnings warnings)"
