#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# test_services.sh on the bridge plugin's topology: ztunnel's connections
# reach the node's NAT through the bridge, not through ztunnel's veth.
TOPOLOGY=bridge
export TOPOLOGY
exec sh "$(dirname "$0")/test_services.sh" "$@"
