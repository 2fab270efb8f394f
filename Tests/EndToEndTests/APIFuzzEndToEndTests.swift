import Foundation
import RESTClient
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Schemathesis (from PyPI, in the virtual environment `make setup` makes) against
/// `docs/openapi.yaml` and a live MajorDomo with a watcher, a Chef, a project and a build
/// behind it: every check, the project, build and target as parameters so requests reach the
/// core, and `/events` bounded by `?limit` (`Tests/api/hooks.py`). Zero failures, and the
/// MajorDomo still answers afterwards.
@Suite(.serialized) struct APIFuzzEndToEndTests {
    static let schemathesis = GraphEndToEndTests.repository + "/.build/test-venv/bin/st"
    static let directory = GraphEndToEndTests.repository + "/Tests/api"

    struct Started: Codable { var id: String }
    struct BuildBody: Codable { var project: String }
    struct Detail: Codable {
        struct Summary: Codable { var state: String }
        var build: Summary
    }
    struct Target: Codable { var name: String }
    struct Health: Codable { var status: String; var lastEvent: Int; var projects: Int }

    @Test func schemathesisFindsNoFailureInTheLiveAPI() async throws {
        try #require(
            FileManager.default.isExecutableFile(atPath: Self.schemathesis),
            "\(Self.schemathesis) is missing: run 'make setup' (it makes .build/test-venv with schemathesis)")
        let majorDomoTests = MajorDomoEndToEndTests()
        try await majorDomoTests.withWatchedHello(expecting: ["hello.c", "greet.c", "greet.h"]) {
            server, scratch, _, watch, majordomo in
            let chef = try await RunningChef.start(
                server, scratch: scratch, name: "fuzz", rules: GraphEndToEndTests.repository + "/rules")
            let client = majordomo.overTCP()
            let started = try await client.post("/builds", BuildBody(project: "c-hello"), as: Started.self)
            var detail = try await client.get("/builds/\(started.id)", as: Detail.self)
            try await waitUntil(deadline: .seconds(120), "the build to end") {
                detail = (try? await client.get("/builds/\(started.id)", as: Detail.self)) ?? detail
                return detail.build.state != "running"
            }
            #expect(detail.build.state == "succeeded", "\(detail) \(majordomo.log)")
            let target = try #require(try await client.get("/project/targets/c-hello", as: [Target].self).first)
            let held = try await client.get("/health", as: Health.self).lastEvent
            #expect(held > 0)
            let run = try await runProcess(
                "/usr/bin/env",
                [
                    "CP_EVENTS_HELD=\(held)", "CP_PROJECT=c-hello", "CP_BUILD=\(started.id)",
                    "CP_TARGET=\(target.name)", "SCHEMATHESIS_HOOKS=hooks", "PYTHONPATH=\(Self.directory)",
                    Self.schemathesis, "--config-file", Self.directory + "/schemathesis.toml", "run",
                    GraphEndToEndTests.repository + "/docs/openapi.yaml", "--url", majordomo.url, "--checks", "all",
                    "--max-examples", "40", "--no-color",
                ], deadline: .seconds(900))
            #expect(
                run.status == 0,
                "schemathesis: \(run.stdout.suffix(12_000))\n\(run.stderr.suffix(4000))\nMajorDomo: \(majordomo.log.suffix(4000))"
            )
            #expect(run.stdout.contains("Test cases:"), "\(run.stdout.suffix(4000))")
            let after = try await client.get("/health", as: Health.self)
            #expect(after.status == "ok" && majordomo.process.isRunning)
            chef.process.send(signal: SIGTERM)
            _ = try await chef.process.waitForExit(deadline: .seconds(30))
            #expect(try await majordomo.stop() == .exited(130))
            watch.send(signal: SIGTERM)
            _ = try await watch.waitForExit()
        }
    }
}
