// fuzz-csv: CSVReader.parse(_:path:) must return or throw GRUIOError on any bytes, and a returned
// batch must hold batch × timesteps × features values.
import FuzzSupport
import GRUIO

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    expectGRUIOError("CSVReader.parse(_:path:)") {
        let batch = try CSVReader.parse(bytes, path: "fuzz.csv")
        require(batch.batch > 0 && batch.timesteps > 0 && batch.features > 0, "CSVReader returned shape \(batch.shape)")
        require(batch.values.count == batch.batch * batch.timesteps * batch.features,
                "CSVReader returned \(batch.values.count) values for shape \(batch.shape)")
    }
    return 0
}

#if !FUZZING
@main
enum FuzzCSV {
    static func main() { replay(CommandLine.arguments, name: "fuzz-csv", fuzz) }
}
#endif
