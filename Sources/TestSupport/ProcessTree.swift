import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Pids of every live descendant of `root`, found by scanning `/proc/<pid>/stat`.
///
/// sshd forks a process per connection and does not kill them when the listener exits;
/// such orphans would outlive a stopped server, so servers clean up their descendants.
func descendantPids(of root: pid_t) -> [pid_t] {
    var children: [pid_t: [pid_t]] = [:]
    let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
    for pid in entries.compactMap({ pid_t($0) }) {
        if let parent = parentPid(of: pid) { children[parent, default: []].append(pid) }
    }
    var result: [pid_t] = []
    var pending = children[root] ?? []
    while let pid = pending.popLast() {
        result.append(pid)
        pending += children[pid] ?? []
    }
    return result
}

/// Field 4 of `/proc/<pid>/stat`. The command name (field 2) may contain spaces and
/// parentheses, so parsing starts after the last ')'.
private func parentPid(of pid: pid_t) -> pid_t? {
    guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/stat") else { return nil }
    let text = String(decoding: data, as: UTF8.self)
    guard let close = text.lastIndex(of: ")") else { return nil }
    let fields = text[text.index(after: close)...].split(separator: " ")
    // fields[0] is the state, fields[1] the parent pid.
    guard fields.count > 1 else { return nil }
    return pid_t(fields[1])
}

/// SIGKILLs every pid in `pids` that still exists.
func killAll(_ pids: [pid_t]) {
    for pid in pids { kill(pid, SIGKILL) }
}

/// Waits until none of `pids` exists any more (or `deadline` passes). Returns whether
/// they are all gone; zombies count as present.
@discardableResult
func waitUntilGone(_ pids: [pid_t], deadline: Duration) async -> Bool {
    let end = ContinuousClock.now + deadline
    while true {
        if pids.allSatisfy({ kill($0, 0) == -1 && errno == ESRCH }) { return true }
        if ContinuousClock.now >= end { return false }
        await pause(.milliseconds(10))
    }
}
