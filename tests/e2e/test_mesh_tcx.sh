#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The whole-system cases of test_mesh.sh with redirectd --attach tcx: pods'
# programs as TCX links at the head of the chain instead of cls_bpf
# filters (skipped where the kernel has no TCX, before 6.6).
ATTACH=tcx
REDIRECTD_ARGS="--attach tcx"
export ATTACH REDIRECTD_ARGS
exec sh "$(dirname "$0")/test_mesh.sh" "$@"
