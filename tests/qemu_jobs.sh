# Sourced by tests/neon.sh and tests/cross.sh: qemu-user runs side by side, JOBS at a time.
# The caller sets tmp (a scratch folder), JOBS, and a fail() that counts failures.
now() { date +%s; }
jobs_run=()
job() { # name command...: runs in the background, output in $tmp/name.log
    local name=$1; shift
    while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do wait -n; done
    jobs_run+=("$name")
    (
        s=$(now)
        "$@" >"$tmp/$name.log" 2>&1
        echo $? >"$tmp/$name.rc"
        echo $(($(now) - s)) >"$tmp/$name.secs"
    ) &
}
# Waits for every job, prints each one's output and calls fail for each that exited non-zero.
jobs_report() {
    wait
    local name rc
    for name in "${jobs_run[@]}"; do
        rc=$(cat "$tmp/$name.rc" 2>/dev/null || echo 1)
        echo "== $name: exit $rc, $(cat "$tmp/$name.secs" 2>/dev/null) s under qemu"
        cat "$tmp/$name.log"
        [ "$rc" -eq 0 ] || fail "$name (exit $rc)"
    done
}
