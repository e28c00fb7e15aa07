#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# test_coverage.sh on the bridge plugin's topology.
TOPOLOGY=bridge
export TOPOLOGY
exec sh "$(dirname "$0")/test_coverage.sh" "$@"
