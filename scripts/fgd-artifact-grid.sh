#!/usr/bin/env bash
# What dcsim takes for the FGD paper's artifact grid (README, "Sweep speed"): 6 placement
# policies x 17 openb pod lists x 10 seeds (42-51), 1,020 experiments, about 10 h on a
# 256-vCPU machine by the artifact's README. Two ways (needs ../shared):
#
# 1. the artifact's own experiment, workload inflation (`dcsim inflate`, one call per pod
#    list, 6 policies x 10 seeds each): the 14 of its 17 lists that ../shared holds, with
#    gpushare20, gpuspec05 and cpu037 standing in for gpushare60, gpuspec33 and multigpu50;
# 2. the same grid as a sweep of replays (`dcsim sweep scenarios/sweep-fgd-grid.toml`).
#
#   scripts/fgd-artifact-grid.sh [DCSIM] [JOBS] [WORKDIR]
#
# Prints wall, user and system CPU time of each. DCSIM defaults to
# ./target/release/dcsim, JOBS (sweep threads) to 2, WORKDIR to /tmp/dcsim-fgd-grid.
set -euo pipefail
dcsim=$(realpath "${1:-./target/release/dcsim}")
jobs=${2:-2}
work=${3:-/tmp/dcsim-fgd-grid}
cd "$(dirname "$0")/.."
repo=$PWD
traces=$(realpath ../shared/traces/alibaba-openb-2023)
rm -rf "$work"
mkdir -p "$work/scenarios"
lists="default cpu050 cpu100 cpu200 cpu250 gpushare100 gpushare40 gpushare20 gpushare80
  gpuspec10 gpuspec20 gpuspec25 gpuspec05 multigpu20 multigpu30 multigpu40 cpu037"
for l in $lists; do
  cat >"$work/scenarios/$l.toml" <<EOF
name = "fgd-$l"
seed = 42
[topology]
path = "$repo/topologies/openb.toml"
[workload]
format = "openb"
path = "$traces/openb_pod_list_$l.csv"
[scheduler]
queue = "fifo-skip"
placement = "fgd"
EOF
done
timed() { /usr/bin/time -f '%e %U %S' -o "$work/time" "$@" >/dev/null; cat "$work/time"; }
total_w=0 total_u=0
for l in $lists; do
  read -r w u _ < <(timed "$dcsim" inflate "$work/scenarios/$l.toml" \
    --policies random,dot-product,gpu-clustering,gpu-packing,best-fit,fgd --seeds 10 \
    -o "$work/inflate-$l")
  printf 'inflate %-12s 60 runs: wall %6.2f s  user %6.2f s\n' "$l" "$w" "$u"
  total_w=$(awk -v a="$total_w" -v b="$w" 'BEGIN { print a + b }')
  total_u=$(awk -v a="$total_u" -v b="$u" 'BEGIN { print a + b }')
done
echo "inflation, 1,020 runs on 1 thread: wall $total_w s, user $total_u s"
read -r w u s < <(timed "$dcsim" sweep scenarios/sweep-fgd-grid.toml --jobs "$jobs" \
  -o "$work/sweep" --no-report)
echo "sweep of replays, 1,020 runs on $jobs threads: wall $w s, user $u s, sys $s s"
