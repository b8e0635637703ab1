import Synchronization

/// Keras's names for what it stores: weight groups named after classes, weights after their variables.
extension KerasReader {
    /// `Bidirectional` -> `bidirectional`, `InputLayer` -> `input_layer`, `Conv1D` -> `conv1d`,
    /// `PReLU` -> `p_re_lu`. Keras drops non-word characters, then applies `(.)([A-Z][a-z]+)` -> `\1_\2`
    /// and `([a-z])([A-Z])` -> `\1_\2` (each left to right, without overlaps) and lowercases.
    static func snakeCase(_ name: String) -> String {
        // A model names few classes and may call them many thousand times.
        if let known = snakeCases.withLock({ $0[name] }) { return known }
        let snake = snakeCased(name)
        snakeCases.withLock { $0[name] = snake }
        return snake
    }

    private static let snakeCases = Mutex<[String: String]>([:])

    private static func snakeCased(_ name: String) -> String {
        func isUpper(_ c: Character) -> Bool { c.isASCII && c.isUppercase }
        func isLower(_ c: Character) -> Bool { c.isASCII && c.isLowercase }
        let word = Array(name.filter { $0.isLetter || $0.isNumber || $0 == "_" })
        var spaced: [Character] = []
        var i = 0
        while i < word.count {
            spaced.append(word[i])
            if i + 2 < word.count, isUpper(word[i + 1]), isLower(word[i + 2]) {
                spaced += ["_", word[i + 1]]
                i += 2
                while i < word.count, isLower(word[i]) {
                    spaced.append(word[i])
                    i += 1
                }
            } else {
                i += 1
            }
        }
        var result = ""
        i = 0
        while i < spaced.count {
            result.append(spaced[i])
            if i + 1 < spaced.count, isLower(spaced[i]), isUpper(spaced[i + 1]) {
                result += "_" + String(spaced[i + 1])
                i += 2
            } else {
                i += 1
            }
        }
        return result.lowercased()
    }

    /// `gru/gru_cell/kernel:0` -> `kernel`.
    static func leafName(_ weightName: String) -> String {
        let last = weightName.split(separator: "/").last.map(String.init) ?? weightName
        return last.split(separator: ":").first.map(String.init) ?? last
    }
}
