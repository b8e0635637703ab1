import Foundation
import GRUCore
import GRUIO

/// The reference data made by real Keras under Fixtures/ (see Fixtures/README.md).
public enum Fixtures {
    /// The repository root, found from this source file's location.
    public static let repositoryRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    public static let root = repositoryRoot.appendingPathComponent("Fixtures")

    public static func path(_ relative: String) -> String {
        root.appendingPathComponent(relative).path
    }

    /// The tf-keras cases listed in Fixtures/tfkeras/manifest.json.
    public static func tfKerasCases() throws -> [FixtureCase] {
        let url = root.appendingPathComponent("tfkeras/manifest.json")
        let manifest = try JSONDecoder().decode(FixtureManifest.self, from: Data(contentsOf: url))
        return manifest.cases.map { entry in
            var entry = entry
            entry.folder = root.appendingPathComponent("tfkeras").appendingPathComponent(entry.name).path
            return entry
        }
    }
}

struct FixtureManifest: Decodable {
    var cases: [FixtureCase]
}

/// One Keras layer, its files and the calls Keras made on it.
public struct FixtureCase: Decodable, Sendable {
    public var name: String
    public var group: String
    public var dtype: String
    public var layer: FixtureLayer
    public var mask_value: Double?
    public var calls: [FixtureCall]
    public var weights: [String: String?]
    public var files: [String: String]
    public var folder = ""

    enum CodingKeys: String, CodingKey {
        case name, group, dtype, layer, mask_value, calls, weights, files
    }

    public func path(_ file: String) -> String { folder + "/" + file }

    public var isFloat64: Bool { dtype == "float64" }

    /// The tolerance of the project's promise: 1e-5 in float32, 1e-9 in float64.
    public var tolerance: Double { isFloat64 ? 1e-9 : 1e-5 }

    /// The GRU config Keras reports, as GRUCore's type.
    public var config: GRUConfig {
        var config = GRUConfig(units: layer.units)
        config.activation = Activation(kerasName: layer.activation ?? "linear")!
        config.recurrentActivation = Activation(kerasName: layer.recurrent_activation ?? "linear")!
        config.useBias = layer.use_bias
        config.resetAfter = layer.reset_after
        config.returnSequences = layer.return_sequences
        config.returnState = layer.return_state
        config.goBackwards = layer.go_backwards
        config.stateful = layer.stateful
        config.timeMajor = layer.time_major ?? false
        config.implementation = layer.implementation ?? 1
        config.unroll = layer.unroll ?? false
        config.dropout = layer.dropout ?? 0
        config.recurrentDropout = layer.recurrent_dropout ?? 0
        return config
    }
}

public struct FixtureLayer: Decodable, Sendable {
    public var units: Int
    public var activation: String?
    public var recurrent_activation: String?
    public var use_bias: Bool
    public var reset_after: Bool
    public var return_sequences: Bool
    public var return_state: Bool
    public var go_backwards: Bool
    public var stateful: Bool
    public var time_major: Bool?
    public var dropout: Double?
    public var recurrent_dropout: Double?
    public var implementation: Int?
    public var unroll: Bool?
}

public struct FixtureCall: Decodable, Sendable {
    public var input: String
    public var output: String
    public var state: String
    public var mask: String?
    public var initial_state: String?
}

/// A .npy file's values as Double with its shape.
public func loadNPY(_ path: String) throws -> (values: [Double], shape: [Int]) {
    let array = try NPYArray(path: path)
    return (try array.doubles(), array.shape)
}
