import Foundation
import TestSupport
import XCTest

/// The completion scripts `make install` puts in place: `run` is the default command, so its flags complete
/// at the top level (`gru-run --<TAB>`), and file options complete the file kinds they read.
final class CompletionTests: XCTestCase {
    private let kerasFiles = ["h5", "hdf5", "keras"], dataFiles = ["npy", "npz", "csv"]

    private func script(_ shell: String) throws -> String {
        let result = try GRURunBinary.run(["--generate-completion-script", shell])
        XCTAssertEqual(result.status, 0, shell + ": " + result.stderr)
        return result.stdoutText
    }

    /// The body of a shell function `name() { ... }` (bash and zsh put one function per command).
    private func function(_ name: String, in script: String) throws -> String {
        let start = try XCTUnwrap(script.range(of: "\n\(name)() {\n"), name)
        let end = try XCTUnwrap(script.range(of: "\n}\n", range: start.upperBound..<script.endIndex), name)
        return String(script[start.upperBound..<end.lowerBound])
    }

    /// The first line holding `marker` and the line after it (bash names the option on one line and what
    /// completes it on the next).
    private func lines(after marker: String, in text: String) -> String? {
        let lines = text.components(separatedBy: "\n")
        guard let index = lines.firstIndex(where: { $0.contains(marker) }) else { return nil }
        return lines[index...].prefix(2).joined(separator: "\n")
    }

    func testBashCompletesRunsFlagsAtTheTopLevelWithFileKinds() throws {
        let root = try function("_gru-run", in: try script("bash"))
        for flag in ["--weights", "--input", "--output", "--state-output", "--return-sequences", "--layer", "--through", "--quiet", "--version"] {
            XCTAssertTrue([" \(flag) ", "(\(flag) ", " \(flag))"].contains(where: root.contains), flag)
        }
        XCTAssertTrue(root.contains("check inspect split join bench"), "subcommands stay offered")
        let extensions = ["--weights": kerasFiles, "--input": dataFiles, "--output": dataFiles, "--state-output": dataFiles]
        for (flag, kinds) in extensions {
            let pattern = "-fX '!*.@(\(kinds.joined(separator: "|")))'"
            XCTAssertTrue(lines(after: "'\(flag)')", in: root)?.contains(pattern) ?? false, "\(flag): \(pattern)")
        }
        let check = try function("_gru-run_check", in: try script("bash"))
        XCTAssertTrue(lines(after: "'--expect')", in: check)?.contains("-fX '!*.@(npy|npz|csv)'") ?? false)
    }

    func testZshCompletesRunsFlagsAtTheTopLevelWithFileKinds() throws {
        let zsh = try script("zsh")
        let root = try function("_gru-run", in: zsh)
        let extensions = ["--weights[": kerasFiles, "--input}'[": dataFiles, "--output}'[": dataFiles, "--state-output[": dataFiles]
        for (flag, kinds) in extensions {
            let pattern = "_files -g '\\''" + kinds.map { "*." + $0 }.joined(separator: " ") + "'\\''"
            XCTAssertTrue(lines(after: flag, in: root)?.contains(pattern) ?? false, "\(flag): \(pattern)")
        }
        XCTAssertTrue(root.contains("'--return-sequences["))
        XCTAssertTrue(lines(after: "--expect[", in: try function("_gru-run_check", in: zsh))?.contains("_files -g '\\''*.npy *.npz *.csv'\\''") ?? false)
    }

    func testFishCompletesRunsFlagsAtTheTopLevelWithFileKinds() throws {
        let fish = try script("fish").components(separatedBy: "\n")
        /// The line completing `--flag` for `command` ("gru-run" is the top level).
        func line(_ flag: String, _ command: String = "gru-run") -> String? {
            fish.first { $0.contains("-l '\(flag)'") && ($0.contains("\"\(command)\"'") || $0.contains("\"\(command)\" \(flag)'")) }
        }
        let extensions = ["weights": kerasFiles, "input": dataFiles, "output": dataFiles, "state-output": dataFiles]
        for (flag, kinds) in extensions {
            let pattern = "set -l exts " + kinds.map { "\\'\($0)\\'" }.joined(separator: " ")
            XCTAssertTrue(line(flag)?.contains(pattern) ?? false, "\(flag): \(pattern)")
        }
        XCTAssertNotNil(line("return-sequences"))
        XCTAssertTrue(line("expect", "gru-run check")?.contains("set -l exts \\'npy\\' \\'npz\\' \\'csv\\'") ?? false)
    }

    /// After --through and --layer, bash offers the layer names of the file --weights names on the line (every
    /// layer, or the GRU layers), from gru-run itself; a file it cannot read offers nothing.
    func testBashCompletesLayerNamesFromTheWeightsFile() throws {
        let bin = GRURunBinary.url.deletingLastPathComponent().path
        func complete(_ words: [String]) throws -> String {
            let quoted = words.map { "'\($0)'" }.joined(separator: " ")
            let script = """
                export PATH='\(bin)':"$PATH"
                source <(gru-run --generate-completion-script bash)
                COMP_WORDS=(\(quoted)); COMP_CWORD=\(words.count - 1); COMP_LINE="${COMP_WORDS[*]}"; COMP_POINT=${#COMP_LINE}
                _gru-run gru-run "${COMP_WORDS[-1]}" "${COMP_WORDS[-2]}"
                printf '%s\\n' "${COMPREPLY[@]}"
                """
            let result = try GRURunBinary.shell("exec bash -c \"$SCRIPT\"", environment: ["SCRIPT": script])
            XCTAssertEqual(result.status, 0, result.stderr)
            return result.stdout
        }
        let model = Fixtures.path("models/tfk_lstm_state/model.h5")
        XCTAssertEqual(try complete(["gru-run", "--weights", model, "--through", "en"]), "encoder\n")
        XCTAssertEqual(try complete(["gru-run", "--weights", model, "--through", ""]), "x_enc\nx_dec\nencoder\ndecoder\nhead\n")
        let gru = Fixtures.path("tfkeras_other/gru_dense.h5")
        XCTAssertEqual(try complete(["gru-run", "--weights", gru, "--layer", ""]), "encoder\n")
        XCTAssertEqual(try complete(["gru-run", "--weights", "/nonexistent.h5", "--layer", ""]), "\n")
    }

    func testAnUnknownShellIsRefusedInOneLine() throws {
        let result = try GRURunBinary.run(["--generate-completion-script", "tcsh"])
        XCTAssertEqual(result.status, 64)
        XCTAssertEqual(result.stderr, "gru-run: Can't generate completion scripts for 'tcsh'. Give bash, zsh or fish.\n")
    }
}
