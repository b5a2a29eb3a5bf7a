#!/usr/bin/env bash
# The fault drills five times in a row on each backend with two CPU-bound processes beside
# them (`make drills-under-load`): a drill must pass on a busy 2-core machine, only slower.
# Prints one line per run: backend, run, exit status, seconds, load average, pytest's summary.
set -u
cd "$(dirname "$0")/.."
RUNS=${RUNS:-5}
python3 -c "while True: pass" & B1=$!
python3 -c "while True: pass" & B2=$!
trap 'kill $B1 $B2 2>/dev/null' EXIT
failed=0
for backend in postgresql sqlite; do
  for i in $(seq 1 "$RUNS"); do
    start=$(date +%s)
    log=test-artifacts/drills-under-load-$backend-$i.log
    mkdir -p test-artifacts
    MG_TEST_DB=$backend MG_TEST_REDIS_URL=${MG_TEST_REDIS_URL:-redis://127.0.0.1:6379/7} \
      .venv/bin/pytest -q -p no:cacheprovider -s tests/test_delivery_drills.py > "$log" 2>&1
    rc=$?
    [ $rc -eq 0 ] || failed=1
    echo "$backend run $i: exit $rc, $(( $(date +%s) - start )) s, load $(cut -d' ' -f1-3 /proc/loadavg), $(tail -1 "$log")"
  done
done
exit $failed
