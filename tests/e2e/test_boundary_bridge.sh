#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The mesh-boundary cases of test_boundary.sh on the bridge plugin's
# topology (pods' veths enslaved to a bridge, pod to pod switched at L2).
TOPOLOGY=bridge
export TOPOLOGY
exec sh "$(dirname "$0")/test_boundary.sh" "$@"
