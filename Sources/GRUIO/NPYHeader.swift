/// The three fields of a .npy header dict, parsed as a Python literal without evaluating anything.
struct NPYHeader {
    var descr: String
    var fortranOrder: Bool
    var shape: [Int]

    /// Parses `{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }`.
    static func parse(_ text: String, fail: (String) -> GRUIOError) throws -> NPYHeader {
        var scanner = LiteralScanner(Array(text.unicodeScalars))
        var descr: String?
        var fortran: Bool?
        var shape: [Int]?
        guard scanner.consume("{") else { throw fail("the header is not a Python dict") }
        while true {
            if scanner.consume("}") { break }
            guard let key = scanner.string() else { throw fail("the header holds a malformed key") }
            guard scanner.consume(":") else { throw fail("the header lacks a ':' after \(Printable.quoted(key))") }
            switch key {
            case "descr":
                guard let value = scanner.string() else { throw fail("'descr' is not a string") }
                descr = value
            case "fortran_order":
                if scanner.consumeWord("True") { fortran = true } else if scanner.consumeWord("False") { fortran = false } else {
                    throw fail("'fortran_order' is neither True nor False")
                }
            case "shape":
                guard let dims = scanner.intTuple() else { throw fail("'shape' is not a tuple of non-negative integers") }
                shape = dims
            default:
                throw fail("the header has an unexpected key \(Printable.quoted(key))")
            }
            if scanner.consume(",") { continue }
            guard scanner.consume("}") else { throw fail("the header dict is not closed") }
            break
        }
        guard let descr, let fortran, let shape else {
            throw fail("the header lacks one of 'descr', 'fortran_order' and 'shape'")
        }
        return NPYHeader(descr: descr, fortranOrder: fortran, shape: shape)
    }

    static func element(from descr: String, fail: (String) -> GRUIOError) throws -> NPYElement {
        let scalars = Array(descr)
        guard scalars.count >= 3, let size = Int(String(scalars.dropFirst(2))) else {
            throw fail("element type \(Printable.quoted(descr)) is not supported; gru-run reads float16, float32, float64, int8 to int64, uint8 to uint64 and bool")
        }
        let order = scalars[0], kind = scalars[1]
        let big: Bool
        switch order {
        case "<", "|", "=": big = false
        case ">": big = true
        default: throw fail("element type \(Printable.quoted(descr)) has an unknown byte order")
        }
        switch (kind, size) {
        case ("f", 2), ("f", 4), ("f", 8): return .float(bits: size * 8, bigEndian: big)
        case ("b", 1): return .bool
        case ("i", 1), ("i", 2), ("i", 4), ("i", 8): return .integer(bytes: size, signed: true, bigEndian: big)
        case ("u", 1), ("u", 2), ("u", 4), ("u", 8): return .integer(bytes: size, signed: false, bigEndian: big)
        default:
            throw fail("element type \(Printable.quoted(descr)) is not supported; gru-run reads float16, float32, float64, int8 to int64, uint8 to uint64 and bool")
        }
    }
}

/// A cursor over a Python literal that skips whitespace between tokens.
private struct LiteralScanner {
    let text: [Unicode.Scalar]
    var position = 0

    init(_ text: [Unicode.Scalar]) {
        self.text = text
    }

    mutating func skipSpace() {
        while position < text.count, text[position].properties.isWhitespace { position += 1 }
    }

    mutating func consume(_ token: Unicode.Scalar) -> Bool {
        skipSpace()
        guard position < text.count, text[position] == token else { return false }
        position += 1
        return true
    }

    mutating func consumeWord(_ word: String) -> Bool {
        skipSpace()
        let scalars = Array(word.unicodeScalars)
        guard position + scalars.count <= text.count, Array(text[position..<(position + scalars.count)]) == scalars else {
            return false
        }
        position += scalars.count
        return true
    }

    /// A single- or double-quoted string without escapes.
    mutating func string() -> String? {
        skipSpace()
        guard position < text.count, text[position] == "'" || text[position] == "\"" else { return nil }
        let quote = text[position]
        var end = position + 1
        while end < text.count, text[end] != quote {
            if text[end] == "\\" { return nil }
            end += 1
        }
        guard end < text.count else { return nil }
        var result = String.UnicodeScalarView()
        result.append(contentsOf: text[(position + 1)..<end])
        position = end + 1
        return String(result)
    }

    /// `()`, `(3,)`, `(2, 3)`, with at most 32 dimensions of at most 18 digits each.
    mutating func intTuple() -> [Int]? {
        guard consume("(") else { return nil }
        var dims: [Int] = []
        while true {
            if consume(")") { return dims }
            skipSpace()
            var digits = ""
            while position < text.count, ("0"..."9").contains(text[position]), digits.count <= 18 {
                digits.unicodeScalars.append(text[position])
                position += 1
            }
            if consume("L") {}
            guard !digits.isEmpty, digits.count <= 18, let value = Int(digits), dims.count < 32 else { return nil }
            dims.append(value)
            if consume(",") { continue }
            return consume(")") ? dims : nil
        }
    }
}
