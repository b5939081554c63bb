#!/usr/bin/env bash
# deploy/check-configs.sh — validates the deploy/ configurations and runs a
# relay behind each proxy configuration, end to end, on loopback.
#
#   1. systemd: systemd-analyze verify of p2pcache.service (with and without
#      the bind-privileged-ports drop-in) and its offline security score.
#   2. nginx -t on p2pcache.conf + p2pcache-stream.conf, and on the one-port
#      variant + p2pcache-oneport.conf; caddy validate on the Caddyfile.
#   3. End to end, in a private network namespace that has only loopback (so
#      nothing here can listen on a real interface or reach the network): a
#      relay with ICE-TCP advertised as 127.0.0.2 (--public-ip), and
#        - nginx from p2pcache.conf (TLS, /ws, /files) + p2pcache-stream.conf
#          (ICE-TCP at L4 from 127.0.0.2 to the relay),
#        - caddy from the Caddyfile,
#        - nginx from p2pcache-oneport.conf: HTTPS and ICE-TCP on one port,
#        - no proxy: the relay itself with --ice-listen shared and TLS, one
#          port for HTTPS, WSS and ICE-TCP (and p2pcache healthcheck, and
#          /metrics on --metrics-listen only),
#      each checked with curl (/healthz, /metrics blocked, /files with Range,
#      the WebSocket upgrade with an allowed and a foreign Origin, the client
#      address nginx forwards) and with `p2pcache fetch`, a WebRTC peer that
#      must connect its ICE-TCP pair through the proxy and verify a file.
#   4. The relay starts with deploy/systemd/p2pcache.env, and with
#      deploy/config.example.yaml (less the keys it does not know yet).
#   5. nats-server -t on deploy/nats/*.conf; then the two-region supercluster
#      they describe, on loopback (one server per region, gateways between
#      them), with a relay in each region started with its
#      deploy/nats/relay-*.env: both list each other in GET /cluster, and a
#      file fetched through both costs the origin less than twice its size.
# The proxies run from copies of the shipped files in which only addresses,
# ports and certificate paths are replaced (each replacement must match).
#
# Needs root (unshare -n), nginx with the stream module, caddy, openssl,
# curl, systemd-analyze (Debian: apt-get install -y nginx libnginx-mod-stream
# caddy systemd). Usage: deploy/check-configs.sh   (P2PCACHE_BIN=path to
# test a built relay; default: go build ./server; NATS_SERVER_BIN=path to a
# nats-server; default: nats-server on PATH, else go build of the module's).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
say() { echo "check-configs: $*"; }
ok() { say "ok   $*"; }
warn() { say "WARN $*" >&2; }
fail() {
	say "FAIL $*" >&2
	exit 1
}

# ---- outside the namespace: tools and the relay binary ----
if [ -z "${P2PCACHE_CHECK_NETNS:-}" ]; then
	for t in nginx caddy openssl curl unshare ip systemd-analyze; do
		command -v "$t" >/dev/null || fail "needs $t (apt-get install -y nginx libnginx-mod-stream caddy systemd openssl curl iproute2)"
	done
	[ "$(id -u)" = 0 ] || fail "needs root (a private network namespace: unshare -n)"
	tmp=$(mktemp -d /tmp/p2pcache-check.XXXXXX)
	if [ -z "${P2PCACHE_BIN:-}" ]; then
		say "go build -o $tmp/p2pcache ./server"
		go build -o "$tmp/p2pcache" ./server || fail "go build ./server"
		P2PCACHE_BIN=$tmp/p2pcache
	fi
	P2PCACHE_BIN=$(realpath "$P2PCACHE_BIN")
	if [ -z "${NATS_SERVER_BIN:-}" ]; then
		if command -v nats-server >/dev/null; then
			NATS_SERVER_BIN=$(command -v nats-server)
		else
			say "go build -o $tmp/nats-server github.com/nats-io/nats-server/v2"
			go build -o "$tmp/nats-server" github.com/nats-io/nats-server/v2 || fail "go build nats-server"
			NATS_SERVER_BIN=$tmp/nats-server
		fi
	fi
	NATS_SERVER_BIN=$(realpath "$NATS_SERVER_BIN")
	rc=0
	P2PCACHE_CHECK_NETNS=1 P2PCACHE_CHECK_TMP=$tmp P2PCACHE_BIN=$P2PCACHE_BIN NATS_SERVER_BIN=$NATS_SERVER_BIN unshare -n "$0" "$@" || rc=$?
	rm -rf "$tmp"
	exit "$rc"
fi

# ---- inside: only loopback exists ----
ip link set lo up
# The example public address of the shipped files, so that nginx -t (which
# binds) can bind it: on lo, in this namespace only.
ip addr add 203.0.113.10/32 dev lo
tmp=$P2PCACHE_CHECK_TMP
bin=$P2PCACHE_BIN
pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
}
trap cleanup EXIT
[ "$(ip -o addr | grep -vc ' lo ')" = 0 ] || fail "the namespace has interfaces other than lo"

# has FLAG: does this relay have --FLAG?
relay_help=$("$bin" --help 2>&1)
has() { grep -qE "^ +--?$1( |$)" <<<"$relay_help"; }

# sub FILE FROM TO: replace a literal string that must be in FILE.
sub() {
	grep -qF -- "$2" "$1" || fail "$(basename "$1"): '$2' not found: the shipped file changed, update this script"
	FROM=$2 TO=$3 perl -0pi -e 's/\Q$ENV{FROM}\E/$ENV{TO}/g' "$1"
}

# wait_port HOST PORT [SECONDS]
wait_port() {
	local _
	for _ in $(seq $((${3:-10} * 10))); do
		(exec 3<>"/dev/tcp/$1/$2") 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# ---- 1. systemd ----
sd=$tmp/systemd
mkdir -p "$sd/p2pcache.service.d"
cp deploy/systemd/p2pcache.service "$sd/"
sub "$sd/p2pcache.service" "/usr/local/bin/p2pcache" "$bin"
sub "$sd/p2pcache.service" "/etc/p2pcache/p2pcache.env" "$root/deploy/systemd/p2pcache.env"
out=$(cd "$sd" && systemd-analyze verify --man=no ./p2pcache.service 2>&1) || fail "systemd-analyze verify: $out"
[ -z "$out" ] || fail "systemd-analyze verify printed: $out"
score=$(cd "$sd" && systemd-analyze security --offline=true --no-pager ./p2pcache.service 2>&1 | sed -n 's/.*Overall exposure level for p2pcache.service: //p')
[ -n "$score" ] || fail "systemd-analyze security: no score"
ok "systemd-analyze verify p2pcache.service: clean; security exposure $score"
cp deploy/systemd/bind-privileged-ports.conf "$sd/p2pcache.service.d/"
dump=$(cd "$sd" && SYSTEMD_LOG_LEVEL=debug systemd-analyze verify --man=no ./p2pcache.service 2>&1) ||
	fail "systemd-analyze verify with bind-privileged-ports.conf: $dump"
grep -qE '^\s+AmbientCapabilities: cap_net_bind_service$' <<<"$dump" || fail "drop-in: AmbientCapabilities not applied"
grep -qE '^\s+CapabilityBoundingSet: cap_net_bind_service$' <<<"$dump" || fail "drop-in: CapabilityBoundingSet not applied"
grep -qE '^\s+PrivateUsers: no$' <<<"$dump" || fail "drop-in: PrivateUsers not applied"
ok "systemd-analyze verify with bind-privileged-ports.conf: clean; CAP_NET_BIND_SERVICE only"

# ---- certificates: a CA and a server certificate for 127.0.0.1/2 ----
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=p2pcache-check-ca \
	-keyout "$tmp/ca.key" -out "$tmp/ca.pem" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=relay.example.com \
	-keyout "$tmp/key.pem" -out "$tmp/req.pem" 2>/dev/null
printf 'subjectAltName=DNS:relay.example.com,IP:127.0.0.1,IP:127.0.0.2\n' >"$tmp/san.ext"
openssl x509 -req -in "$tmp/req.pem" -CA "$tmp/ca.pem" -CAkey "$tmp/ca.key" -CAcreateserial -days 2 \
	-extfile "$tmp/san.ext" -out "$tmp/cert.pem" 2>/dev/null
ok "test CA and certificate (127.0.0.1, 127.0.0.2) in $tmp"

# ---- 2. nginx -t, caddy validate ----
ngx_mod=$(ls /usr/lib/nginx/modules/ngx_stream_module.so 2>/dev/null || true)
# nginx_conf NAME HTTP_INCLUDE STREAM_INCLUDE: a wrapper nginx.conf around the files.
nginx_conf() {
	local d=$tmp/$1
	mkdir -p "$d/logs"
	{
		[ -n "$ngx_mod" ] && echo "load_module $ngx_mod;"
		cat <<EOF
user root;
worker_processes 1;
pid $d/nginx.pid;
error_log $d/logs/error.log notice;
events { worker_connections 1024; }
http {
    log_format check '\$remote_addr "\$request" \$status xff=\$proxy_add_x_forwarded_for';
    access_log $d/logs/access.log check;
    client_body_temp_path $d/body;
    proxy_temp_path $d/proxy;
    fastcgi_temp_path $d/fastcgi;
    uwsgi_temp_path $d/uwsgi;
    scgi_temp_path $d/scgi;
    include $2;
}
include $3;
EOF
	} >"$d/nginx.conf"
	echo "$d/nginx.conf"
}
ngx=$tmp/nginx-files
mkdir -p "$ngx"
cp deploy/nginx/p2pcache.conf deploy/nginx/p2pcache-stream.conf deploy/nginx/p2pcache-oneport.conf "$ngx/"
sub "$ngx/p2pcache.conf" /etc/letsencrypt/live/relay.example.com/fullchain.pem "$tmp/cert.pem"
sub "$ngx/p2pcache.conf" /etc/letsencrypt/live/relay.example.com/privkey.pem "$tmp/key.pem"
# The one-port variant of p2pcache.conf: its commented listen lines enabled.
cp "$ngx/p2pcache.conf" "$ngx/p2pcache-1port.conf"
sub "$ngx/p2pcache-1port.conf" $'    listen 443 ssl http2;\n    listen [::]:443 ssl http2;\n' ''
sub "$ngx/p2pcache-1port.conf" '#listen 127.0.0.1:8443 ssl http2 proxy_protocol;' 'listen 127.0.0.1:8443 ssl http2 proxy_protocol;'
sub "$ngx/p2pcache-1port.conf" '#set_real_ip_from 127.0.0.1;' 'set_real_ip_from 127.0.0.1;'
sub "$ngx/p2pcache-1port.conf" '#real_ip_header proxy_protocol;' 'real_ip_header proxy_protocol;'
out=$(nginx -t -p "$tmp" -e stderr -c "$(nginx_conf t-standard "$ngx/p2pcache.conf" "$ngx/p2pcache-stream.conf")" 2>&1) ||
	fail "nginx -t p2pcache.conf + p2pcache-stream.conf: $out"
ok "nginx -t: p2pcache.conf + p2pcache-stream.conf: $(tail -1 <<<"$out" | sed 's/^nginx: //')"
out=$(nginx -t -p "$tmp" -e stderr -c "$(nginx_conf t-oneport "$ngx/p2pcache-1port.conf" "$ngx/p2pcache-oneport.conf")" 2>&1) ||
	fail "nginx -t one-port p2pcache.conf + p2pcache-oneport.conf: $out"
ok "nginx -t: p2pcache.conf (one-port listen) + p2pcache-oneport.conf: $(tail -1 <<<"$out" | sed 's/^nginx: //')"
export HOME=$tmp XDG_DATA_HOME=$tmp/caddy-data XDG_CONFIG_HOME=$tmp/caddy-config
out=$(caddy validate --config deploy/caddy/Caddyfile --adapter caddyfile 2>&1) || fail "caddy validate: $out"
ok "caddy validate deploy/caddy/Caddyfile: $(tail -1 <<<"$out")"
sed -e 's/^\t\t# health_uri /\t\thealth_uri /' -e 's/^\t\t# health_interval /\t\thealth_interval /' \
	deploy/caddy/Caddyfile >"$tmp/Caddyfile.health"
grep -q $'^\t\thealth_uri /readyz' "$tmp/Caddyfile.health" || fail "Caddyfile: no '# health_uri /readyz' line to enable"
out=$(caddy validate --config "$tmp/Caddyfile.health" --adapter caddyfile 2>&1) || fail "caddy validate (health_uri enabled): $out"
ok "caddy validate, with its commented health_uri/health_interval enabled: $(tail -1 <<<"$out")"

# ---- 3. end to end ----
mkdir -p "$tmp/origin/img"
head -c 3000000 /dev/urandom >"$tmp/origin/img/big.bin"
want=$(sha256sum <"$tmp/origin/img/big.bin" | cut -d' ' -f1)
trusted=()
if has trusted-proxies; then trusted=(--trusted-proxies 127.0.0.1/32); else warn "relay has no --trusted-proxies yet: started without it"; fi

# relay NAME LISTEN ICE_LISTEN: start a relay advertising 127.0.0.2.
relay() {
	"$bin" --listen "$2" --ice-listen "$3" --public-ip 127.0.0.2 --origin "$tmp/origin" \
		--shutdown-timeout 1s "${trusted[@]}" >"$tmp/relay-$1.log" 2>&1 &
	pids+=($!)
	wait_port "${2%:*}" "${2##*:}" || fail "relay $1 did not start: $(cat "$tmp/relay-$1.log")"
}

# through NAME URL ICE_PORT [ICE_IP]: the checks of one proxy in front of a
# relay at URL; the peer's ICE pair must end at ICE_IP (default 127.0.0.2):ICE_PORT.
through() {
	local name=$1 url=$2 host=${2#https://} c h out
	c=(curl -sS --max-time 10 --cacert "$tmp/ca.pem" --interface 127.0.0.3)
	h=$("${c[@]}" -f "$url/healthz") || fail "$name: GET /healthz"
	ok "$name: GET /healthz over TLS: $h"
	[ "$("${c[@]}" -o /dev/null -w '%{http_code}' "$url/metrics")" = 404 ] || fail "$name: /metrics is not blocked"
	ok "$name: GET /metrics: 404 (blocked at the proxy)"
	[ "$("${c[@]}" -o "$tmp/part" -w '%{http_code}' -H 'Range: bytes=1000-1999' "$url/files/img/big.bin")" = 206 ] ||
		fail "$name: Range request not 206"
	cmp -s "$tmp/part" <(tail -c +1001 "$tmp/origin/img/big.bin" | head -c 1000) || fail "$name: Range bytes differ"
	ok "$name: GET /files with Range: 206, right bytes"
	[ "$("${c[@]}" "$url/files/img/big.bin" | sha256sum | cut -d' ' -f1)" = "$want" ] || fail "$name: /files body differs"
	ok "$name: GET /files: 3 MB, sha256 matches"
	# WebSocket handshakes: curl stops waiting after the response headers.
	ws() { "${c[@]}" --http1.1 -o /dev/null -D - --max-time 3 -H 'Connection: Upgrade' -H 'Upgrade: websocket' \
		-H 'Sec-WebSocket-Version: 13' -H 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==' -H "Origin: $1" "$url/ws" 2>/dev/null |
		head -1 | tr -d '\r' || true; }
	out=$(ws "https://$host")
	[[ $out == *" 101"* ]] || fail "$name: WebSocket upgrade with Origin https://$host: '$out'"
	ok "$name: WebSocket upgrade, Origin https://$host (Host kept): $out"
	out=$(ws "https://evil.example")
	[[ $out == *" 403"* ]] || fail "$name: WebSocket with a foreign Origin: '$out'"
	ok "$name: WebSocket upgrade, Origin https://evil.example: $out"
	out=$(SSL_CERT_FILE=$tmp/ca.pem "$bin" fetch -relay "$url" -timeout 20s -o "$tmp/fetched" /img/big.bin 2>&1) ||
		fail "$name: p2pcache fetch: $out"
	[ "$(sha256sum <"$tmp/fetched" | cut -d' ' -f1)" = "$want" ] || fail "$name: fetched bytes differ"
	pair=$(grep -m1 '^ice pair:' <<<"$out")
	[[ $pair == *"${4:-127.0.0.2}:$3"* ]] || fail "$name: ICE pair not through ${4:-127.0.0.2}:$3: $out"
	ok "$name: p2pcache fetch over WebRTC, verified; $pair"
}

# A: nginx L7 (p2pcache.conf) + L4 ICE (p2pcache-stream.conf).
relay a 127.0.0.1:18080 127.0.0.1:17881
cp "$ngx/p2pcache.conf" "$ngx/e2e.conf"
sub "$ngx/e2e.conf" "server 127.0.0.1:8080;" "server 127.0.0.1:18080;"
sub "$ngx/e2e.conf" $'    listen 80;\n    listen [::]:80;\n' $'    listen 127.0.0.1:18081;\n'
sub "$ngx/e2e.conf" $'    listen 443 ssl http2;\n    listen [::]:443 ssl http2;\n' $'    listen 127.0.0.1:18443 ssl http2;\n'
cp "$ngx/p2pcache-stream.conf" "$ngx/e2e-stream.conf"
sub "$ngx/e2e-stream.conf" "server 10.0.0.11:7881;" "server 127.0.0.1:17881;"
sub "$ngx/e2e-stream.conf" "server 10.0.0.12:7882;" "server 127.0.0.1:17882;"
sub "$ngx/e2e-stream.conf" "listen 203.0.113.10:7881;" "listen 127.0.0.2:17881;"
sub "$ngx/e2e-stream.conf" "listen 203.0.113.10:7882;" "listen 127.0.0.2:17882;"
conf=$(nginx_conf e2e-a "$ngx/e2e.conf" "$ngx/e2e-stream.conf")
nginx -p "$tmp" -e stderr -c "$conf" -g 'daemon off;' 2>"$tmp/e2e-a/logs/stderr" &
pids+=($!)
if ! wait_port 127.0.0.1 18443 || ! wait_port 127.0.0.2 17881; then fail "nginx (a) did not start: $(cat "$tmp/e2e-a/logs/"*)"; fi
through "nginx" https://127.0.0.1:18443 17881
grep -q '^127.0.0.3 "GET /healthz HTTP/[0-9.]*" 200 xff=127.0.0.3$' "$tmp/e2e-a/logs/access.log" ||
	fail "nginx: the client 127.0.0.3 is not what X-Forwarded-For carries: $(head -3 "$tmp/e2e-a/logs/access.log")"
ok "nginx: X-Forwarded-For to the relay is the client, 127.0.0.3"
[ "$(curl -s -o /dev/null -w '%{http_code} %{redirect_url}' http://127.0.0.1:18081/x)" = "301 https://127.0.0.1/x" ] ||
	fail "nginx: port 80 does not redirect to https"
ok "nginx: plain HTTP redirects to https"

# B: caddy from the Caddyfile, in front of the same relay.
sed -e 's|^relay\.example\.com {$|https://127.0.0.1:18444 {\n\tbind 127.0.0.1\n\ttls '"$tmp/cert.pem $tmp/key.pem"'|' \
	-e 's|reverse_proxy 127\.0\.0\.1:8080 {|reverse_proxy 127.0.0.1:18080 {|' deploy/caddy/Caddyfile >"$tmp/Caddyfile.e2e"
if ! grep -q 'https://127.0.0.1:18444' "$tmp/Caddyfile.e2e" || ! grep -q 'reverse_proxy 127.0.0.1:18080' "$tmp/Caddyfile.e2e"; then
	fail "Caddyfile: site address or upstream not found: the shipped file changed, update this script"
fi
printf '{\n\tadmin off\n\tskip_install_trust\n\tauto_https disable_redirects\n}\n' | cat - "$tmp/Caddyfile.e2e" >"$tmp/Caddyfile.run"
caddy run --config "$tmp/Caddyfile.run" --adapter caddyfile >"$tmp/caddy.log" 2>&1 &
pids+=($!)
wait_port 127.0.0.1 18444 || fail "caddy did not start: $(cat "$tmp/caddy.log")"
through "caddy" https://127.0.0.1:18444 17881

# C: one port for HTTPS and ICE-TCP (p2pcache-oneport.conf), a second relay.
relay c 127.0.0.1:18090 127.0.0.1:17443
cp "$ngx/p2pcache-1port.conf" "$ngx/e2e-1port.conf"
sub "$ngx/e2e-1port.conf" "server 127.0.0.1:8080;" "server 127.0.0.1:18090;"
sub "$ngx/e2e-1port.conf" $'    listen 80;\n    listen [::]:80;\n' $'    listen 127.0.0.1:18091;\n'
sub "$ngx/e2e-1port.conf" "listen 127.0.0.1:8443 ssl http2 proxy_protocol;" "listen 127.0.0.1:18446 ssl http2 proxy_protocol;"
cp "$ngx/p2pcache-oneport.conf" "$ngx/e2e-oneport.conf"
sub "$ngx/e2e-oneport.conf" '""      127.0.0.1:8444;' '""      127.0.0.1:18445;'
sub "$ngx/e2e-oneport.conf" 'default 127.0.0.1:8443;' 'default 127.0.0.1:18446;'
sub "$ngx/e2e-oneport.conf" "listen 203.0.113.10:443;" "listen 127.0.0.2:17443;"
sub "$ngx/e2e-oneport.conf" "listen 127.0.0.1:8444 proxy_protocol;" "listen 127.0.0.1:18445 proxy_protocol;"
sub "$ngx/e2e-oneport.conf" "proxy_pass 127.0.0.1:443;" "proxy_pass 127.0.0.1:17443;"
conf=$(nginx_conf e2e-c "$ngx/e2e-1port.conf" "$ngx/e2e-oneport.conf")
nginx -p "$tmp" -e stderr -c "$conf" -g 'daemon off;' 2>"$tmp/e2e-c/logs/stderr" &
pids+=($!)
wait_port 127.0.0.2 17443 || fail "nginx (one-port) did not start: $(cat "$tmp/e2e-c/logs/"*)"
through "nginx one-port" https://127.0.0.2:17443 17443
grep -q '^127.0.0.3 "GET /healthz HTTP/[0-9.]*" 200 xff=127.0.0.3$' "$tmp/e2e-c/logs/access.log" ||
	fail "nginx one-port: the PROXY protocol did not carry the client address: $(head -3 "$tmp/e2e-c/logs/access.log")"
ok "nginx one-port: the client address (127.0.0.3) survives the L4 split (PROXY protocol)"

# D: no proxy: the relay's own one port (--ice-listen shared) with TLS.
if has metrics-listen && "$bin" --ice-listen shared --help >/dev/null 2>&1; then
	# Browsers reach it directly, at its own address: no --public-ip (pion's
	# ICE-TCP takes a connection only on the address it gathered).
	"$bin" --listen 127.0.0.1:17444 --ice-listen shared --tls-cert "$tmp/cert.pem" --tls-key "$tmp/key.pem" \
		--metrics-listen 127.0.0.1:19090 --origin "$tmp/origin" --shutdown-timeout 1s "${trusted[@]}" >"$tmp/relay-d.log" 2>&1 &
	pids+=($!)
	wait_port 127.0.0.1 17444 || fail "relay d did not start: $(cat "$tmp/relay-d.log")"
	through "relay one-port (--ice-listen shared)" https://127.0.0.1:17444 17444 127.0.0.1
	out=$("$bin" healthcheck --listen 127.0.0.1:17444 --ice-listen shared --tls-cert "$tmp/cert.pem" --tls-key "$tmp/key.pem" 2>&1) ||
		fail "relay one-port: p2pcache healthcheck: $out"
	ok "relay one-port: p2pcache healthcheck from the relay's flags: $out"
	m=$(curl -sS --max-time 5 http://127.0.0.1:19090/metrics) || fail "relay one-port: --metrics-listen /metrics"
	grep -qE '^p2pcache_portmux_connections_total\{result="stun"\} [1-9]' <<<"$m" || fail "relay one-port: no STUN connection counted on the shared port"
	grep -qE '^p2pcache_portmux_connections_total\{result="tls"\} [1-9]' <<<"$m" || fail "relay one-port: no TLS connection counted on the shared port"
	ok "relay one-port: /metrics on --metrics-listen counts the shared port's STUN and TLS connections"
else
	warn "relay has no --ice-listen shared or --metrics-listen yet: its own one-port mode not run"
fi

# ---- 4. the relay's own configuration files ----
mapfile -t envs < <(grep -E '^P2PCACHE_[A-Z_]+=' deploy/systemd/p2pcache.env)
env -i PATH=/usr/bin:/bin "${envs[@]}" P2PCACHE_LISTEN=127.0.0.1:18100 P2PCACHE_ICE_LISTEN=127.0.0.1:17100 \
	"$bin" >"$tmp/relay-env.log" 2>&1 &
pids+=($!)
wait_port 127.0.0.1 18100 || fail "relay with p2pcache.env did not start: $(cat "$tmp/relay-env.log")"
ok "relay starts with deploy/systemd/p2pcache.env (${envs[*]})"
if has config; then
	# The shipped file as it is; keys this relay refuses (next-release flags)
	# are taken out one by one, with a warning, and the rest must still run.
	cp deploy/config.example.yaml "$tmp/config.yaml"
	dropped=()
	for _ in $(seq 20); do
		out=$(timeout 2 "$bin" --config "$tmp/config.yaml" --origin "$tmp/origin" 2>&1) || true
		key=$(sed -nE 's/.*unknown key "([a-z0-9-]+)".*/\1/p' <<<"$out" | head -1)
		[ -n "$key" ] || break
		dropped+=("$key")
		sed -i "/^$key:/d" "$tmp/config.yaml"
	done
	[ "${#dropped[@]}" = 0 ] || warn "relay refuses config.example.yaml keys ${dropped[*]} (not in this relay yet): run without them"
	"$bin" --config "$tmp/config.yaml" --origin "$tmp/origin" >"$tmp/relay-yaml.log" 2>&1 &
	pids+=($!)
	wait_port 127.0.0.1 8080 || fail "relay with config.example.yaml did not start: $(cat "$tmp/relay-yaml.log")"
	[ "$(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:8080/healthz)" = 200 ] || fail "relay with config.example.yaml: /healthz"
	ok "relay runs with --config deploy/config.example.yaml (listen 127.0.0.1:8080, origin overridden by flag)"
else
	warn "relay has no --config yet: config.example.yaml not run"
fi

# ---- 5. the relay mesh on NATS: deploy/nats/ ----
nats=$NATS_SERVER_BIN
for f in deploy/nats/*.conf; do
	out=$("$nats" -t -c "$f" 2>&1) || fail "nats-server -t $f: $out"
	ok "nats-server -t $(basename "$f"): valid"
done
if has nats; then
	# The supercluster on loopback: server 1 of each region (the second
	# servers' addresses stay in the files, unreachable, and are retried).
	nd=$tmp/nats
	mkdir -p "$nd"
	declare -A client=([eu]=14222 [us]=14223) route=([eu]=16222 [us]=16224) gw=([eu]=17222 [us]=17224) mon=([eu]=18222 [us]=18224)
	for r in eu us; do
		f=$nd/nats-$r-1.conf
		cp "deploy/nats/nats-$r-1.conf" "$f"
		sub "$f" "listen: 0.0.0.0:4222" "listen: 127.0.0.1:${client[$r]}"
		sub "$f" "listen: 0.0.0.0:6222" "listen: 127.0.0.1:${route[$r]}"
		sub "$f" "listen: 0.0.0.0:7222" "listen: 127.0.0.1:${gw[$r]}"
		sub "$f" "http: 127.0.0.1:8222" "http: 127.0.0.1:${mon[$r]}"
		sub "$f" "nats-$r-1.internal:6222" "127.0.0.1:${route[$r]}"
		sub "$f" "nats-$r-2.internal:6222" "127.0.0.1:$((route[$r] + 1))"
		for g in eu us; do
			sub "$f" "nats-$g-1.internal:7222" "127.0.0.1:${gw[$g]}"
			sub "$f" "nats-$g-2.internal:7222" "127.0.0.1:$((gw[$g] + 1))"
		done
		"$nats" -c "$f" >"$nd/nats-$r.log" 2>&1 &
		pids+=($!)
		wait_port 127.0.0.1 "${client[$r]}" || fail "nats-server $r did not start: $(cat "$nd/nats-$r.log")"
	done
	ok "nats-server supercluster from deploy/nats/: regions eu and us on loopback"
	declare -A http=([eu]=18120 [us]=18121) ice=([eu]=17120 [us]=17121)
	for r in eu us; do
		mapfile -t envs < <(grep -E '^P2PCACHE_[A-Z_]+=' "deploy/nats/relay-$r.env")
		env -i PATH=/usr/bin:/bin "${envs[@]}" P2PCACHE_NATS="nats://127.0.0.1:${client[$r]}" \
			P2PCACHE_PUBLIC_URL="http://127.0.0.1:${http[$r]}" P2PCACHE_LISTEN="127.0.0.1:${http[$r]}" \
			P2PCACHE_ICE_LISTEN="127.0.0.1:${ice[$r]}" P2PCACHE_ORIGIN="$tmp/origin" \
			"$bin" >"$tmp/relay-nats-$r.log" 2>&1 &
		pids+=($!)
		wait_port 127.0.0.1 "${http[$r]}" || fail "relay with relay-$r.env did not start: $(cat "$tmp/relay-nats-$r.log")"
	done
	for r in eu us; do
		n=0
		for _ in $(seq 100); do
			n=$(curl -s "http://127.0.0.1:${http[$r]}/cluster" | grep -o '"id":' | wc -l)
			[ "$n" = 2 ] && break
			sleep 0.1
		done
		[ "$n" = 2 ] || fail "relay $r: GET /cluster lists $n relays, want 2 (eu and us through the gateway): $(curl -s "http://127.0.0.1:${http[$r]}/cluster")"
	done
	ok "relays with deploy/nats/relay-eu.env and relay-us.env: each lists both in GET /cluster"
	origin_bytes=0
	for r in eu us; do
		[ "$(curl -s "http://127.0.0.1:${http[$r]}/files/img/big.bin" | sha256sum | cut -d' ' -f1)" = "$want" ] ||
			fail "relay $r: /files through the mesh differs"
		b=$(curl -s "http://127.0.0.1:${http[$r]}/metrics" | sed -n 's/^p2pcache_origin_bytes_total \([0-9.e+]*\)$/\1/p')
		origin_bytes=$(awk -v a="$origin_bytes" -v b="${b:-0}" 'BEGIN { printf "%d", a + b }')
	done
	size=$(stat -c %s "$tmp/origin/img/big.bin")
	[ "$origin_bytes" -lt $((2 * size)) ] ||
		fail "the two relays read $origin_bytes bytes from the origin for one $size-byte file: the mesh did not share"
	ok "mesh: img/big.bin through both regions' relays, verified; the origin read $origin_bytes bytes (the file is $size)"
else
	warn "relay has no --nats yet: the mesh example not run"
fi
say "PASS"
