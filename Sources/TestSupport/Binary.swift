import Foundation

/// What a run of the built gru-run binary produced.
public struct ProcessResult: Sendable {
    public var status: Int32
    public var stdout: [UInt8]
    public var stderr: String
    public var stdoutText: String { String(decoding: stdout, as: UTF8.self) }
}

public enum GRURunBinary {
    /// The gru-run built next to the test bundle.
    public static var url: URL {
        let products = Bundle.allBundles.first { $0.bundlePath.hasSuffix(".xctest") }?.bundleURL.deletingLastPathComponent()
            ?? URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        return products.appendingPathComponent("gru-run")
    }

    /// Runs gru-run with `arguments`, feeding `stdin`, in `directory`.
    public static func run(_ arguments: [String], stdin: [UInt8]? = nil,
                           directory: String? = nil) throws -> ProcessResult {
        signal(SIGPIPE, SIG_IGN)
        let process = Process()
        process.executableURL = url
        process.arguments = arguments
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        let input = Pipe(), output = Pipe(), error = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = error
        try process.run()
        let writer = Thread {
            if let stdin { try? input.fileHandleForWriting.write(contentsOf: Data(stdin)) }
            try? input.fileHandleForWriting.close()
        }
        writer.start()
        let errData = readInBackground(error.fileHandleForReading)
        let outData = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return ProcessResult(status: process.terminationStatus, stdout: [UInt8](outData),
                             stderr: String(decoding: errData(), as: UTF8.self))
    }
}

/// Reads a pipe to its end on another thread (so a child filling both pipes cannot block); the returned
/// function waits for that end and gives the bytes.
private func readInBackground(_ handle: FileHandle) -> () -> Data {
    final class Result: @unchecked Sendable {
        var data = Data()
        let done = DispatchSemaphore(value: 0)
    }
    let result = Result()
    Thread {
        result.data = handle.readDataToEndOfFile()
        result.done.signal()
    }.start()
    return {
        result.done.wait()
        return result.data
    }
}

/// A fresh temporary folder, removed by the caller.
public func makeTemporaryDirectory() throws -> String {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("gru-run-tests-" + UUID().uuidString)
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url.path
}

extension GRURunBinary {
    /// Runs a /bin/sh script with $GRU_RUN naming the built binary.
    public static func shell(_ script: String, environment extra: [String: String] = [:]) throws -> (status: Int32, stdout: String, stderr: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", script]
        var environment = ProcessInfo.processInfo.environment.merging(extra) { $1 }
        environment["GRU_RUN"] = url.path
        process.environment = environment
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let errData = readInBackground(err.fileHandleForReading)
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: outData, as: UTF8.self), String(decoding: errData(), as: UTF8.self))
    }
}
