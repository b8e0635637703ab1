import ArgumentParser
import CMallocTuning
import Foundation
import GRUCore
import GRUIO
import GRUModel

@main
struct GRURun: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gru-run",
        abstract: "Run a Keras GRU model or layer from a .keras, .h5 or .weights.h5 file, exactly as Keras does.",
        discussion: """
        Examples:
          gru-run --weights model.h5 --input x.npy --output y.npy
          gru-run --weights model.h5 --input x.npy --output y.npy --state-output h.npy
          cat x.csv | gru-run --weights model.h5 > y.csv
          gru-run check --weights model.h5 --input x.npy --expect y.npy
                                           (CI: exit 1 on a mismatch)
          gru-run inspect model.h5         (what the file holds)
        Files (--weights): model.save's .keras (Keras 3) and .h5 (tf.keras,
        tf-keras, Keras 1 to 3) state their config. save_weights's .h5 and
        Keras 3's .weights.h5 hold weights only: gru-run takes the defaults of
        the GRU that most likely wrote the file. activation is tanh and
        return_sequences and go_backwards off for every writer;
        recurrent_activation and reset_after (without a bias to tell it) are:
          Keras 3 (/layers layout or keras_version 3.x):
            recurrent_activation sigmoid, reset_after True
          Keras 2.0 to 2.2, Keras 1: hard_sigmoid, reset_after False
          Keras 2.3: sigmoid, reset_after False
          TensorFlow 1 tf.keras (2.0.8-tf to 2.1.6-tf): hard_sigmoid, False
          TensorFlow 2, tf-keras (2.3.0-tf, 2.4 on): bias (2, 3U) or none:
            sigmoid, True; bias (3U,): tf.compat.v1 GRU, hard_sigmoid, False
          2.2.4-tf or no version: bias (2, 3U): sigmoid; (3U,) or none:
            hard_sigmoid; reset_after False
          CuDNNGRU, bias (6U,): as tf-keras converts it (sigmoid, True)
        A run of a weights-only file names what it assumed on one stderr line
        and the flags that state otherwise (--activation,
        --recurrent-activation, --reset-after, --return-sequences, ...);
        gru-run inspect FILE lists them.
        gru-run run --help lists the flags of a run, the default command.
        CSV holds one row per timestep, one column per feature, and a blank
        line between samples.
        The GRU runs on the widest kernels the processor has (avx512, avx2,
        portable); GRU_RUN_KERNELS=NAME in the environment picks one.
        Exit status: 0 success, 64 usage error, 65 bad data, 66 missing input,
        69 GRU_RUN_KERNELS names kernels this processor cannot run, 71 not
        enough memory, 74 I/O error, 129/130/143 ended by SIGHUP/SIGINT/SIGTERM
        (temporary files removed).
        """,
        version: "0.1.0",
        subcommands: [Run.self, Check.self, Inspect.self, Split.self, Join.self, Bench.self],
        defaultSubcommand: Run.self
    )

    /// Parses, runs, and turns every failure into one sentence on stderr and a sysexits status.
    static func main() {
        // A layer's output reuses the pages of tensors already dropped instead of fresh ones (each new page
        // costs a fault and its zeroing, much of a short run's time).
        _ = malloc_keep_freed_memory()
        signal(SIGPIPE, SIG_IGN)
        StandardStreams.secure()
        Cleanup.installSignalHandlers()
        // Weights left in a file until their layer is built are read under the same guard as the file's load.
        DeferredDataset.guardRead = { path, read in try HDF5Guard.reading(path, read) }
        if CompletionRoot.isRequested { CompletionRoot.printScript() }
        do {
            var command = try parseAsRoot()
            // Only the commands that compute pick kernels: help, split, join and inspect work whatever it says.
            if command is Run || command is Check || command is Bench, let problem = GRUKernelSet.environmentProblem {
                fail(problem + ".", code: 69)
            }
            try command.run()
            // Reports printed with print() are buffered: a closed or full standard output shows here.
            if fflush(stdout) != 0 || ferror(stdout) != 0 {
                // A pipe whose reader has gone (inspect | head -1) ends quietly, as a run's output does.
                var request = pollfd(fd: 1, events: Int16(POLLOUT), revents: 0)
                if poll(&request, 1, 0) > 0 && request.revents & Int16(POLLERR) != 0 { Foundation.exit(0) }
                fail("could not write standard output: \(String(cString: strerror(errno))).", code: 74)
            }
        } catch let error as GRUIOError {
            fail(error.description, code: error.exitCode)
        } catch let error as GRUCoreError {
            fail(error.description, code: 65)
        } catch let error as GRUModelError {
            fail(error.description, code: 65)
        } catch let error as CLIError {
            fail(error.description, code: error.exitCode)
        } catch let error as BrokenPipe {
            // The reader has gone: with nothing else to write, the run ends quietly. Other outputs are
            // not written then (all or none), and saying so is an error.
            guard error.discarded.isEmpty else {
                fail("standard output was closed before the run finished, so \(error.discarded.joined(separator: " and ")) \(error.discarded.count == 1 ? "was" : "were") not written.", code: 74)
            }
            Cleanup.removeAll()
            Foundation.exit(0)
        } catch let code as ExitCode {
            Foundation.exit(code.rawValue)
        } catch {
            let code = exitCode(for: error)
            if code == .success {
                print(fullMessage(for: error))
                Foundation.exit(0)
            }
            let message = oneLine(self.message(for: error))
            fail(UsageHints.message(replacing: message, arguments: Array(CommandLine.arguments.dropFirst())) ?? message,
                 code: code.rawValue)
        }
    }

    /// The parser's message as one line: a bulleted list of choices is folded into the sentence.
    private static func oneLine(_ message: String) -> String {
        var lines = message.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        guard !lines.isEmpty else { return "invalid arguments." }
        var first = lines.removeFirst()
        if first.hasPrefix("Error: ") { first = String(first.dropFirst(7)) }
        let items = lines.filter { $0.hasPrefix("- ") }.map { String($0.dropFirst(2)) }
        return items.isEmpty ? first : first + " " + items.joined(separator: ", ") + "."
    }

    /// `check --json`: a refusal is also one JSON object on stdout. Read from the arguments themselves, since
    /// a refusal can come from parsing them.
    private static var checkWantsJSON: Bool {
        let arguments = CommandLine.arguments.dropFirst().prefix { $0 != "--" }
        return arguments.first == "check" && arguments.contains("--json")
    }

    /// One line on stderr about how an input was read, when that is not what a reader would assume.
    static func note(_ message: String) {
        FileHandle.standardError.write(Data(("gru-run: note: " + Printable.text(message) + "\n").utf8))
    }

    private static func fail(_ message: String, code: Int32) -> Never {
        Cleanup.removeAll()
        if checkWantsJSON {
            FileHandle.standardOutput.write(Data((ComparisonReport.jsonError(message, exit: code) + "\n").utf8))
        }
        printLine(message)
        Foundation.exit(code)
    }
}

/// One line on stderr, `gru-run: ` first, whatever a file put in the names it quotes: control characters are
/// shown escaped.
func printLine(_ message: String) {
    writeToStandardError("gru-run: " + Printable.text(message) + "\n")
}

/// Errors of the command line itself: flags that contradict the file or each other.
enum CLIError: Error, CustomStringConvertible {
    case usage(String)
    case data(String)

    var description: String {
        switch self {
        case .usage(let text), .data(let text): return text.hasSuffix(".") ? text : text + "."
        }
    }

    var exitCode: Int32 {
        switch self {
        case .usage: return 64
        case .data: return 65
        }
    }
}

/// Writes to descriptor 2 and ignores failure: a closed or full standard error must not change how the
/// run ends.
func writeToStandardError(_ text: String) {
    var bytes = Array(text.utf8)
    var offset = 0
    while offset < bytes.count {
        let n = bytes.withUnsafeMutableBytes { write(2, $0.baseAddress! + offset, $0.count - offset) }
        if n < 0 && errno == EINTR { continue }
        if n <= 0 { return }
        offset += n
    }
}
