# Sourced by the bench/watch-* benchmarks. Needs $name (the script's name, for messages),
# $ours (our binary) and $work (a scratch directory whose pid file the EXIT trap kills).
# Helpers: need TOOL PACKAGE, make_tree, start_ours / start_inotifywait (stderr lines stamped
# with the time they arrived), wait_line, wait_quiet, stop, rss_kib, elapsed.
[ -x "$ours" ] || { echo "$name: no binary at '$ours'; run 'make release'" >&2; exit 1; }

# need TOOL PACKAGE: exit with the install command when TOOL is missing.
need() {
    command -v "$1" >/dev/null || { echo "$name: $1 not found; install it with: apt-get install $2" >&2; exit 1; }
}
need python3 python3

# stamp: copy stdin to stdout, each line prefixed with the wall-clock time it arrived
# (EPOCHREALTIME: no fork per line).
stamp() { while IFS= read -r line; do printf '%s %s\n' "$EPOCHREALTIME" "$line"; done; }

elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }

# make_tree DIR FILES DIRS [MIN_BYTES MAX_BYTES]: FILES files of random content and size
# spread evenly over DIRS directories, two levels deep (DIRS counts both levels).
make_tree() {
    python3 - "$@" <<'EOF'
import os, random, sys
root, files, dirs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
lo, hi = (int(sys.argv[4]), int(sys.argv[5])) if len(sys.argv) > 5 else (1024, 4096)
top = max(1, int(dirs ** 0.5))
paths = []
for t in range(top):
    paths.append(os.path.join(root, "d%03d" % t))
for i in range(dirs - top):
    paths.append(os.path.join(paths[i % top], "s%04d" % i))
for p in paths:
    os.makedirs(p, exist_ok=True)
pool = os.urandom(16 << 20)
rng = random.Random(1)
for i in range(files):
    size = rng.randint(lo, hi)
    start = rng.randrange(0, len(pool) - size)
    with open(os.path.join(paths[i % len(paths)], "f%06d.bin" % i), "wb") as f:
        f.write(pool[start:start + size])
EOF
}

# start_ours TAG ARGS...: `cp watch ARGS...` in the background, stdout to $work/TAG.out,
# stderr stamped to $work/TAG.err; sets $pid and $t_start (the time just before the start).
start_ours() {
    local tag=$1; shift
    t_start=$EPOCHREALTIME
    "$ours" watch "$@" > "$work/$tag.out" 2> >(stamp > "$work/$tag.err") &
    pid=$!
    echo "$pid" >> "$work/pid"
}

# start_inotifywait TAG ARGS...: the same for `inotifywait ARGS...`.
start_inotifywait() {
    local tag=$1; shift
    t_start=$EPOCHREALTIME
    inotifywait "$@" > "$work/$tag.out" 2> >(stamp > "$work/$tag.err") &
    pid=$!
    echo "$pid" >> "$work/pid"
}

# wait_line FILE PATTERN SECONDS [PID]: poll FILE (a stamped stderr) until a line matches the
# extended regex PATTERN; print that line's arrival time. Fails on the deadline or when PID
# has exited without printing it.
wait_line() {
    local file=$1 pattern=$2 deadline=$((SECONDS + $3)) watched=${4:-}
    while [ "$SECONDS" -lt "$deadline" ]; do
        if grep -qE "$pattern" "$file" 2>/dev/null; then
            grep -E "$pattern" "$file" | head -1 | cut -d' ' -f1
            return 0
        fi
        if [ -n "$watched" ] && ! kill -0 "$watched" 2>/dev/null; then
            sleep 0.1; grep -qE "$pattern" "$file" && { grep -E "$pattern" "$file" | head -1 | cut -d' ' -f1; return 0; }
            echo "$name: the watcher exited before printing '$pattern'; its stderr:" >&2
            tail -5 "$file" >&2
            return 1
        fi
        sleep 0.01
    done
    echo "$name: no '$pattern' in $file within $3 s; its last lines:" >&2
    tail -5 "$file" >&2
    return 1
}

# wait_quiet QUIET_SECONDS DEADLINE_SECONDS COMMAND...: wait until the output of COMMAND
# (a count) has not changed for QUIET_SECONDS, or until DEADLINE_SECONDS have passed.
wait_quiet() {
    local quiet=$1 deadline=$((SECONDS + $2)); shift 2
    local last=-1 count since=$SECONDS
    while [ "$SECONDS" -lt "$deadline" ]; do
        count=$("$@")
        if [ "$count" != "$last" ]; then last=$count; since=$SECONDS; fi
        [ $((SECONDS - since)) -ge "$quiet" ] && return 0
        sleep 0.1
    done
    echo "$name: still changing after $2 s (count $last)" >&2
}

# stop PID: SIGTERM and wait for it (cp watch exits 130 on it).
stop() {
    kill "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
}

rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
