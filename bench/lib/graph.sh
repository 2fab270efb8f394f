# Sourced by the bench/graph-* benchmarks. Needs $name and $work.
# make_project DIR N: a tup-style project of N compile steps (each reads one .c and seven of
# 1,000 headers and writes one .o) and one link over all N objects, three ways: our
# project (rules/bench.ryml, tasks.tyml, project.pyml), build.ninja and Makefile. The
# commands only `touch` their outputs: the benchmarks time deciding, not compiling.
make_project() {
    python3 - "$@" <<'PYEOF'
import os, sys
root, n = sys.argv[1], int(sys.argv[2])
os.makedirs(root + "/src", exist_ok=True); os.makedirs(root + "/include", exist_ok=True)
os.makedirs(root + "/obj", exist_ok=True); os.makedirs(root + "/rules", exist_ok=True)
headers = ["include/h%04d.h" % i for i in range(1000)]
for h in headers:
    open(root + "/" + h, "w").write("/* %s */\n" % h)
reads = lambda i: ["src/c%06d.c" % i] + [headers[(i * 7 + k * 131) % 1000] for k in range(7)]
for i in range(n):
    open(root + "/src/c%06d.c" % i, "w").write("int f%d(void) { return %d; }\n" % (i, i))
objects = ["obj/c%06d.o" % i for i in range(n)]
with open(root + "/rules/bench.ryml", "w") as f:
    f.write('rules:\n  cc: { build: [touch, "{{output}}"] }\n  link: { build: [touch, "{{output}}"] }\n')
with open(root + "/tasks.tyml", "w") as f:
    f.write("tasks:\n")
    for i in range(n):
        f.write("  cc%d:\n    rule: cc\n    dependencies: [%s]\n    outputs: [%s]\n" % (i, ", ".join(reads(i)), objects[i]))
    f.write("  link:\n    rule: link\n    dependencies:\n")
    for o in objects:
        f.write("      - %s\n" % o)
    f.write("    outputs: [app]\n")
with open(root + "/project.pyml", "w") as f:
    f.write("projects:\n  bench:\n    targets:\n      app:\n        outputs: [app]\n")
with open(root + "/build.ninja", "w") as f:
    f.write("rule cc\n  command = touch $out\nrule link\n  command = touch $out\n")
    for i in range(n):
        r = reads(i)
        f.write("build %s: cc %s | %s\n" % (objects[i], r[0], " ".join(r[1:])))
    f.write("build app: link %s\ndefault app\n" % " ".join(objects))
with open(root + "/Makefile", "w") as f:
    f.write("app: %s\n\ttouch $@\n" % " ".join(objects))
    for i in range(n):
        r = reads(i)
        f.write("%s: %s\n\ttouch $@\n" % (objects[i], " ".join(r)))
PYEOF
}

# best_of K COMMAND...: the fastest of K runs of COMMAND, in seconds (output discarded).
best_of() {
    local k=$1 best="" t0 t1 took; shift
    for _ in $(seq "$k"); do
        t0=$EPOCHREALTIME; "$@" >/dev/null 2>&1; t1=$EPOCHREALTIME
        took=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f", b - a }')
        if [ -z "$best" ] || awk -v a="$took" -v b="$best" 'BEGIN { exit !(a < b) }'; then best=$took; fi
    done
    echo "$best"
}
