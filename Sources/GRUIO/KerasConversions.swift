import GRUCore

/// Older weight layouts turned into GRU(kernel, recurrent_kernel, bias), as tf-keras's loader turns them.
extension KerasReader {
    /// Keras 1 stores a GRU as nine arrays `W_z, U_z, b_z, W_r, U_r, b_r, W_h, U_h, b_h`; tf-keras's legacy
    /// loader joins them gate by gate into kernel `[W_z | W_r | W_h]`, recurrent kernel `[U_z | U_r | U_h]`
    /// and bias `[b_z | b_r | b_h]` (reset_after False).
    static func joinKeras1(_ arrays: [HDF5FloatArray], name: String, path: String) throws -> [HDF5FloatArray] {
        let w = [arrays[0], arrays[3], arrays[6]], u = [arrays[1], arrays[4], arrays[7]], b = [arrays[2], arrays[5], arrays[8]]
        guard let units = u.first?.shape.last, let features = w.first?.shape.first,
              w.allSatisfy({ $0.shape == [features, units] }), u.allSatisfy({ $0.shape == [units, units] }),
              b.allSatisfy({ $0.shape == [units] }) else {
            let shapes = arrays.map { describe($0.shape) }.joined(separator: ", ")
            throw GRUIOError.keras(path: path, "layer '\(name)' holds nine weights of shapes \(shapes); a Keras 1 GRU holds W (features, units), U (units, units) and b (units,) for each of z, r, h")
        }
        func join(_ blocks: [HDF5FloatArray], rows: Int) -> HDF5FloatArray {
            var values: [Double] = []
            values.reserveCapacity(rows * 3 * units)
            for r in 0..<rows { for block in blocks { values += block.values[(r * units)..<((r + 1) * units)] } }
            return HDF5FloatArray(shape: rows == 1 && blocks[0].shape.count == 1 ? [3 * units] : [rows, 3 * units], values: values, bits: blocks[0].bits)
        }
        return [join(w, rows: features), join(u, rows: units), join(b, rows: 1)]
    }

    /// CuDNNGRU's layout to GRU(reset_after=True)'s, as tf-keras `_convert_rnn_weights` does: per gate, the
    /// input kernel block `(D, U)` holds the row-major values of a `(U, D)` matrix (new = old.reshape(U, D).T),
    /// the recurrent block is transposed, and the `(6U,)` bias becomes `(2, 3U)`.
    static func convertCuDNN(_ gru: inout KerasGRU, bias: [Double]) {
        let d = gru.inputDim, u = gru.units, cols = 3 * u
        let storedKernel = gru.kernel, storedRecurrent = gru.recurrentKernel
        var kernel = storedKernel, recurrent = storedRecurrent
        for g in 0..<3 {
            var block = [Double](repeating: 0, count: d * u)          // the stored (D, U) block, row-major
            for i in 0..<d { for j in 0..<u { block[i * u + j] = storedKernel[i * cols + g * u + j] } }
            for i in 0..<d { for j in 0..<u { kernel[i * cols + g * u + j] = block[j * d + i] } }
            for i in 0..<u { for j in 0..<u { recurrent[i * cols + g * u + j] = storedRecurrent[j * cols + g * u + i] } }
        }
        gru.kernel = kernel
        gru.recurrentKernel = recurrent
        gru.bias = bias
        gru.biasShape = [2, cols]
    }

    /// A class name as Keras 3 names its weights group (`keras.src.utils.naming.to_snake_case`):
}
