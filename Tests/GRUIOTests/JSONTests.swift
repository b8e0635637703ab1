import GRUIO
import XCTest

final class JSONTests: XCTestCase {
    func testValuesAndPythonSpellings() throws {
        let value = try JSONValue.parse(#"{"a": [1, -2.5e3, true, false, null, "x\n\u00e9\ud83d\ude00"], "b": NaN, "c": -Infinity, "d": {}}"#)
        XCTAssertEqual(value["a"]?.array?.count, 6)
        XCTAssertEqual(value["a"]?.array?[1].number, -2500)
        XCTAssertEqual(value["a"]?.array?[5].string, "x\né😀")
        XCTAssertTrue(value["b"]?.number?.isNaN == true)
        XCTAssertEqual(value["c"]?.number, -.infinity)
        XCTAssertEqual(value["d"], .object([:]))
    }

    func testMalformedTextIsRefusedNotTrapped() {
        for text in ["{\"units\": 2e+}", "[1e-]", "[01x]", "{", "[1,]", "{\"a\" 1}", "\"\\u12\"", "[" + String(repeating: "[", count: 5000),
                     "nul", "{\"a\": 1} x", "\"tab\there\"", "-", "1.", ".5"] {
            XCTAssertThrowsError(try JSONValue.parse(text), text)
        }
    }

    func testKerasConfigWithBrokenNumberIsAnError() {
        let text = #"{"class_name": "Sequential", "config": {"layers": [{"class_name": "GRU", "config": {"units": 2e+}}]}}"#
        XCTAssertThrowsError(try KerasReader.readModelConfig(text, path: "m.h5")) {
            XCTAssertEqual("\($0)", "m.h5: model_config is not valid JSON.")
        }
    }
}
