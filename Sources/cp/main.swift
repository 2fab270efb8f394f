import CPCommand

#if canImport(Glibc)
    import Glibc
#endif

// Everything, including the hand-off to the system's cp (DESIGN §1.1), is in CPCommand.
exit(await CommandLineTool.run(CommandLine.arguments))
