// fuzz-npy: NPYArray(bytes:path:) and NPYArray(data:path:) must return or throw GRUIOError on any
// bytes, agree with each other, and a returned array's values must read back through doubles(),
// floats() and bools() without a trap.
import Foundation
import FuzzSupport
import GRUIO

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let fromBytes = read("NPYArray(bytes:path:)") { try NPYArray(bytes: bytes, path: "fuzz.npy") }
    // The same bytes as a Data slice whose indices do not start at 0 (as a slice of a larger
    // buffer or mapped file has): a public entry point must read it the same way.
    var padded = Data(count: 8)
    padded.append(contentsOf: bytes)
    let fromSlice = read("NPYArray(data:path:) on a Data slice") { try NPYArray(data: padded[8...], path: "fuzz.npy") }
    require((fromBytes == nil) == (fromSlice == nil),
            "NPYArray(bytes:) \(fromBytes == nil ? "threw" : "returned") but NPYArray(data:) on a slice \(fromSlice == nil ? "threw" : "returned")")
    if let fromBytes, let fromSlice {
        require(fromBytes.shape == fromSlice.shape && fromBytes.element == fromSlice.element
                && (try? fromBytes.doubles().map(\.bitPattern)) == (try? fromSlice.doubles().map(\.bitPattern)),
                "NPYArray(bytes:) and NPYArray(data:) on a slice read different arrays")
    }
    return 0
}

/// The array `make` reads, after checking that its values read back; nil when it threw GRUIOError.
private func read(_ api: String, _ make: () throws -> NPYArray) -> NPYArray? {
    var result: NPYArray?
    expectGRUIOError(api) {
        let array = try make()
        require(array.shape.allSatisfy { $0 >= 0 }, "\(api) accepted shape \(array.shape)")
        let count = array.count
        require(try array.doubles().count == count, "\(api): doubles() does not hold \(count) values")
        require(try array.floats().count == count, "\(api): floats() does not hold \(count) values")
        require(try array.bools().count == count, "\(api): bools() does not hold \(count) values")
        result = array
    }
    return result
}

#if !FUZZING
@main
enum FuzzNPY {
    static func main() { replay(CommandLine.arguments, name: "fuzz-npy", fuzz) }
}
#endif
