# SPDX-License-Identifier: GPL-2.0
# The mesh-path comparison: throughput and request/response rate per
# configuration, IPv4 and IPv6 side by side.
#   gnuplot -e "data='mesh.dat'; out='mesh.png'; title='...'" bench/plot.gp
# mesh.dat (from mesh.json, by bench/run.sh), one block per metric:
#   family direct iptables ebpf sockmap   (a "-": not available)

if (!exists("data")) data = 'mesh.dat'
if (!exists("out")) out = 'mesh.png'
if (!exists("title")) title = 'mesh path on one node'

set terminal pngcairo size 1200,520 font 'sans,10'
set output out
set datafile missing '-'
set style data histogram
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set key outside bottom center horizontal
set grid ytics
set yrange [0:*]
set xrange [-0.6:1.6]
set multiplot layout 1,2 title title font 'sans,12'

set title 'throughput (iperf3, one connection)'
set ylabel 'Gbit/s'
plot data index 0 using 2:xtic(1) title 'direct (no mesh)' lc rgb '#9e9e9e', \
     '' index 0 using 3 title 'iptables (TPROXY)' lc rgb '#e07b39', \
     '' index 0 using 4 title 'eBPF (tc)' lc rgb '#3a7dc9', \
     '' index 0 using 5 title 'eBPF + sockmap' lc rgb '#2e9e5b'

set title 'request/response (64 B ping-pong)'
set ylabel 'transactions/s'
plot data index 1 using 2:xtic(1) title 'direct (no mesh)' lc rgb '#9e9e9e', \
     '' index 1 using 3 title 'iptables (TPROXY)' lc rgb '#e07b39', \
     '' index 1 using 4 title 'eBPF (tc)' lc rgb '#3a7dc9', \
     '' index 1 using 5 title 'eBPF + sockmap' lc rgb '#2e9e5b'

unset multiplot
