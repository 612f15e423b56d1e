#!/usr/bin/env bash
# The sweep benchmark of the README (issue 11): a 1,000-point sweep of the default
# scenario (scenarios/sweep-default.toml) and a 100-point sweep of Philly x6
# (scenarios/sweep-philly-6x.toml, needs ../shared), each at 1 and at 2 worker threads
# (`--jobs`), alternating 1 and 2 threads REPS times. Prints each run's wall, user and
# system CPU time, the 2-thread speed-up of the wall time (target: at least 1.8x), and
# checks that sweep.csv and sweep_summary.csv are byte-identical at 1 and 2 threads.
#
#   scripts/sweep-speedup.sh [DCSIM] [REPS] [WORKDIR]
#
# DCSIM defaults to ./target/release/dcsim, REPS to 2, WORKDIR to /tmp/dcsim-speedup.
# On a machine shared with other work the wall times (and so the speed-up) are inflated
# by the others' load; the user CPU time is the steadier figure, and the script prints
# the load average before each run so a reader can tell.
set -euo pipefail
dcsim=${1:-./target/release/dcsim}
reps=${2:-2}
work=${3:-/tmp/dcsim-speedup}
cd "$(dirname "$0")/.."
mkdir -p "$work"
fail=0
for scenario in scenarios/sweep-default.toml scenarios/sweep-philly-6x.toml; do
  name=$(basename "$scenario" .toml)
  declare -A wall=()
  for rep in $(seq 1 "$reps"); do
    for threads in 1 2; do
      out="$work/$name-t$threads"
      # A sweep resumes from its journal: start from an empty folder so every run is timed.
      rm -rf "$out"
      load=$(cut -d' ' -f1-3 /proc/loadavg)
      /usr/bin/time -f '%e %U %S %M' -o "$work/time" \
        "$dcsim" sweep "$scenario" --jobs "$threads" -o "$out" --no-report >/dev/null 2>"$work/stderr" ||
        { cat "$work/stderr" "$work/time" >&2; exit 1; }
      read -r w u s rss <"$work/time"
      printf '%-16s rep %d  %d thread(s): wall %7.2f s  user %7.2f s  sys %5.2f s  peak RSS %6d KB  (load avg before: %s)\n' \
        "$name" "$rep" "$threads" "$w" "$u" "$s" "$rss" "$load"
      wall[$threads]="${wall[$threads]:-} $w"
    done
  done
  for f in sweep.csv sweep_summary.csv; do
    if ! cmp -s "$work/$name-t1/$f" "$work/$name-t2/$f"; then
      echo "DIFFERS: $name/$f at 1 and 2 threads"
      fail=1
    fi
  done
  # Best (smallest) wall time at each thread count: the run least disturbed by others.
  best() { tr ' ' '\n' <<<"$1" | grep -v '^$' | sort -g | head -1; }
  w1=$(best "${wall[1]}")
  w2=$(best "${wall[2]}")
  awk -v n="$name" -v a="$w1" -v b="$w2" \
    'BEGIN { printf "%-16s best wall: 1 thread %.2f s, 2 threads %.2f s, speed-up %.2fx\n", n, a, b, a / b }'
  unset wall
done
exit "$fail"
