import Foundation
import RESTClient
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The fault campaign (issue 18): with every role a process of its own, each of `cp watch`,
/// the MajorDomo, a Chef and `nats-server` is killed with -9 at a random moment of a build and
/// started again. After each kill the build completes, every output is what a clean build
/// makes of the sources, and nothing up to date ran again; a task may run twice only if it
/// was in flight at the kill. `CP_FAULT_TRIALS` sets the trials per role (default 2; the
/// figures in docs/reliability.md are from 10); each trial's figures are printed as a table.
@Suite(.serialized) struct FaultCampaignEndToEndTests {
    /// A chain of `steps` tasks: `o1.txt` is `s1.txt`; `oN.txt` is `o(N-1).txt` then `sN.txt`.
    static let steps = 8
    /// How long each step's command takes, so a kill can land in the middle of a build.
    static let stepTime = 0.2

    struct Listed: Codable { var id: String; var state: String }

    enum Role: String, CaseIterable { case watch, majordomo, chef, nats = "nats-server" }

    /// What one trial saw.
    struct Trial {
        var role: Role
        var edited: Int
        var killedAfter: Double
        var recovery: Double
        var ran: [String]
        var expected: Int
        /// Runs of steps that were up to date.
        var upToDateReruns: Int
    }

    /// The parts, each started again after its kill.
    final class Parts {
        let scratch: TemporaryDirectory
        let server: NATSTestServer
        var watch: ChildProcess
        var majordomo: RunningMajorDomo
        var chef: ChildProcess

        init(
            scratch: TemporaryDirectory, server: NATSTestServer, watch: ChildProcess, majordomo: RunningMajorDomo,
            chef: ChildProcess
        ) {
            self.scratch = scratch
            self.server = server
            self.watch = watch
            self.majordomo = majordomo
            self.chef = chef
        }

        var majorDomoArguments: [String] { ["--rules", scratch.file("rules"), "--ack-wait", "2s"] }

        /// `cp watch` with its tree's state kept across restarts; its log in `watch-N.err`.
        static func startWatch(_ server: NATSTestServer, _ scratch: TemporaryDirectory, _ incarnation: Int)
            async throws -> ChildProcess
        {
            let log = scratch.file("watch-\(incarnation).err")
            let watch = try await ChildProcess.spawn(
                cpBinary,
                [
                    "watch", "--nats-url", server.url, "--pod", "laptop", "--settle", "50ms", "--state",
                    scratch.file("watch.state"), scratch.file("idle"),
                ], stdoutPath: scratch.file("watch-\(incarnation).out"), stderrPath: log)
            try await waitUntil(deadline: .seconds(30), "cp watch to start") {
                readTail(of: log).contains("watches established") || !watch.isRunning
            }
            return watch
        }

        /// `cp chef` with one slot; its log in `chef-N.log`.
        static func startChef(_ server: NATSTestServer, _ scratch: TemporaryDirectory, _ incarnation: Int)
            async throws -> ChildProcess
        {
            let log = scratch.file("chef-\(incarnation).log")
            let chef = try await ChildProcess.spawn(
                cpBinary,
                [
                    "chef", "--nats-url", server.url, "--name", "c", "--pod", "laptop", "-j", "1", "--rules",
                    scratch.file("rules"), "--work-dir", scratch.file("work"),
                ], stdoutPath: scratch.file("chef-\(incarnation).out"), stderrPath: log)
            try await waitUntil(deadline: .seconds(30), "cp chef to start") {
                readTail(of: log).contains(" serves ") || !chef.isRunning
            }
            return chef
        }

        var incarnations = 0

        /// Kills `role` with -9 and starts it again on the same state.
        func killAndRestart(_ role: Role) async throws {
            switch role {
            case .watch:
                _ = try await watch.kill9()
                incarnations += 1
                watch = try await Self.startWatch(server, scratch, incarnations)
            case .majordomo:
                _ = try await majordomo.process.kill9()
                majordomo = try await RunningMajorDomo.start(server, scratch: scratch, extra: majorDomoArguments)
            case .chef:
                _ = try await chef.kill9()
                incarnations += 1
                chef = try await Self.startChef(server, scratch, incarnations)
            case .nats:
                try await server.kill9()
                try await server.restart()
            }
        }
    }

    static func write(_ scratch: TemporaryDirectory) throws {
        let runs = scratch.file("runs.log")
        try scratch.write(
            "rules/steps.ryml",
            """
            rules:
              step:
                dependencies: []
                outputs: []
                build: [sh, -c, "out=$0; echo \\"$out\\" >> '\(runs)'; sleep \(stepTime); cat \\"$@\\" > \\"$out\\"", "{{output}}", "{{dependencies}}"]
            """)
        var tasks = "tasks:\n  t1: {rule: step, dependencies: [s1.txt], outputs: [o1.txt]}\n"
        for step in 2...steps {
            tasks +=
                "  t\(step): {rule: step, dependencies: [o\(step - 1).txt, s\(step).txt], outputs: [o\(step).txt]}\n"
        }
        try scratch.write("p/tasks.tyml", tasks)
        for step in 1...steps { try scratch.write("p/s\(step).txt", "source \(step)\n") }
    }

    /// The outputs a clean build makes of the sources as they are now.
    static func cleanOutputs(_ project: String) throws -> [String: String] {
        var outputs: [String: String] = [:]
        var previous = ""
        for step in 1...steps {
            previous += try String(contentsOfFile: project + "/s\(step).txt", encoding: .utf8)
            outputs["o\(step).txt"] = previous
        }
        return outputs
    }

    static func outputs(_ project: String) -> [String: String] {
        var found: [String: String] = [:]
        for step in 1...steps {
            found["o\(step).txt"] = try? String(contentsOfFile: project + "/o\(step).txt", encoding: .utf8)
        }
        return found
    }

    static func runs(_ scratch: TemporaryDirectory) -> [String] {
        ((try? String(contentsOfFile: scratch.file("runs.log"), encoding: .utf8)) ?? "").split(separator: "\n")
            .map(String.init)
    }

    @Test func everyRoleKilledMidBuildLosesNothingAndRerunsNothingUpToDate() async throws {
        let trials = Int(ProcessInfo.processInfo.environment["CP_FAULT_TRIALS"] ?? "") ?? 2
        try await withNATSServer(jetStream: true) { server in
            let scratch = try TemporaryDirectory()
            defer { scratch.remove() }
            try Self.write(scratch)
            try FileManager.default.createDirectory(atPath: scratch.file("idle"), withIntermediateDirectories: true)
            let project = scratch.file("p")
            let watch = try await Parts.startWatch(server, scratch, 0)
            let majordomo = try await RunningMajorDomo.start(
                server, scratch: scratch, extra: ["--rules", scratch.file("rules"), "--ack-wait", "2s"])
            let chef = try await Parts.startChef(server, scratch, 0)
            let parts = Parts(scratch: scratch, server: server, watch: watch, majordomo: majordomo, chef: chef)
            try await MajorDomoEndToEndTests().addWatched(
                project, majordomo.overSocket, expecting: Set((1...Self.steps).map { "s\($0).txt" }))
            func builds() async -> [Listed] {
                (try? await parts.majordomo.overSocket.get("/builds", as: [Listed].self)) ?? []
            }
            func settled(_ context: String) async throws {
                do {
                    try await waitUntil(deadline: .seconds(120), "the outputs of a clean build: \(context)") {
                        guard Self.outputs(project) == (try? Self.cleanOutputs(project)) else { return false }
                        let listed = await builds()
                        return !listed.isEmpty && !listed.contains { $0.state == "running" }
                    }
                } catch {
                    let last = try? await parts.majordomo.overSocket.send("GET", "/builds")
                    Issue.record(
                        """
                        \(context): builds \(last.map { String(decoding: $0.body, as: UTF8.self) } ?? "?")
                        runs \(Self.runs(scratch)); outputs \(Self.outputs(project))
                        MajorDomo: \(parts.majordomo.log.suffix(3000))
                        """)
                    throw error
                }
            }
            // The first build, with nothing killed: every step runs once.
            struct Started: Codable { var id: String }
            _ = try await parts.majordomo.overSocket.post("/builds", ["project": "p"], as: Started.self)
            try await settled("the first build")
            #expect(Self.runs(scratch).count == Self.steps, "\(Self.runs(scratch))")

            var seen: [Trial] = []
            for trial in 1...trials {
                for role in Role.allCases {
                    let edited = Int.random(in: 1...(Self.steps / 2))
                    let earlier = Set(await builds().map(\.id))
                    let ranBefore = Self.runs(scratch).count
                    try "source \(edited), trial \(trial) of \(role)\n".write(
                        toFile: project + "/s\(edited).txt", atomically: true, encoding: .utf8)
                    do {
                        try await waitUntil(deadline: .seconds(60), "the edit's build to start") {
                            await builds().contains { !earlier.contains($0.id) }
                        }
                    } catch {
                        Issue.record(
                            """
                            no build for the edit of s\(edited).txt (\(role), trial \(trial)): \(await builds())
                            MajorDomo: \(parts.majordomo.log.suffix(3000))
                            watch: \(readTail(of: scratch.file("watch-\(parts.incarnations).err")))
                            """)
                        throw error
                    }
                    let expected = Self.steps - edited + 1
                    let killedAfter = Double.random(in: 0...(Double(expected) * Self.stepTime))
                    try await Task.sleep(for: .milliseconds(Int(killedAfter * 1000)))  // the random moment
                    let killedAt = ContinuousClock.now
                    try await parts.killAndRestart(role)
                    try await settled("\(role) killed, trial \(trial)")
                    let recovery = ContinuousClock.now - killedAt
                    let ran = Array(Self.runs(scratch).dropFirst(ranBefore))
                    let upToDate = Set((1..<edited).map { "o\($0).txt" })
                    seen.append(
                        Trial(
                            role: role, edited: edited, killedAfter: killedAfter,
                            recovery: Double(recovery.components.seconds)
                                + Double(recovery.components.attoseconds) / 1e18, ran: ran, expected: expected,
                            upToDateReruns: ran.filter(upToDate.contains).count))
                    // Nothing up to date ran; every step after the edit did; one more at most,
                    // the one in flight at the kill.
                    #expect(!ran.contains(where: upToDate.contains), "\(role): \(ran)")
                    #expect(Set(ran) == Set((edited...Self.steps).map { "o\($0).txt" }), "\(role): \(ran)")
                    #expect(ran.count <= expected + 1, "\(role) killed after \(killedAfter) s: \(ran)")
                }
            }
            print(Self.table(seen))
            let last = try await builds().first
            #expect(last?.state == "succeeded", "\(String(describing: last))")
            _ = try await parts.chef.terminate()
            #expect(try await parts.majordomo.stop() == .exited(130))
            parts.watch.send(signal: SIGTERM)
            _ = try await parts.watch.waitForExit()
        }
    }

    /// One row per role: trials, steps that had to run, runs beyond them (in flight at the
    /// kill), the slowest recovery.
    static func table(_ trials: [Trial]) -> String {
        var lines = [
            "| killed (-9) | trials, each completed with a clean build's outputs | up-to-date reruns | steps to run | runs | reruns in flight | recovery (median, max) |",
            "|---|---|---|---|---|---|---|",
        ]
        for role in Role.allCases {
            let mine = trials.filter { $0.role == role }
            guard !mine.isEmpty else { continue }
            let expected = mine.map(\.expected).reduce(0, +)
            let ran = mine.map(\.ran.count).reduce(0, +)
            let recoveries = mine.map(\.recovery).sorted()
            let median = recoveries[recoveries.count / 2]
            lines.append(
                "| \(role.rawValue) | \(mine.count) | \(mine.map(\.upToDateReruns).reduce(0, +)) | \(expected) | \(ran) | "
                    + "\(ran - expected) | "
                    + String(format: "%.1f s, %.1f s", median, recoveries.last ?? 0) + " |")
        }
        return lines.joined(separator: "\n")
    }
}
