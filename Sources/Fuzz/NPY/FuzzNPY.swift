// fuzz-npy: NPYArray(bytes:path:) must return or throw GRUIOError on any bytes, and a returned
// array's values must read back through doubles(), floats() and bools() without a trap.
import FuzzSupport
import GRUIO

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    expectGRUIOError("NPYArray(bytes:path:)") {
        let array = try NPYArray(bytes: bytes, path: "fuzz.npy")
        require(array.shape.allSatisfy { $0 >= 0 }, "NPYArray accepted shape \(array.shape)")
        let count = array.count
        require(array.doubles().count == count, "doubles() does not hold \(count) values")
        require(array.floats().count == count, "floats() does not hold \(count) values")
        require(array.bools().count == count, "bools() does not hold \(count) values")
    }
    return 0
}

#if !FUZZING
@main
enum FuzzNPY {
    static func main() { replay(CommandLine.arguments, name: "fuzz-npy", fuzz) }
}
#endif
