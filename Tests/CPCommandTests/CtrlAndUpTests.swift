import Foundation
import MajorDomo
import Testing

@testable import CPCommand

@Suite struct CtrlAndUpTests {
    func project(_ name: String, _ root: String) -> ProjectSummary { ProjectSummary(name: name, root: root, pod: "p") }

    @Test func theProjectIsTheDeepestHoldingTheDirectoryElseTheOnlyOne() throws {
        let projects = [project("outer", "/home/ada/work"), project("inner", "/home/ada/work/thesis")]
        #expect(try CtrlCommand.project(holding: "/home/ada/work/thesis/chapters", in: projects) == "inner")
        #expect(try CtrlCommand.project(holding: "/home/ada/work/notes", in: projects) == "outer")
        #expect(try CtrlCommand.project(holding: "/home/ada/work", in: projects) == "outer")
        // A sibling whose name starts like a root is not inside it.
        #expect(throws: CtrlError.self) { try CtrlCommand.project(holding: "/home/ada/workshop", in: projects) }
        #expect(try CtrlCommand.project(holding: "/srv", in: [project("only", "/home/ada/x")]) == "only")
        do {
            _ = try CtrlCommand.project(holding: "/srv", in: projects)
            Issue.record("no project holds /srv, and there are two")
        } catch {
            #expect(error.description == "no project holds '/srv': name one (inner, outer)")
            #expect(error.status == .usage)
        }
        do {
            _ = try CtrlCommand.project(holding: "/srv", in: [])
            Issue.record("there is no project")
        } catch {
            #expect(error.description == "the MajorDomo has no project: add one with 'cp ctrl project add DIR'")
            #expect(error.status == .failure)
        }
    }

    func detail(_ json: String) throws -> BuildDetail {
        try JSONDecoder().decode(BuildDetail.self, from: Data(json.utf8))
    }

    func run(_ task: String, _ state: String, pass: Int = 1) -> String {
        #"{"task":"\#(task)","rule":"r","state":"\#(state)","pass":\#(pass),"reason":"never built"}"#
    }

    func build(_ state: String, jobs: Int, tasks: [String]) -> String {
        let summary =
            #"{"id":"b1","project":"p","targets":[],"trigger":"request","state":"\#(state)","#
            + #""created":100,"finished":100.83,"jobs":\#(jobs),"failures":[]}"#
        return #"{"build":\#(summary),"tasks":[\#(tasks.joined(separator: ","))]}"#
    }

    @Test func theSummaryLineSaysWhatRanInHowManyPasses() throws {
        let cyclic = try detail(
            build(
                "succeeded", jobs: 5,
                tasks: [run("paper", "succeeded", pass: 3), run("bibliography", "succeeded", pass: 2)]))
        #expect(BuildFollower.summary(cyclic) == "build b1 succeeded: 5 task runs (3 passes) in 0.83 s")
        let one = try detail(build("failed", jobs: 1, tasks: [run("bad", "failed")]))
        #expect(BuildFollower.summary(one) == "build b1 failed: 1 task run in 0.83 s")
        let nothing = try detail(build("succeeded", jobs: 0, tasks: []))
        #expect(BuildFollower.summary(nothing) == "build b1 succeeded: up to date in 0.83 s")
    }

    @Test func theProgressLineCountsFinishedTasksAndNamesWhatRunsWithItsPass() throws {
        var progress = BuildFollower.Progress()
        progress.considered = 5
        progress.finished = ["a", "b"]
        let running = try JSONDecoder().decode(TaskRunView.self, from: Data(run("paper", "running", pass: 2).utf8))
        progress.running = ["paper": running]
        #expect(BuildFollower.progressLine(progress) == "[2/5] paper (pass 2)")
        progress.running = [:]
        progress.considered = nil
        #expect(BuildFollower.progressLine(progress) == "[2]")
    }

    @Test func upsSocketIsBesideItsStateUnlessThePathIsTooLongForASocket() {
        #expect(UpCommand.socketPath(for: "/home/ada/thesis") == "/home/ada/thesis/.cp/majordomo.sock")
        let deep = "/home/ada/" + String(repeating: "very-long-directory-name/", count: 5)
        let socket = UpCommand.socketPath(for: deep)
        #expect(!socket.hasPrefix(deep) && socket.hasSuffix(".sock") && socket.utf8.count < 108, "\(socket)")
        #expect(UpCommand.socketPath(for: deep) == socket, "the same root gives the same socket")
        #expect(UpCommand.socketPath(for: deep + "x") != socket)
    }

    @Test func aListOfChangedFilesNamesThreeAndCountsTheRest() {
        #expect(UpFront.list(["a"], of: 1) == "a")
        #expect(UpFront.list(["a", "b", "c"], of: 3) == "a, b, c")
        #expect(UpFront.list(["a", "b", "c", "d"], of: 25) == "a, b, c and 22 more")
    }
}
