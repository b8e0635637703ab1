/// Strings a file supplies (layer names, class names, CSV fields) made safe to print: a model file can name
/// a layer "\u{1B}]0;title\u{07}", which a terminal would obey, or give it a 5 MB name. Every printer of
/// gru-run (error messages, inspect, check) goes through these functions.
public enum Printable {
    /// Names longer than this many characters are cut in messages and reports.
    public static let nameLimit = 200
    /// A whole message longer than this is cut, whatever put the length there.
    public static let textLimit = 8192

    /// `name` cut to `limit` characters, with an ellipsis and the full length: "aaa…(1048576 characters)".
    /// Nothing is escaped: `text` and `json` do that where the name is printed.
    public static func name(_ name: String, limit: Int = nameLimit) -> String {
        let scalars = name.unicodeScalars
        guard scalars.count > limit else { return name }
        var cut = String.UnicodeScalarView()
        cut.append(contentsOf: scalars.prefix(limit))
        return String(cut) + "…(\(scalars.count) characters)"
    }

    /// A class name after "a" or "an" as it is spoken: "an Attention", "an LSTM" (an initialism read letter
    /// by letter), "a GRU", "a Conv1D".
    public static func withArticle(_ className: String) -> String {
        let shown = name(className)
        guard let first = shown.first else { return "a " + shown }
        let initialism = shown.prefix(2).allSatisfy(\.isUppercase)
        let vowelSound = "AEIOUaeiou".contains(first) || (initialism && "FHLMNRSX".contains(first))
        return (vowelSound ? "an " : "a ") + shown
    }

    /// `name` cut as `name(_:)` does, between single quotes: how messages quote a file's names.
    public static func quoted(_ name: String) -> String {
        "'" + Self.name(name) + "'"
    }

    /// Scalars a terminal could act on: C0 controls and DEL, C1 controls (U+0080-U+009F, which some terminals
    /// read as ESC sequences), and the bidirectional overrides and isolates that reorder what is shown.
    public static func isUnsafe(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x00...0x1F, 0x7F...0x9F, 0x202A...0x202E, 0x2066...0x2069, 0x200E, 0x200F, 0x061C: return true
        default: return false
        }
    }

    /// Text for a terminal: a tab reads "<tab>", any other unsafe scalar "\u{1B}", and text longer than
    /// `limit` characters is cut as `name(_:)` cuts.
    public static func text(_ text: String, limit: Int = textLimit) -> String {
        let cut = name(text, limit: limit)
        guard cut.unicodeScalars.contains(where: isUnsafe) else { return cut }
        var result = ""
        for scalar in cut.unicodeScalars {
            if scalar == "\t" {
                result += "<tab>"
            } else if isUnsafe(scalar) {
                result += "\\u{" + hex(scalar.value, digits: 2) + "}"
            } else {
                result.unicodeScalars.append(scalar)
            }
        }
        return result
    }

    /// A JSON string literal, quotes included, in which every unsafe scalar is a \uXXXX escape (lowercase
    /// hex, as JSONEncoder writes them).
    public static func json(_ text: String) -> String {
        var result = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            default:
                if isUnsafe(scalar) { result += "\\u" + hex(scalar.value, digits: 4).lowercased() } else { result.unicodeScalars.append(scalar) }
            }
        }
        return result + "\""
    }

    /// JSON text from an encoder that escapes C0 controls but leaves C1 controls, DEL and bidirectional
    /// overrides as they are: those become \uXXXX escapes too. Such scalars can only stand inside strings,
    /// so the result is the same JSON value.
    public static func escapingJSON(_ encoded: String) -> String {
        guard encoded.unicodeScalars.contains(where: isUnsafe) else { return encoded }
        var result = ""
        for scalar in encoded.unicodeScalars {
            if isUnsafe(scalar) { result += "\\u" + hex(scalar.value, digits: 4).lowercased() } else { result.unicodeScalars.append(scalar) }
        }
        return result
    }

    private static func hex(_ value: UInt32, digits: Int) -> String {
        let text = String(value, radix: 16, uppercase: true)
        return String(repeating: "0", count: max(0, digits - text.count)) + text
    }
}
