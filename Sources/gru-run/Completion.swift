import ArgumentParser
import Foundation

/// The command line as a shell completes it. `run` is the default subcommand, so `gru-run --<TAB>` must offer
/// its options too; the parser's generator offers only a root command's own. This root declares the same
/// option groups as `run` beside the same subcommands, and the completion scripts are generated from it,
/// so an option added to `run` is completed at the top level without further work. It never parses a run.
struct CompletionRoot: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: GRURun.configuration.commandName,
        abstract: GRURun.configuration.abstract,
        version: GRURun.configuration.version,
        subcommands: GRURun.configuration.subcommands
    )

    @OptionGroup var layer: LayerOptions
    @OptionGroup var call: CallOptions
    @OptionGroup var io: IOOptions

    /// `--generate-completion-script [shell]` among the arguments (before any `--`).
    /// Or a completion script's call back for the names it completes (`---completion`, first).
    static var isRequested: Bool {
        CommandLine.arguments.dropFirst().first == "---completion" || CommandLine.arguments.dropFirst().prefix { $0 != "--" }.contains {
            $0 == "--generate-completion-script" || $0.hasPrefix("--generate-completion-script=")
        }
    }

    /// Prints the script the arguments ask for and exits; an unknown shell is refused in one line (64).
    static func printScript() -> Never {
        do {
            _ = try parseAsRoot()
        } catch {
            let code = exitCode(for: error)
            if code == .success {
                print(fullMessage(for: error))
                Foundation.exit(0)
            }
            let first = message(for: error).split(separator: "\n").first.map(String.init) ?? "invalid arguments."
            printLine(first.replacingOccurrences(of: "Error: ", with: "") + " Give bash, zsh or fish.")
            Foundation.exit(code.rawValue)
        }
        Foundation.exit(0)
    }
}
