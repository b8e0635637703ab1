import Foundation

// What `inspect` reports, typed as the JSON shows it (README.md, "Inspect a file"): booleans, numbers and
// lists as such, and null where a value is absent, so that a script reads fields rather than prose.

/// A config value as Keras's config holds it; `text` is how the text report shows it (Python's spelling).
enum ReportValue: Encodable, Equatable {
    case string(String)
    case bool(Bool)
    case number(Double)
    case integer(Int)
    case null

    var text: String {
        switch self {
        case .string(let value): return value
        case .bool(let value): return value ? "True" : "False"
        case .number(let value): return String(value)
        case .integer(let value): return String(value)
        case .null: return "None"
        }
    }

    func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .string(let value): try container.encode(value)
        case .bool(let value): try container.encode(value)
        case .number(let value): try container.encode(value)
        case .integer(let value): try container.encode(value)
        case .null: try container.encodeNil()
        }
    }
}

extension Inspect {
    struct LayerReport: Encodable {
        var name: String
        var className: String
        var units: Int?
        var features: Int?
        var dtype: String?
        var config: [String: ReportValue]
        var directions: [String: [String: ReportValue]]?
        /// A weights-only layer: whose defaults its config holds, and why that is a guess when it is one.
        var assumedDefaults: AssumedWriter?

        enum CodingKeys: String, CodingKey {
            case name, className = "class", units, features, dtype, config, directions, assumedDefaults = "assumed_defaults"
        }

        func encode(to encoder: Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(name, forKey: .name)
            try container.encode(className, forKey: .className)
            try container.encode(units, forKey: .units)
            try container.encode(features, forKey: .features)
            try container.encode(dtype, forKey: .dtype)
            try container.encode(config, forKey: .config)
            try container.encode(directions, forKey: .directions)
            try container.encode(assumedDefaults, forKey: .assumedDefaults)
        }
    }

    struct AssumedWriter: Encodable {
        var writer: String
        /// Why the writer is a guess (another writer fits the file and its defaults differ); null when not.
        var doubt: String?

        var text: String { writer + (doubt.map { " (\($0))" } ?? "") }

        func encode(to encoder: Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(writer, forKey: .writer)
            try container.encode(doubt, forKey: .doubt)
        }

        enum CodingKeys: String, CodingKey { case writer, doubt }
    }

    /// One value a weights-only file does not record, what gru-run takes for it, and the flag that states it.
    struct Assumption: Encodable {
        /// Keras's name for it (`recurrent_activation`, `mask_value`), or `layer` for the layer to run.
        var setting: String
        /// The value taken, the same for every layer; null when it differs by layer or nothing is taken.
        var assumed: ReportValue
        /// Each layer's value, when they differ.
        var perLayer: [String: ReportValue]?
        var flag: String
        var reason: String?
        /// The same as one line of text, as `flags_to_state` lists it.
        var text: String

        enum CodingKeys: String, CodingKey { case setting, assumed, perLayer = "per_layer", flag, reason }

        func encode(to encoder: Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(setting, forKey: .setting)
            try container.encode(assumed, forKey: .assumed)
            try container.encode(perLayer, forKey: .perLayer)
            try container.encode(flag, forKey: .flag)
            try container.encode(reason, forKey: .reason)
        }
    }

    /// One layer call of a whole model: what it reads, the shapes it gives without the batch axis, and the
    /// settings of its layer that say what it computes (units, activation, ...).
    struct CallReport: Encodable {
        var name: String
        var className: String
        var inputs: [String]
        var outputShapes: [[Int]]
        var settings: [String: ReportValue]

        enum CodingKeys: String, CodingKey {
            case name, className = "class", inputs, outputShapes = "output_shapes", settings
        }
    }

    /// A model input or output in the order `--input` / `--output` take them: its name, its shape without the
    /// batch axis (null where any size goes; null as a whole when the model declares none) and dtype.
    struct TensorReport: Encodable {
        var name: String
        var shape: [Int?]?
        var dtype: String

        enum CodingKeys: String, CodingKey { case name, shape, dtype }

        func encode(to encoder: Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(name, forKey: .name)
            try container.encode(shape, forKey: .shape)
            try container.encode(dtype, forKey: .dtype)
        }

        /// `(batch, 6, 4)`, any size shown as None, as Keras prints shapes.
        var text: String {
            "\(name): " + (shape.map { "(" + (["batch"] + $0.map { $0.map(String.init) ?? "None" }).joined(separator: ", ") + ")" } ?? "shape not declared")
                + " " + dtype
        }
    }

    struct Report: Encodable {
        var path: String
        var kind: String
        var kerasVersion: String?
        /// keras2 or keras3, with its formula.
        var hardSigmoid: String
        var hardSigmoidFormula: String
        var hasConfig: Bool
        var layers: [LayerReport]
        var runs: String
        /// The layers a run without --layer goes through, in order; empty when it needs --layer or runs nothing.
        var runOrder: [String]
        var assumptions: [Assumption]
        /// A whole model's calls in the order they run (nil when the file runs one layer at a time).
        var graph: [CallReport]?
        var graphNote: String?
        /// A whole model's inputs and outputs, in the order --input and --output take them.
        var inputs: [TensorReport]?
        var outputs: [TensorReport]?

        enum CodingKeys: String, CodingKey {
            case path, kind, kerasVersion = "keras_version", hardSigmoid = "hard_sigmoid", hardSigmoidFormula = "hard_sigmoid_formula"
            case hasConfig = "has_config", layers, runs, runOrder = "run_order", assumptions, flagsToState = "flags_to_state"
            case graph, graphNote = "graph_note", inputs, outputs
        }

        func encode(to encoder: Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(path, forKey: .path)
            try container.encode(kind, forKey: .kind)
            try container.encode(kerasVersion, forKey: .kerasVersion)
            try container.encode(hardSigmoid, forKey: .hardSigmoid)
            try container.encode(hardSigmoidFormula, forKey: .hardSigmoidFormula)
            try container.encode(hasConfig, forKey: .hasConfig)
            try container.encode(layers, forKey: .layers)
            try container.encode(runs, forKey: .runs)
            try container.encode(runOrder, forKey: .runOrder)
            try container.encode(assumptions, forKey: .assumptions)
            try container.encode(assumptions.map(\.text), forKey: .flagsToState)
            try container.encode(graph, forKey: .graph)
            try container.encode(graphNote, forKey: .graphNote)
            try container.encode(inputs, forKey: .inputs)
            try container.encode(outputs, forKey: .outputs)
        }
    }
}
