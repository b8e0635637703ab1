import GRUIO
import XCTest

/// What a file supplies is printed so that no terminal acts on it and no name floods the screen.
final class PrintableTests: XCTestCase {
    private let hostile = "a\u{1B}]0;t\u{07}b\t\u{9B}c\u{202E}d\u{2066}e\u{7F}f\u{85}g\n"

    func testTextEscapesEveryScalarATerminalCouldActOn() {
        XCTAssertEqual(Printable.text(hostile), #"a\u{1B}]0;t\u{07}b<tab>\u{9B}c\u{202E}d\u{2066}e\u{7F}f\u{85}g\u{0A}"#)
        XCTAssertEqual(Printable.text("plain ü, ½ and 漢字 stay"), "plain ü, ½ and 漢字 stay")
        for value in [0x0, 0x1F, 0x7F, 0x80, 0x9F, 0x200E, 0x200F, 0x061C, 0x202A, 0x202E, 0x2066, 0x2069] {
            XCTAssertTrue(Printable.isUnsafe(Unicode.Scalar(UInt32(value))!), String(value, radix: 16))
        }
        for value in [0x20, 0x7E, 0xA0, 0x2029, 0x202F, 0x206A] {
            XCTAssertFalse(Printable.isUnsafe(Unicode.Scalar(UInt32(value))!), String(value, radix: 16))
        }
    }

    func testJSONEscapesTheSameScalarsAndStaysJSON() throws {
        let literal = Printable.json(hostile + "\"\\")
        XCTAssertEqual(literal, #""a\u001b]0;t\u0007b\u0009\u009bc\u202ed\u2066e\u007ff\u0085g\u000a\"\\""#)
        XCTAssertEqual(try JSONValue.parse(literal).string, hostile + "\"\\")
        let encoded = #"{"name":"x\#u{9B}y\#u{202E}z"}"#
        XCTAssertEqual(Printable.escapingJSON(encoded), #"{"name":"x\u009by\u202ez"}"#)
        XCTAssertEqual(try JSONValue.parse(Printable.escapingJSON(encoded))["name"]?.string, "x\u{9B}y\u{202E}z")
    }

    func testLongNamesAreCutWithTheirLength() {
        let long = String(repeating: "é", count: 100_000)
        XCTAssertEqual(Printable.name(long), String(repeating: "é", count: 200) + "…(100000 characters)")
        XCTAssertEqual(Printable.quoted(String(repeating: "x", count: 201)), "'" + String(repeating: "x", count: 200) + "…(201 characters)'")
        XCTAssertEqual(Printable.quoted(String(repeating: "x", count: 200)), "'" + String(repeating: "x", count: 200) + "'")
        XCTAssertEqual(Printable.text(String(repeating: "\u{1B}", count: 9000)),
                       String(repeating: "\\u{1B}", count: 8192) + "…(9000 characters)")
    }
}
