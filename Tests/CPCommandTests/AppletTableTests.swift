import CPModel
import Testing

@testable import CPCommand

@Suite struct AppletTableTests {
    @Test func appletTableIsSortedAndUnique() {
        let names = Applets.all.map(\.name)
        #expect(names == names.sorted())
        #expect(Set(names).count == names.count)
        #expect(names == ["chef", "ctrl", "graph", "majordomo", "sftp", "up", "watch"])
    }

    @Test func everyVerbOfARoleThatRunsByVerbHasARun() {
        for applet in Applets.all {
            guard case .byVerb = applet.availability else { continue }
            for chain in Documentation.commandChains(applet.command) where chain.last?.subcommands.isEmpty == true {
                #expect(chain.contains { $0.run != nil }, "'\(chain.map(\.name).joined(separator: " "))' runs nothing")
            }
        }
    }

    /// A run function reads a declared default with `settings.integer("x")` and friends, which
    /// stop the process if the table declares none: every one must resolve, to its own type.
    @Test func everyDeclaredDefaultResolvesToItsType() throws {
        let context = ProcessContext(environment: [:], workingDirectory: "/", home: nil)
        for applet in Applets.all {
            for chain in Documentation.commandChains(applet.command) where chain.last?.subcommands.isEmpty == true {
                let argv =
                    chain.dropFirst().map(\.name)
                    + chain.last!.positionals.filter { $0.arity.minimum > 0 }.map { _ in "x" }
                let parsed = try ArgumentParser(globalOptions: CommonOptions.global, home: nil)
                    .parse(argv, for: applet.command).get()
                let settings = try AppletRunner(applet: applet, context: context).resolveSettings(parsed).get()
                for spec in parsed.optionSpecs where spec.defaultValue != nil {
                    let value = settings.defaulted(spec.long)
                    switch spec.value {
                    case .integer?: #expect(value.integer != nil, "--\(spec.long)")
                    case .duration?: #expect(value.duration != nil, "--\(spec.long)")
                    case .string?, .path?, .choice?: #expect(value.text != nil, "--\(spec.long)")
                    default: break
                    }
                }
            }
        }
    }

    @Test func invocationNamesMapToTheirRoles() {
        #expect(Applets.invokedAs("inotify2nats")?.name == "watch")
        #expect(Applets.invokedAs("majordomo")?.name == "majordomo")
        #expect(Applets.invokedAs("cpchef")?.name == "chef")
        #expect(Applets.invokedAs("cpctrl")?.name == "ctrl")
        #expect(Applets.invokedAs("cp") == nil)
    }

    @Test func optionNamesAreUniqueAlongEveryCommandPath() {
        for applet in Applets.all {
            for chain in Documentation.commandChains(applet.command) {
                let specs = chain.flatMap(\.options) + CommonOptions.global
                let longs = specs.map(\.long)
                #expect(Set(longs).count == longs.count, "duplicate long option under \(chain.map(\.name))")
                let shorts = specs.compactMap(\.short)
                #expect(Set(shorts).count == shorts.count, "duplicate short option under \(chain.map(\.name))")
            }
        }
    }

    @Test func aConfigKeyHasOneTypeEverywhere() {
        var seen: [ConfigKey: OptionSpec] = [:]
        for applet in Applets.all {
            for spec in ConfigSchema.allOptions(of: applet.command) {
                guard let key = ConfigSchema.key(of: spec, section: applet.configSection) else { continue }
                if let first = seen[key] {
                    #expect(first.value == spec.value && first.repeatable == spec.repeatable, "\(key) differs")
                }
                seen[key] = spec
            }
        }
    }

    @Test func everyCommandHasAtMostOneVariadicPositional() {
        for applet in Applets.all {
            for chain in Documentation.commandChains(applet.command) {
                let variadic = chain[chain.count - 1].positionals.filter {
                    $0.arity == .zeroOrMore || $0.arity == .oneOrMore
                }
                #expect(variadic.count <= 1)
            }
        }
    }

    @Test func everyDefaultParsesAsItsOwnType() {
        for applet in Applets.all {
            for spec in ConfigSchema.allOptions(of: applet.command) + CommonOptions.global {
                guard let text = spec.defaultValue, let type = spec.value else { continue }
                guard case .success = ValueParser.parse(text, as: type, home: nil) else {
                    Issue.record("default '\(text)' of --\(spec.long) does not parse")
                    continue
                }
            }
        }
    }

    @Test func helpMentionsEveryOptionOfEveryCommand() {
        for applet in Applets.all {
            for chain in Documentation.commandChains(applet.command) {
                let help = HelpText.render(chain, applet: applet)
                let parsed = ParsedCommand(path: chain.map(\.name), chain: chain)
                for spec in parsed.optionSpecs + CommonOptions.global {
                    #expect(
                        help.contains(spec.dashedLong), "\(spec.dashedLong) missing from help of \(chain.map(\.name))")
                }
                #expect(help.hasPrefix("usage: " + HelpText.synopsis(chain)))
            }
        }
    }

    @Test func plannedRolesSaySoInTheirHelp() {
        for applet in Applets.all {
            guard case .planned = applet.availability else { continue }
            #expect(HelpText.render([applet.command], applet: applet).contains("not available yet"))
        }
    }

    @Test func helpLinesFitEightyColumns() {
        let texts = [HelpText.overview()] + Applets.all.map { HelpText.render([$0.command], applet: $0) }
        for text in texts {
            for line in text.split(separator: "\n") where !line.hasPrefix("  cp ") {
                #expect(line.count <= 80, "too long: \(line)")
            }
        }
    }
}

@Suite struct SuggestionTests {
    @Test func transpositionsAndTyposAreClose() {
        #expect(DidYouMean.distance("prot", "port") == 1)
        #expect(DidYouMean.distance("wach", "watch") == 1)
        #expect(DidYouMean.distance("majordmo", "majordomo") == 1)
        #expect(DidYouMean.closest(to: "wacth", among: ["watch", "chef"]) == "watch")
        #expect(DidYouMean.closest(to: "grpah", among: ["graph", "up"]) == "graph")
    }

    @Test func farWordsAndTiesGetNoSuggestion() {
        #expect(DidYouMean.closest(to: "report.pdf", among: Applets.all.map(\.name)) == nil)
        #expect(DidYouMean.closest(to: "ab", among: ["ac", "ad"]) == nil)
        #expect(DidYouMean.closest(to: "watch", among: ["watch"]) == nil)
    }
}
