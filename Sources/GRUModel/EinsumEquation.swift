import GRUCore

/// An EinsumDense equation, `input,kernel->output`, in the three forms Keras's `_analyze_einsum_string`
/// accepts (letters a-z, A-Z): no ellipsis (`abc,cd->abd`), an ellipsis leading the input and the output
/// (`...b,bc->...c`), or one ending them (`ab...,bc->ac...`, two input letters at least). Each letter appears
/// at most once per operand (einsum would take a diagonal, which Keras's layer never builds); every output
/// letter comes from the input or the kernel, and every kernel letter from the input or the output (Keras's
/// own checks). Letters of the input missing from the output are summed over, as `einsum` does.
public struct EinsumEquation: Sendable {
    public enum Ellipsis: Sendable { case none, leading, trailing }
    public let input: [Character], kernel: [Character], output: [Character]
    public let ellipsis: Ellipsis

    public init(_ text: String, layer: String) throws {
        func refuse(_ why: String) -> GRUModelError {
            .config(layer: layer, "its equation '\(text.prefix(60))' \(why); gru-run runs the forms Keras's EinsumDense builds: 'ab,bc->ac', '...b,bc->...c', 'ab...,bc->ac...'")
        }
        // GRUModel has no Foundation: the sides are split by hand.
        let compact = String(text.filter { $0 != " " })
        let sides = compact.split(separator: "-", omittingEmptySubsequences: false)
        guard sides.count == 2, sides[1].first == ">" else { throw refuse("has no single '->'") }
        let operands = sides[0].split(separator: ",", omittingEmptySubsequences: false)
        guard operands.count == 2 else { throw refuse("does not take two operands") }
        var inputText = String(operands[0]), outputText = String(sides[1].dropFirst())
        let kernelText = String(operands[1])
        let lead = inputText.hasPrefix("..."), trail = inputText.hasSuffix("...") && !lead
        if lead || trail {
            guard lead ? outputText.hasPrefix("...") : outputText.hasSuffix("...") else { throw refuse("has '...' in the input but not at the same end of the output") }
            inputText = lead ? String(inputText.dropFirst(3)) : String(inputText.dropLast(3))
            outputText = lead ? String(outputText.dropFirst(3)) : String(outputText.dropLast(3))
        }
        ellipsis = lead ? .leading : trail ? .trailing : .none
        let letters: [[Character]] = [Array(inputText), Array(kernelText), Array(outputText)]
        guard letters.allSatisfy({ !$0.isEmpty && $0.allSatisfy { $0.isASCII && $0.isLetter } }) else {
            throw refuse("holds something other than letters and one '...' per side")
        }
        guard letters.allSatisfy({ Set($0).count == $0.count }) else { throw refuse("repeats a letter within an operand") }
        guard !trail || letters[0].count >= 2 else { throw refuse("has a trailing '...' after one input letter") }
        (input, kernel, output) = (letters[0], letters[1], letters[2])
        guard output.allSatisfy({ input.contains($0) || kernel.contains($0) }) else { throw refuse("has an output letter in neither operand") }
        guard kernel.allSatisfy({ input.contains($0) || output.contains($0) }) else { throw refuse("has a kernel letter in neither the input nor the output") }
    }

    /// How one input shape runs: the output's axes (`kept`, each with its input and kernel stride), the
    /// summed letters, and for each output axis its letter (nil for an ellipsis dim).
    public struct Plan {
        public var outputShape: [Int] = []
        public var outputLetters: [Character?] = []
        var kept: [(input: Int, kernel: Int)] = []
        var summed: [(size: Int, input: Int, kernel: Int)] = []
    }

    public func plan(input shape: [Int], kernel kernelShape: [Int], layer: String) throws -> Plan {
        let elided = shape.count - input.count
        guard ellipsis == .none ? elided == 0 : elided >= 0 else {
            throw GRUModelError.shape(layer: layer, "its equation takes \(input.count) input axes\(ellipsis == .none ? "" : " or more"), not an input of shape \(describe(shape))")
        }
        // The output keeps the batch first: the input's first letter leads the output, unless a leading
        // ellipsis holds the batch.
        guard ellipsis == .leading && elided > 0 || output.first == input.first else {
            throw GRUModelError.config(layer: layer, "its equation's output does not start with the input's first (batch) axis '\(input[0])'")
        }
        let letterAxis = ellipsis == .leading ? { (k: Int) in k + elided } : { (k: Int) in k }
        let elidedAxes = ellipsis == .leading ? Array(0..<elided) : Array(input.count..<shape.count)
        var inputStride = [Int](repeating: 0, count: shape.count), s = 1
        for axis in stride(from: shape.count - 1, through: 0, by: -1) { inputStride[axis] = s; s *= shape[axis] }
        var kernelStride = [Int](repeating: 0, count: kernelShape.count); s = 1
        for axis in stride(from: kernelShape.count - 1, through: 0, by: -1) { kernelStride[axis] = s; s *= kernelShape[axis] }
        func size(_ letter: Character) throws -> Int {
            let fromInput = input.firstIndex(of: letter).map { shape[letterAxis($0)] }
            let fromKernel = kernel.firstIndex(of: letter).map { kernelShape[$0] }
            if let fromInput, let fromKernel, fromInput != fromKernel {
                throw GRUModelError.shape(layer: layer, "its equation's '\(letter)' is \(fromInput) in an input of shape \(describe(shape)) but \(fromKernel) in its kernel")
            }
            return fromInput ?? fromKernel!
        }
        func strides(_ letter: Character) -> (Int, Int) {
            (input.firstIndex(of: letter).map { inputStride[letterAxis($0)] } ?? 0, kernel.firstIndex(of: letter).map { kernelStride[$0] } ?? 0)
        }
        var plan = Plan()
        let elidedPart = elidedAxes.map { (shape[$0], inputStride[$0]) }
        if ellipsis == .leading { for (n, st) in elidedPart { plan.outputShape.append(n); plan.outputLetters.append(nil); plan.kept.append((st, 0)) } }
        for letter in output {
            plan.outputShape.append(try size(letter)); plan.outputLetters.append(letter); plan.kept.append(strides(letter))
        }
        if ellipsis == .trailing { for (n, st) in elidedPart { plan.outputShape.append(n); plan.outputLetters.append(nil); plan.kept.append((st, 0)) } }
        // A letter in both operands is summed once; one in the input alone is summed over too.
        let summedLetters = input.filter { !output.contains($0) } + kernel.filter { !output.contains($0) && !input.contains($0) }
        for letter in summedLetters {
            let (i, k) = strides(letter)
            plan.summed.append((try size(letter), i, k))
        }
        return plan
    }
}
