#!/usr/bin/env bash
# `make test` on a fresh clone of HEAD while two CPU hogs keep both cores busy (docs/RELIABILITY.md, "The test
# suite on a loaded machine"). Usage: tests/load/under_load.sh [DIR]  (DIR: where to clone; default a temp dir)
set -u
repo=$(git -C "$(dirname "$0")" rev-parse --show-toplevel)
dir=${1:-$(mktemp -d)/clone}
git clone --quiet "$repo" "$dir" || exit 2
python3 -c 'while 1: pass' & hog1=$!
python3 -c 'while 1: pass' & hog2=$!
trap 'kill $hog1 $hog2 2>/dev/null' EXIT
started=$(date +%s)
(cd "$dir" && make test) > "$dir.log" 2>&1
rc=$?
echo "make test on $(git -C "$dir" rev-parse --short HEAD) beside two CPU hogs: exit $rc after $(( $(date +%s) - started )) s (log: $dir.log)"
exit $rc
