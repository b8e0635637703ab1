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
    // The same bytes cut into samples of two rows where blocks are longer, as for a model of fixed length.
    expectGRUIOError("CSVReader.parse(_:path:timesteps:)") {
        let batch = try CSVReader.parse(bytes, path: "fuzz.csv", timesteps: CSVTimesteps(count: 2, strict: false, source: "fuzz"))
        require(batch.timesteps <= 2 && batch.values.count == batch.batch * batch.timesteps * batch.features,
                "CSVReader cut into shape \(batch.shape) with \(batch.values.count) values")
    }
    return 0
}

#if !FUZZING
@main
enum FuzzCSV {
    static func main() { replay(CommandLine.arguments, name: "fuzz-csv", fuzz) }
}
#endif
