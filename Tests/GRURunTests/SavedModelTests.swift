import Foundation
import GRUIO
import TestSupport
import XCTest

/// TensorFlow SavedModel folders written by tf-keras 2.21 (Fixtures/savedmodel, made by
/// make_fixtures_savedmodel.py): every case within 1e-5 (float32) / 1e-9 (float64) of `model.predict`,
/// `inspect` as for the .h5 of the same model, `--layer`, `--through`, `check`, and damaged copies refused
/// with one sentence and exit 65.
final class SavedModelTests: XCTestCase {
    private struct Manifest: Decodable {
        var cases: [Case]
    }

    private struct Case: Decodable {
        struct File: Decodable {
            var file: String
            var shape: [Int]
        }
        struct Through: Decodable {
            var layer: String
            var file: String
            var shape: [Int]
        }
        var name: String
        var dtype: String
        var h5: Bool
        var inputs: [File]
        var outputs: [File]
        var throughs: [Through]
        var layers: [String]
        var exercises: String

        var tolerance: Double { dtype == "float64" ? 1e-9 : 1e-5 }
        var folder: String { Fixtures.path("savedmodel/" + name) }
        var inputArguments: [String] { inputs.flatMap { ["--input", folder + "/" + $0.file] } }
    }

    private var scratch = ""

    override func setUpWithError() throws {
        scratch = try makeTemporaryDirectory()
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: scratch)
    }

    private func cases() throws -> [Case] {
        let url = URL(fileURLWithPath: Fixtures.path("savedmodel/manifest.json"))
        return try JSONDecoder().decode(Manifest.self, from: Data(contentsOf: url)).cases
    }

    private func fixture(_ name: String) throws -> Case {
        try XCTUnwrap(try cases().first { $0.name == name }, name)
    }

    /// An entry of Fixtures/models/manifest.json: its layers' classes, a wrapper's inner layer in brackets.
    private struct ModelCase: Decodable {
        var name: String
        var dtype: String
        var layers: [String]
        var exercises: String
    }

    /// Every layer kind of the tf-keras whole-model fixtures (a wrapper's inner layer included:
    /// `Bidirectional(LSTM)`, `RNN(StackedRNNCells)`, `TimeDistributed(Conv2D)`) is in a SavedModel fixture made
    /// from the same case, in float32 and in float64 wherever a float64 case holds it.
    func testSavedModelsHoldEveryLayerKindOfTheTFKerasModels() throws {
        let url = URL(fileURLWithPath: Fixtures.path("models/manifest.json"))
        struct Models: Decodable { var cases: [ModelCase] }
        let models = try JSONDecoder().decode(Models.self, from: Data(contentsOf: url)).cases.filter {
            $0.name.hasPrefix("tfk_") && !$0.name.hasPrefix("tfk_seedgru_")
        }
        var twins: [ModelCase] = []
        for fixture in try cases() {
            guard let twin = models.first(where: { $0.name == "tfk_" + fixture.name.dropFirst(3) }),
                  twin.exercises == fixture.exercises, twin.dtype == fixture.dtype else { continue }
            // The same model: the same layer classes in the same order.
            XCTAssertEqual(fixture.layers.map { $0.split(separator: ":").last.map(String.init) ?? "" },
                           twin.layers.map { String($0.prefix { $0 != "(" }) }, fixture.name)
            twins.append(twin)
        }
        XCTAssertGreaterThanOrEqual(twins.count, 100)
        for dtype in ["float32", "float64"] {
            let held = Set(twins.filter { dtype == "float32" || $0.dtype == dtype }.flatMap(\.layers))
            let wanted = Set(models.filter { dtype == "float32" || $0.dtype == dtype }.flatMap(\.layers))
            XCTAssertEqual(wanted.subtracting(held).sorted(), [], "layer kinds without a \(dtype) SavedModel fixture")
        }
        XCTAssertTrue(Set(twins.flatMap(\.layers)).isSuperset(of: ["CuDNNLSTM", "Bidirectional(LSTM)", "RNN(StackedRNNCells)",
                                                                  "MultiHeadAttention", "IntegerLookup", "Normalization"]))
    }

    func testEverySavedModelMatchesKeras() throws {
        let all = try cases()
        XCTAssertGreaterThanOrEqual(all.count, 40)
        XCTAssertTrue(all.contains { $0.dtype == "float64" })
        for fixture in all {
            let outputs = fixture.outputs.indices.map { scratch + "/\(fixture.name)-\($0).npy" }
            let run = try GRURunBinary.run(["--weights", fixture.folder + "/model"] + fixture.inputArguments
                                           + outputs.flatMap { ["--output", $0] })
            XCTAssertEqual(run.status, 0, "\(fixture.name): \(run.stderr)")
            XCTAssertEqual(run.stderr, "", fixture.name)
            guard run.status == 0 else { continue }
            for (output, expected) in zip(outputs, fixture.outputs) {
                let (got, keras) = (try loadNPY(output), try loadNPY(fixture.folder + "/" + expected.file))
                XCTAssertEqual(got.shape, expected.shape, "\(fixture.name) \(expected.file)")
                XCTAssertLessThanOrEqual(maxAbsError(got.values, keras.values), fixture.tolerance, "\(fixture.name) \(expected.file)")
            }
        }
    }

    /// TF 2.0-2.4 kept the Keras metadata in saved_model.pb and wrote no keras_metadata.pb.
    func testMetadataInsideSavedModelPbIsRead() throws {
        let legacy = try fixture("sm_legacy_metadata")
        XCTAssertFalse(FileManager.default.fileExists(atPath: legacy.folder + "/model/keras_metadata.pb"))
        let run = try GRURunBinary.run(["inspect", legacy.folder + "/model"])
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertTrue(run.stdoutText.contains("bi (Bidirectional)"), run.stdoutText)
        XCTAssertTrue(run.stdoutText.contains("gru (GRU): 8 features -> 3 units"), run.stdoutText)
    }

    /// `inspect` lists the same layers, configs and graph for the folder as for the .h5 of the same model.
    func testInspectShowsWhatTheH5OfTheSameModelShows() throws {
        let withH5 = try cases().filter(\.h5)
        XCTAssertGreaterThanOrEqual(withH5.count, 2)
        for fixture in withH5 {
            let folder = try GRURunBinary.run(["inspect", fixture.folder + "/model"])
            let h5 = try GRURunBinary.run(["inspect", fixture.folder + "/model.h5"])
            XCTAssertEqual(folder.status, 0, folder.stderr)
            XCTAssertEqual(h5.status, 0, h5.stderr)
            let folderLines = folder.stdoutText.split(separator: "\n", omittingEmptySubsequences: false)
            let h5Lines = h5.stdoutText.split(separator: "\n", omittingEmptySubsequences: false)
            XCTAssertEqual(folderLines.first.map(String.init), "\(fixture.folder)/model: TensorFlow SavedModel, written by Keras 2.21.0")
            XCTAssertEqual(Array(folderLines.dropFirst()), Array(h5Lines.dropFirst()), fixture.name)
        }
    }

    func testThroughLayerAndCheckRunOnAFolder() throws {
        for fixture in try cases() {
            for through in fixture.throughs {
                let out = scratch + "/\(fixture.name)-\(through.layer).npy"
                let run = try GRURunBinary.run(["--weights", fixture.folder + "/model"] + fixture.inputArguments
                                               + ["--through", through.layer, "--output", out])
                XCTAssertEqual(run.status, 0, "\(fixture.name) --through \(through.layer): \(run.stderr)")
                let (got, keras) = (try loadNPY(out), try loadNPY(fixture.folder + "/" + through.file))
                XCTAssertEqual(got.shape, through.shape)
                XCTAssertLessThanOrEqual(maxAbsError(got.values, keras.values), fixture.tolerance, "\(fixture.name) --through \(through.layer)")
            }
        }
        // The GRU is the first layer of sm_gru_dense1: alone on x it gives what the model gives through it.
        let dense1 = try fixture("sm_gru_dense1")
        let layerOut = scratch + "/layer.npy"
        let layer = try GRURunBinary.run(["--weights", dense1.folder + "/model/saved_model.pb", "--input", dense1.folder + "/x.npy",
                                          "--layer", "gru", "--output", layerOut])
        XCTAssertEqual(layer.status, 0, layer.stderr)
        let (got, keras) = (try loadNPY(layerOut), try loadNPY(dense1.folder + "/through_gru.npy"))
        XCTAssertEqual(got.shape, keras.shape)
        XCTAssertLessThanOrEqual(maxAbsError(got.values, keras.values), 1e-5)
        let check = try GRURunBinary.run(["check", "--weights", dense1.folder + "/model", "--input", dense1.folder + "/x.npy",
                                          "--expect", dense1.folder + "/y.npy"])
        XCTAssertEqual(check.status, 0, check.stdoutText + check.stderr)
        XCTAssertTrue(check.stdoutText.hasSuffix("PASS\n"), check.stdoutText)
    }

    /// tf-keras saves an IntegerLookup's config with `"vocabulary": null` and keeps the tokens in its lookup
    /// table; read back from the table, every id maps as the vocabulary make_fixtures_models.py gives
    /// (`lookup`: [3, 5, 7, 1, 9, 11] with mask token 0; `lookup_2`: [2, 4, 6, 8]), as for the .h5 whose config
    /// lists it.
    func testIntegerLookupVocabularyComesFromItsTable() throws {
        let lookup = try fixture("sm_lookup_encoding")
        let ids = scratch + "/ids.npy"
        let values: [Int64] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 3, 3, 0, 1]
        var header = Array("{'descr': '<i8', 'fortran_order': False, 'shape': (3, 6), }".utf8)
        header += Array(repeating: UInt8(ascii: " "), count: 63 - (10 + header.count) % 64) + [UInt8(ascii: "\n")]
        let bytes = [0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(header.count), 0] + header
            + values.flatMap { value in (0..<8).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) } }
        try Data(bytes).write(to: URL(fileURLWithPath: ids))
        let expected: [String: [Double]] = ["lookup": [0, 5, 1, 2, 1, 3, 1, 4, 1, 6, 1, 7, 1, 1, 2, 2, 0, 5],
                                            "lookup_2": [0, 0, 1, 0, 2, 0, 3, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0]]
        for (layer, want) in expected {
            for model in [lookup.folder + "/model", Fixtures.path("models/tfk_lookup_encoding/model.h5")] {
                let out = scratch + "/\(layer).npy"
                let run = try GRURunBinary.run(["--weights", model, "--input", ids, "--input", lookup.folder + "/x1.npy",
                                                "--through", layer, "--output", out])
                XCTAssertEqual(run.status, 0, "\(model) \(layer): \(run.stderr)")
                let got = try loadNPY(out)
                XCTAssertEqual(got.shape, [3, 6])
                XCTAssertEqual(got.values, want, "\(model) \(layer)")
            }
        }
    }

    func testASavedModelWithoutAKerasModelIsRefusedInOneSentence() throws {
        let path = Fixtures.path("savedmodel/sm_no_keras/model")
        let run = try GRURunBinary.run(["--weights", path, "--input", Fixtures.path("savedmodel/sm_gru_dense1/x.npy")])
        XCTAssertEqual(run.status, 65)
        XCTAssertEqual(run.stderr, "gru-run: \(path) is a TensorFlow SavedModel that holds a TensorFlow graph and no Keras model; gru-run runs Keras models: save the model with model.save(\"m.keras\"), model.save(\"m.h5\") or tf-keras's model.save(\"dir\").\n")
        XCTAssertEqual(try GRURunBinary.run(["inspect", path]).status, 65)
        // Keras 3's model.export(): a serving graph without Keras metadata.
        let exported = Fixtures.path("savedmodel/sm_keras3_export/model")
        let export = try GRURunBinary.run(["inspect", exported + "/"])
        XCTAssertEqual(export.status, 65)
        XCTAssertEqual(export.stderr, "gru-run: \(exported) is a TensorFlow SavedModel that holds a TensorFlow graph and no Keras model; gru-run runs Keras models: save the model with model.save(\"m.keras\"), model.save(\"m.h5\") or tf-keras's model.save(\"dir\").\n")
    }

    func testASubclassedModelIsRefusedInOneSentence() throws {
        let path = Fixtures.path("savedmodel/sm_subclassed/model")
        let run = try GRURunBinary.run(["--weights", path, "--input", Fixtures.path("savedmodel/sm_gru_dense1/x.npy")])
        XCTAssertEqual(run.status, 65)
        XCTAssertEqual(run.stderr, "gru-run: \(path)/keras_metadata.pb: holds a subclassed Keras model (class 'Subclassed'), whose layers and their connections no config records; gru-run runs functional and Sequential models: rebuild it as one and save that.\n")
    }

    /// A copy of sm_batchnorm damaged one way; its refusal is one line naming the file and the damage.
    private func assertDamaged(_ what: String, _ expected: String, file: StaticString = #filePath, line: UInt = #line,
                               _ damage: (String) throws -> Void) throws {
        let source = try fixture("sm_batchnorm")
        let copy = scratch + "/damaged"
        try? FileManager.default.removeItem(atPath: copy)
        try FileManager.default.copyItem(atPath: source.folder + "/model", toPath: copy)
        try damage(copy)
        for arguments in [["--weights", copy] + source.inputArguments, ["inspect", copy]] {
            let run = try GRURunBinary.run(arguments)
            XCTAssertEqual(run.status, 65, "\(what): \(run.stderr)", file: file, line: line)
            XCTAssertEqual(run.stderr.filter { $0 == "\n" }.count, 1, "\(what): \(run.stderr)", file: file, line: line)
            XCTAssertTrue(run.stderr.hasPrefix("gru-run: \(copy)"), "\(what): \(run.stderr)", file: file, line: line)
            XCTAssertTrue(run.stderr.contains(expected), "\(what): \(run.stderr)", file: file, line: line)
        }
    }

    private func edit(_ path: String, _ change: (inout [UInt8]) -> Void) throws {
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        change(&bytes)
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }

    func testDamagedFoldersAreRefusedInOneSentence() throws {
        let index = "/variables/variables.index", shard = "/variables/variables.data-00000-of-00001"
        try assertDamaged("truncated index", "variables.index: does not end in a table's magic number") { folder in
            try self.edit(folder + index) { $0.removeLast(100) }
        }
        try assertDamaged("index cut to nothing", "variables.index: is 0 bytes long, shorter than a table's 48-byte footer") { folder in
            try self.edit(folder + index) { $0.removeAll() }
        }
        try assertDamaged("index byte flipped", "variables.index: has a checksum mismatch in data block 0 (the file is damaged).") { folder in
            try self.edit(folder + index) { $0[40] ^= 0x20 }
        }
        try assertDamaged("shard byte flipped", "variables.data-00000-of-00001: is damaged: tensor 'layer_with_weights-") { folder in
            try self.edit(folder + shard) { $0[60] ^= 0x01 }
        }
        try assertDamaged("shard cut short", "variables.data-00000-of-00001: is truncated or damaged: tensor") { folder in
            try self.edit(folder + shard) { $0.removeLast(8) }
        }
        try assertDamaged("shard deleted", "variables.data-00000-of-00001: is missing: the checkpoint") { folder in
            try FileManager.default.removeItem(atPath: folder + shard)
        }
        try assertDamaged("variables deleted", "variables.index: is missing: a SavedModel keeps its checkpoint index there.") { folder in
            try FileManager.default.removeItem(atPath: folder + "/variables")
        }
        try assertDamaged("garbage keras_metadata.pb", "keras_metadata.pb: is damaged: it is not a readable SavedMetadata message") { folder in
            try Data("garbage, not a protobuf message\n".utf8).write(to: URL(fileURLWithPath: folder + "/keras_metadata.pb"))
        }
        try assertDamaged("truncated saved_model.pb", "saved_model.pb: is damaged: it is not a readable SavedModel message") { folder in
            try self.edit(folder + "/saved_model.pb") { $0.removeLast($0.count / 2) }
        }
        try assertDamaged("empty saved_model.pb", "is a TensorFlow SavedModel that holds a TensorFlow graph and no Keras model") { folder in
            try Data().write(to: URL(fileURLWithPath: folder + "/saved_model.pb"))
        }
    }

    /// A checkpoint written in three shards reads whole; without its last shard it is refused by name.
    func testACheckpointInSeveralShards() throws {
        let sharded = try fixture("sm_sharded")
        let variables = sharded.folder + "/model/variables"
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: variables).filter { $0.contains(".data-") }.sorted(),
                       (0..<3).map { "variables.data-0000\($0)-of-00003" })
        let copy = scratch + "/sharded"
        try FileManager.default.copyItem(atPath: sharded.folder + "/model", toPath: copy)
        try FileManager.default.removeItem(atPath: copy + "/variables/variables.data-00002-of-00003")
        let run = try GRURunBinary.run(["--weights", copy] + sharded.inputArguments)
        XCTAssertEqual(run.status, 65)
        XCTAssertTrue(run.stderr.hasPrefix("gru-run: \(copy)/variables/variables.data-00002-of-00003: is missing: the checkpoint \(copy)/variables/variables.index stores tensor '"), run.stderr)
        XCTAssertEqual(run.stderr.filter { $0 == "\n" }.count, 1)
    }

    /// Every byte of keras_metadata.pb, the checkpoint index and saved_model.pb changed in turn (a stride of
    /// them; saved_model.pb of a model with IntegerLookup tables too): each run ends with the outputs or one
    /// sentence and exit 65, never a crash.
    func testEveryDamageIsASentenceNotACrash() throws {
        for (name, files) in [("sm_gru_reset_before", ["/keras_metadata.pb", "/variables/variables.index", "/saved_model.pb"]),
                              ("sm_lookup_encoding", ["/saved_model.pb"])] {  // its lookup tables' constants and functions
            try fuzz(try fixture(name), files)
        }
    }

    private func fuzz(_ source: Case, _ files: [String]) throws {
        let copy = scratch + "/fuzzed"
        for file in files {
            let size = try Data(contentsOf: URL(fileURLWithPath: source.folder + "/model" + file)).count
            for position in stride(from: 0, to: size, by: max(1, size / 12)) {
                try? FileManager.default.removeItem(atPath: copy)
                try FileManager.default.copyItem(atPath: source.folder + "/model", toPath: copy)
                try edit(copy + file) { $0[position] ^= 0xA5 }
                let outputs = source.outputs.indices.flatMap { ["--output", scratch + "/fuzzed-\($0).npy"] }
                let run = try GRURunBinary.run(["--weights", copy] + source.inputArguments + outputs)
                XCTAssertTrue(run.status == 0 || run.status == 65, "\(file) byte \(position): exit \(run.status) \(run.stderr)")
                XCTAssertLessThanOrEqual(run.stderr.filter { $0 == "\n" }.count, 1, "\(file) byte \(position): \(run.stderr)")
            }
        }
    }
}
