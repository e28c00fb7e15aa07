#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# redirectd --metrics: the Prometheus exposition, over TCP (inside the node
# netns only) and a Unix socket, and that it follows the datapath.
set -u
BUILD=${1:-build}
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/assert.sh
. tests/lib/node.sh

need_root
need_built redirectd redirectctl redirect-cni ztunnel-sim

node_init "$BUILD"
node_start_redirectd --metrics 127.0.0.1:9464 || setup_failed redirectd
ztunnel_start zt || setup_failed ztunnel
pod_create_chain a || setup_failed "pod a"
pod_create_chain b || setup_failed "pod b"
pod_serve b --port 8080 || setup_failed "server b"

# fetch PATH [unix:SOCKET]: the HTTP response body, from inside the node
fetch() {
	in_node python3 - "$@" <<'PY'
import socket, sys
path = sys.argv[1]
if len(sys.argv) > 2:
    s = socket.socket(socket.AF_UNIX)
    s.connect(sys.argv[2][5:])
else:
    s = socket.create_connection(("127.0.0.1", 9464), timeout=5)
s.sendall(b"GET " + path.encode() + b" HTTP/1.0\r\nHost: x\r\n\r\n")
data = b""
while True:
    d = s.recv(65536)
    if not d:
        break
    data += d
head, _, body = data.partition(b"\r\n\r\n")
print(head.split(b"\r\n")[0].decode())
sys.stdout.write(body.decode())
PY
}

metric() {
	fetch /metrics | grep "^ambient_redirect_$1 " | awk '{print $2}'
}

case_begin "GET /metrics serves every family with HELP and TYPE"
out=$(fetch /metrics)
check_contains "status" "$out" "HTTP/1.0 200 OK"
for f in pods pod_addresses pod_capacity ztunnel_present sockmap_active \
	clients requests_total request_errors_total datapath_packets_total \
	datapath_bytes_total ztunnel_tcx ztunnel_foreign_first \
	order_violations_total order_restored_total; do
	check_contains "TYPE $f" "$out" "# TYPE ambient_redirect_$f "
	check_contains "HELP $f" "$out" "# HELP ambient_redirect_$f "
done
check_eq "pods" 2 "$(metric pods)"
check_eq "ztunnel present" 1 "$(metric ztunnel_present)"
check_eq "its hooks as status says (1: TCX links)" \
	"$(ctl -j status | jq -r 'if .ztunnel_attach == "tcx" then 1 else 0 end')" \
	"$(metric ztunnel_tcx)"
check_eq "nothing runs before them" 0 "$(metric ztunnel_foreign_first)"
check_contains "a labelled counter" "$out" \
	'ambient_redirect_datapath_packets_total{program="app_outbound",decision="redirect_ztunnel"}'
case_end

case_begin "counters follow the traffic"
key='ambient_redirect_datapath_packets_total{program="app_outbound",decision="redirect_ztunnel"}'
n0=$(fetch /metrics | grep -F "$key" | awk '{print $2}')
check "a -> b" pod_send a --to "$(pod_ip b 4)" --port 8080 --bytes 50000
n1=$(fetch /metrics | grep -F "$key" | awk '{print $2}')
check_gt "redirect_ztunnel rose" "$n1" "$n0"
case_end

case_begin "other paths and methods are refused; the daemon keeps serving"
check_contains "404" "$(fetch /other)" "404"
check_contains "still 200" "$(fetch /metrics)" "200 OK"
check "API still served" ctl status
case_end

case_begin "a Unix socket address works too"
kill "$REDIRECTD_PID"
wait "$REDIRECTD_PID" 2>/dev/null
check "restart with unix:" node_start_redirectd --metrics "unix:$WORK/metrics.sock"
check_contains "200 over unix" "$(fetch /metrics "unix:$WORK/metrics.sock")" "200 OK"
case_end

case_begin "100 idle connections to the metrics endpoint: a scrape still gets in"
kill "$REDIRECTD_PID"
wait "$REDIRECTD_PID" 2>/dev/null
check "restart on TCP" node_start_redirectd --metrics 127.0.0.1:9464
rm -f "$WORK/mhold.ready"
node_bg "$NODE_NS" python3 tests/tools/holdconns.py tcp:127.0.0.1:9464 100 \
	"$WORK/mhold.ready"
MHOLD=$LAST_PID
settle test -f "$WORK/mhold.ready" || sleep 3
echo "  $(cat "$WORK/mhold.ready" 2>/dev/null)"
out=$(fetch /metrics)
check_contains "scrape answered" "$out" "200"
check_contains "with the metrics" "$out" "ambient_redirect_requests_total"
kill "$MHOLD"
case_end

results
