import CPCommand

// Everything, including the hand-off to the system's cp (DESIGN §1.1), is in CPCommand.
CommandLineTool.main(CommandLine.arguments)
