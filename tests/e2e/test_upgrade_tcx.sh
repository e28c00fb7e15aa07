#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# test_upgrade.sh with redirectd --attach tcx: links updated in place.
ATTACH=tcx
REDIRECTD_ARGS="--attach tcx"
export ATTACH REDIRECTD_ARGS
exec sh "$(dirname "$0")/test_upgrade.sh" "$@"
