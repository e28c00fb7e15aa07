#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# kernel_has_tcx: the running kernel has TCX links (Linux 6.6+), which the
# TCX attach mode, the inbound guard and their tests and benchmarks need.
kernel_has_tcx() {
	uname -r | awk -F. '{ exit !($1 > 6 || ($1 == 6 && $2 >= 6)) }'
}
