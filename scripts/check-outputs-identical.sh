#!/usr/bin/env bash
# Runs every bundled scenario (scenarios/*.toml) with two dcsim binaries and checks that
# every output file they write (jobs.csv, timeseries.csv, power*.csv, summary.json) is
# byte-identical. Used to show a refactor changes no result (issue 17).
#
#   scripts/check-outputs-identical.sh BASE_DCSIM NEW_DCSIM [WORKDIR] [EXTRA RUN ARGS...]
#
# BASE_DCSIM: a dcsim built from the commit to compare with (e.g. a worktree of main);
# NEW_DCSIM: usually ./target/release/dcsim. A folder of base outputs made by an earlier
# call is reused when WORKDIR/base already holds one (delete it to re-run the base).
# summary.json's `dcsim_version` is the same crate version on both sides. A scenario the
# base cannot run (newer than it) is reported as skipped, not compared.
set -euo pipefail
base=${1:?usage: $0 BASE_DCSIM NEW_DCSIM [WORKDIR] [EXTRA RUN ARGS...]}
new=${2:?usage: $0 BASE_DCSIM NEW_DCSIM [WORKDIR] [EXTRA RUN ARGS...]}
work=${3:-/tmp/dcsim-identical}
shift $(( $# < 3 ? $# : 3 ))
cd "$(dirname "$0")/.."
mkdir -p "$work"
fail=0
for s in scenarios/*.toml; do
  name=$(basename "$s" .toml)
  if [ ! -f "$work/base/$name/summary.json" ]; then
    if ! "$base" run "$s" -o "$work/base/$name" --no-report --force >/dev/null 2>&1; then
      echo "skipped $name: the base binary cannot run it (a scenario or key newer than the base)"
      continue
    fi
  fi
  "$new" run "$s" -o "$work/new/$name" --no-report --force "$@" >/dev/null
  for f in "$work/base/$name"/*; do
    g="$work/new/$name/$(basename "$f")"
    if ! cmp -s "$f" "$g"; then
      echo "DIFFERS: $name/$(basename "$f")"
      fail=1
    fi
  done
  extra=$(comm -13 <(ls "$work/base/$name") <(ls "$work/new/$name") || true)
  if [ -n "$extra" ]; then
    echo "EXTRA FILES in $name: $extra"
    fail=1
  fi
  echo "checked $name"
done
if [ "$fail" -ne 0 ]; then
  echo "outputs differ" >&2
  exit 1
fi
echo "all outputs byte-identical"
