// Using gru-run's libraries from another Swift package: read a Keras file with GRUIO, run it with GRUCore.
import Foundation
import GRUCore
import GRUIO

let arguments = CommandLine.arguments
guard arguments.count == 2 else {
    FileHandle.standardError.write(Data("usage: LibraryDemo MODEL.h5\n".utf8))
    exit(64)
}
do {
    // The file's GRU, its config and weights (Masking in front gives maskValue).
    let gru = try KerasReader.loadGRU(path: arguments[1])
    let layer = try GRULayer<Float>(config: gru.config, weights: try gru.weights(Float.self))
    // One sample of three steps; the last step is all zeros and masked when the model has Masking(0).
    let steps = 3, features = gru.inputDim
    let input = (0..<(steps * features)).map { index in index < 2 * features ? Float(index % 5) / 4 - 0.5 : 0 }
    let mask = gru.maskValue.map { maskingRule(input, features: features, maskValue: Float($0)) }
    let result = try layer(input, shape: [1, steps, features], mask: mask)
    print("output shape \(result.outputShape)")
    print(result.output.map { String($0) }.joined(separator: ","))
} catch {
    FileHandle.standardError.write(Data("LibraryDemo: \(error)\n".utf8))
    exit(1)
}
