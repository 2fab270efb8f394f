# Sourced by the chef benchmarks: a private nats-server with JetStream, the bench rules
# (`noop`: the command `true`), and start_chef. Needs $work, $name and $ours; sets $url and
# $bench_bin; pids go to $work/*.pid.
server=$(command -v nats-server || echo /usr/sbin/nats-server)
[ -x "$server" ] || { echo "$name: nats-server not found; install it with: apt-get install nats-server" >&2; exit 1; }
[ -x "$ours" ] || { echo "$name: no binary at '$ours'; run 'make release'" >&2; exit 1; }
swift build -c release --product majordomo-bench >/dev/null
bench_bin="$(swift build -c release --show-bin-path)/majordomo-bench"
"$server" -a 127.0.0.1 -p -1 -js -sd "$work/js" --ports_file_dir "$work" -l "$work/nats.log" & echo $! > "$work/nats.pid"
for _ in $(seq 100); do ls "$work"/*.ports >/dev/null 2>&1 && break; sleep 0.05; done
url="nats://127.0.0.1:$(sed -n 's/.*"nats:\/\/127.0.0.1:\([0-9]*\)".*/\1/p' "$work"/*.ports)"
mkdir -p "$work/rules" "$work/p"
printf 'rules:\n  noop: {dependencies: [], outputs: [], build: ["true"]}\n' > "$work/rules/bench.ryml"

# start_chef NAME KIND JOBS [OPTIONS…]: a Chef serving KIND, once it takes work.
start_chef() {
    local chef=$1 kind=$2 jobs=$3; shift 3
    "$ours" chef --nats-url "$url" --rules "$work/rules" --kind "$kind" --name "$chef" -j "$jobs" \
        --work-dir "$work/work-$chef" "$@" 2> "$work/$chef.log" & echo $! > "$work/chef-$chef.pid"
    for _ in $(seq 200); do grep -q "serves" "$work/$chef.log" && break; sleep 0.05; done
    grep -q "serves" "$work/$chef.log" || { echo "$name: cp chef did not start:" >&2; cat "$work/$chef.log" >&2; exit 1; }
}

# stop_chefs: SIGTERM to every Chef, and wait for them.
stop_chefs() {
    for pid_file in "$work"/chef-*.pid; do kill "$(cat "$pid_file")" 2>/dev/null || true; done
    for pid_file in "$work"/chef-*.pid; do
        while kill -0 "$(cat "$pid_file")" 2>/dev/null; do sleep 0.05; done
        rm -f "$pid_file"
    done
}

# cpu_seconds PID: the CPU time (user + system) a live process and its ended children have used, in seconds.
cpu_seconds() {
    awk -v hz="$(getconf CLK_TCK)" '{ printf "%.3f", ($14 + $15 + $16 + $17) / hz }' "/proc/$1/stat"
}
