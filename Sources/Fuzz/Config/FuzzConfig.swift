// fuzz-config: KerasReader.readModelConfig(_:path:) must return or throw GRUIOError on any text
// (the bytes are read as UTF-8, invalid sequences replaced, as gru-run reads an attribute).
import FuzzSupport
import GRUIO

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    expectGRUIOError("KerasReader.readModelConfig(_:path:)") {
        _ = try KerasReader.readModelConfig(text, path: "fuzz.h5")
    }
    return 0
}

#if !FUZZING
@main
enum FuzzConfig {
    static func main() { replay(CommandLine.arguments, name: "fuzz-config", fuzz) }
}
#endif
