#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Install what building, testing and the demo need, with apt-get, only when
# something is missing. Debian 12 package names.
set -eu

PKGS="clang llvm gcc make pkg-config libbpf-dev bpftool libelf-dev zlib1g-dev
libmnl-dev protobuf-c-compiler libprotobuf-c-dev
libcunit1-dev libjson-c-dev libssl-dev iproute2 containernetworking-plugins iperf3 jq valgrind
clang-format
nftables iptables
util-linux procps python3 python3-yaml libclang-rt-14-dev"

missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" != 0 ]; then
	echo "deps: missing packages:$missing (run as root to install)" >&2
	exit 1
fi
echo "deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
