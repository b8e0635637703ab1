import ArgumentParser
import Foundation

/// Parser refusals that point the wrong way, said again in the words a first-time user needs.
enum UsageHints {
    /// A sentence to print instead of `parserMessage` for `arguments` (without the program name), or nil to
    /// keep the parser's.
    static func message(replacing parserMessage: String, arguments: [String]) -> String? {
        var rest = arguments.prefix { $0 != "--" }
        var command = "run"
        if let first = rest.first, ["run", "check", "bench"].contains(first) {
            command = first
            rest.removeFirst()
        } else if rest.first == "inspect" {
            return rest.count == 1 && parserMessage.hasPrefix("Missing expected argument")
                ? "give the Keras file to inspect, as in gru-run inspect model.h5." : nil
        }
        if parserMessage.contains("nexpected argument") { return positional(command, parserMessage, arguments: arguments) }
        guard parserMessage.hasPrefix("Missing expected argument") else { return nil }
        if rest.isEmpty { return usage(command) }
        // The parser names a missing required option before an unknown one (--weight for --weights) or files
        // given without flags: parsing again with placeholders for the required options finds those.
        let placeholders = command == "check" ? ["--weights", "-", "--expect", "-"] : ["--weights", "-"]
        do {
            let explicit = arguments.first == command
            _ = try GRURun.parseAsRoot((explicit ? [command] : []) + placeholders + arguments.dropFirst(explicit ? 1 : 0))
        } catch {
            let retried = GRURun.message(for: error)
            if retried.hasPrefix("Unknown option") { return retried.split(separator: "\n").first.map(String.init) }
            if retried.contains("nexpected argument") { return positional(command, retried, arguments: arguments) }
        }
        return nil
    }

    /// What a command needs, with an example.
    private static func usage(_ command: String) -> String {
        switch command {
        case "check":
            return "give the model with --weights FILE, the input with --input FILE and the outputs Keras saved with --expect FILE, as in gru-run check --weights model.h5 --input x.npy --expect y.npy (gru-run check --help lists every flag)."
        case "bench":
            return "give the model with --weights FILE, as in gru-run bench --weights model.h5 (the input is synthetic unless --input FILE; gru-run bench --help lists every flag)."
        default:
            return "give the model with --weights FILE and the input with --input FILE, as in gru-run --weights model.h5 --input x.npy (gru-run --help lists every flag)."
        }
    }

    /// Files given without flags (`gru-run m.h5 x.npy`): the same usage, with the user's own file names.
    private static func positional(_ command: String, _ parserMessage: String, arguments: [String]) -> String {
        // The parser quotes each stray argument: 2 unexpected arguments: 'm.h5', 'x.npy'
        let quoted = parserMessage.split(separator: "'", omittingEmptySubsequences: false).enumerated()
            .filter { $0.offset % 2 == 1 }.map { String($0.element) }
        func named(_ extensions: [String], otherwise: String) -> String {
            quoted.first { extensions.contains(URL(fileURLWithPath: $0).pathExtension.lowercased()) } ?? otherwise
        }
        func given(_ flag: String) -> String? { arguments.firstIndex(of: flag).flatMap { arguments.indices.contains($0 + 1) ? arguments[$0 + 1] : nil } }
        let model = given("--weights") ?? named(["h5", "hdf5", "keras"], otherwise: "model.h5")
        let input = given("--input") ?? named(["npy", "csv", "txt"], otherwise: "x.npy")
        let stray = quoted.map { "'\($0)'" }.joined(separator: ", ")
        let files = stray.isEmpty ? "" : " (\(stray) came without one)"
        if command == "check" {
            return "files go through flags\(files): give the model with --weights FILE, the input with --input FILE and the outputs Keras saved with --expect FILE, as in gru-run check --weights \(model) --input \(input) --expect y.npy."
        }
        let prefix = command == "run" ? "gru-run" : "gru-run \(command)"
        return "files go through flags\(files): give the model with --weights FILE and the input with --input FILE, as in \(prefix) --weights \(model) --input \(input)."
    }
}

extension IOOptions {
    /// Without --input, standard input is read: on a terminal, say so rather than wait in silence.
    func sayWhenReadingATerminal() {
        guard inputs.isEmpty || inputs == ["-"], isatty(0) != 0 else { return }
        printLine("reading CSV or .npy from standard input (Ctrl-D to end); give --input FILE to read a file")
    }
}
