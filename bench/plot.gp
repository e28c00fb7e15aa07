# SPDX-License-Identifier: GPL-2.0
# The mesh-path comparison, unpinned: one-stream throughput and the 64-byte
# half round trip per configuration, IPv4 and IPv6 side by side.
#   gnuplot -e "data='mesh.dat'; out='mesh.png'; title='...'" bench/plot.gp
# mesh.dat (from mesh.json: bench/report.sh OUT dat): two blocks, throughput
# then the half round trip, each a header line of quoted configuration names
# and one line per family ("-": not available).

if (!exists("data")) data = 'mesh.dat'
if (!exists("out")) out = 'mesh.png'
if (!exists("title")) title = 'mesh path on one node'

set terminal pngcairo size 1500,600 font 'sans,10'
set output out
set datafile missing '-'
set key autotitle columnheader
set style data histogram
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set key outside bottom center horizontal
set grid ytics
set yrange [0:*]
set xrange [-0.6:1.6]
set linetype 1 lc rgb '#9e9e9e'
set linetype 2 lc rgb '#e07b39'
set linetype 3 lc rgb '#3a7dc9'
set linetype 4 lc rgb '#2e9e5b'
set linetype 5 lc rgb '#8e5bb5'
set linetype 6 lc rgb '#c9b03a'
set linetype 7 lc rgb '#5bb5b0'
set multiplot layout 1,2 title title font 'sans,12'

set title 'throughput (iperf3, one stream; higher is better)'
set ylabel 'Gbit/s'
plot for [c=2:8] data index 0 using c:xtic(1) lt (c - 1)

set title 'half round trip (64 B ping-pong; lower is better)'
set ylabel 'us'
plot for [c=2:8] data index 1 using c:xtic(1) lt (c - 1)

unset multiplot
