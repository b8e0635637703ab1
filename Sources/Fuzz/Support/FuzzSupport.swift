import Foundation
import GRUIO

/// With FUZZ_ONE_LINE_MESSAGES=1 in the environment, an error message that spans lines also counts
/// as a failure (gru-run prints each error as one line on stderr). Off by default: it is a flaw of
/// the message, not a crash, and would stop a fuzzing run at the first such input.
private let oneLineMessages = ProcessInfo.processInfo.environment["FUZZ_ONE_LINE_MESSAGES"] == "1"

/// Runs `body`, which calls a GRUIO reader, and accepts only two endings: a return, or a thrown
/// `GRUIOError` whose message renders. Any other error is a bug and stops the process, so that
/// libFuzzer records the input.
public func expectGRUIOError(_ api: String, _ body: () throws -> Void) {
    do {
        try body()
    } catch let error as GRUIOError {
        let message = error.description
        require(!message.isEmpty, "\(api) threw a GRUIOError with an empty message")
        if oneLineMessages {
            require(!message.contains(where: \.isNewline), "\(api) threw a message of several lines: \(message.debugDescription)")
        }
        require([65, 66, 74].contains(error.exitCode), "\(api) threw a GRUIOError with exit code \(error.exitCode)")
    } catch {
        fatalError("\(api) threw \(type(of: error)), not GRUIOError: \(error)")
    }
}

/// A property every successful read must have; a violation stops the process like a crash.
public func require(_ condition: Bool, _ message: @autoclosure () -> String) {
    if !condition { fatalError(message()) }
}

/// The entry point of a harness built without libFuzzer (a plain `swift build`): runs `target` on
/// the bytes of each file named in `arguments`, or of every file in a named directory, and prints
/// how many ran. A crashing input stops the process with the crash. Never returns.
public func replay(_ arguments: [String], name: String,
                   _ target: (UnsafePointer<UInt8>, Int) -> CInt) -> Never {
    let paths = arguments.dropFirst()
    guard !paths.isEmpty, !paths.contains(where: { $0.hasPrefix("-") }) else {
        FileHandle.standardError.write(Data("""
            usage: \(name) FILE_OR_DIRECTORY...
            Runs the fuzzing harness on each file once. Built with `make fuzz` (libFuzzer), it fuzzes instead.

            """.utf8))
        exit(64)
    }
    var count = 0
    for path in paths {
        for file in files(at: path) {
            guard let data = FileManager.default.contents(atPath: file) else {
                FileHandle.standardError.write(Data("\(name): cannot read \(file)\n".utf8))
                exit(66)
            }
            // One spare byte so that an empty file still has a valid pointer.
            var bytes = [UInt8](data)
            let size = bytes.count
            bytes.append(0)
            _ = bytes.withUnsafeBufferPointer { target($0.baseAddress!, size) }
            count += 1
        }
    }
    print("\(name): \(count) input\(count == 1 ? "" : "s") ran without a crash")
    exit(0)
}

/// `path` itself, or the regular files under it in sorted order when it is a directory.
private func files(at path: String) -> [String] {
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else {
        return [path]
    }
    let names = (FileManager.default.enumerator(atPath: path)?.allObjects as? [String]) ?? []
    return names.sorted().map { path + "/" + $0 }.filter { file in
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: file, isDirectory: &isDirectory) && !isDirectory.boolValue
    }
}
