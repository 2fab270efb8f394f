import CPProtocol
import Testing

@testable import MajorDomo

/// How a watcher's change becomes changes of a project's files.
@Suite struct ChangeMappingTests {
    let root = "/home/ada/thesis"

    func change(
        _ reason: FileChange.Reason, _ path: String, from: String? = nil, exists: Bool = true, isDir: Bool = false,
        watched: String = "/home/ada/thesis", sha: String? = "ab"
    ) -> FileChange {
        FileChange(
            reason: reason, root: watched, path: path, from: from, exists: exists, isDir: isDir,
            size: exists ? 3 : nil, mtime: exists ? 100 : nil, sha256: exists ? sha : nil, mode: exists ? 0o644 : nil)
    }

    func map(_ change: FileChange, known: [String: Artefact] = [:]) -> [String: Artefact?]? {
        ChangeMapping.changes(of: change, pod: "laptop", inProjectAt: root, known: known)
    }

    let file: Artefact? = Artefact(sha256: "ab", size: 3, mtime: 100, mode: 0o644, pod: "laptop")
    /// A path that is gone.
    let gone: Artefact? = nil

    @Test func aFileCreatedChangedOrRescannedIsRecordedAndADeletionForgetsIt() {
        #expect(map(change(.created, "ch/intro.tex")) == ["ch/intro.tex": file])
        #expect(map(change(.rescanned, "a.bib")) == ["a.bib": file])
        #expect(map(change(.deleted, "a.bib", exists: false)) == ["a.bib": gone])
        #expect(map(change(.rescanned, "a.bib", exists: false)) == ["a.bib": gone])
    }

    @Test func movesCarryWhatWasKnownAndADeletedDirectoryTakesItsFiles() {
        let known = ["old/a.tex": file!, "old/sub/b.tex": file!, "other.tex": file!]
        let moved = map(change(.moved, "new", from: "old", isDir: true), known: known)
        #expect(
            moved == [
                "old/a.tex": gone, "old/sub/b.tex": gone, "new/a.tex": file, "new/sub/b.tex": file,
            ])
        #expect(map(change(.moved, "b.tex", from: "a.tex"), known: ["a.tex": file!]) == ["a.tex": gone, "b.tex": file])
        #expect(
            map(change(.deleted, "old", exists: false, isDir: true), known: known) == [
                "old/a.tex": gone, "old/sub/b.tex": gone,
            ])
        #expect(map(change(.created, "new-dir", isDir: true)) == [:])  // a directory is no artefact
    }

    @Test func aGrowingLogIsNotRecorded() {
        #expect(map(change(.appended, "paper.log", sha: nil)) == [:])
    }

    @Test func onlyWhatIsInsideTheProjectCountsWhereverTheWatcherLooks() {
        #expect(map(change(.created, "x.tex", watched: "/home/ada/other")) == nil)
        #expect(map(change(.created, "thesis/x.tex", watched: "/home/ada")) == ["x.tex": file])
        #expect(map(change(.created, "thesis2/x.tex", watched: "/home/ada")) == nil)
        #expect(map(change(.created, "x.tex", watched: "/home/ada/thesis/ch")) == ["ch/x.tex": file])
        #expect(map(change(.created, "../thesis/x.tex", watched: "/home/ada/thesis/ch")) == nil)
        #expect(map(change(.created, "/etc/passwd")) == nil)
    }
}
