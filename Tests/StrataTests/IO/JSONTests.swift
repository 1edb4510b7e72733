import Foundation
import Strata
import Testing

private func parse(_ text: String) throws(JSONError) -> JSONValue { try JSONValue.parse(Array(text.utf8)) }

@Suite struct JSONTests {
    @Test func valuesKeepTheirOrderTheirLiteralsAndRepeatedKeys() throws {
        let value = try parse(#" {"b": [1, 2.0, -3e2, true, null], "a": "x", "b": {}} "#)
        guard case .object(let members) = value else { Issue.record("not an object: \(value)"); return }
        #expect(members.map(\.key) == ["b", "a", "b"])
        let items = try #require(members[0].value.arrayValue)
        #expect(items == [.number("1"), .number("2.0"), .number("-3e2"), .bool(true), .null])
        // An integer is told from a float by its literal.
        #expect(items[0].intValue == 1 && items[1].intValue == nil && items[1].doubleValue == 2 && items[2].doubleValue == -300)
        #expect(value["a"]?.stringValue == "x" && value["missing"] == nil)
        let (byKey, repeated) = try #require(value.membersByKey)
        #expect(byKey.count == 2 && repeated == "b")
        #expect(JSONValue.int(7) == .number("7") && JSONValue.double(.nan) == .null && JSONValue.double(0.1) == .number("0.1"))
    }

    @Test func writingIsCompactOrPythonStyleAndEscapesAsSerdeDoes() throws {
        let value = JSONValue.object([("name", .string("tab\there \"q\" \\ \u{01} é")), ("n", .array([.int(1), .double(1e-5), .double(100)]))])
        #expect(value.serialized() == #"{"name":"tab\there \"q\" \\ \u0001 é","n":[1,1e-05,100.0]}"#)
        #expect(value.serialized(itemSeparator: ", ", keySeparator: ": ") == #"{"name": "tab\there \"q\" \\ \u0001 é", "n": [1, 1e-05, 100.0]}"#)
        // What is written reads back as the same value.
        #expect(try JSONValue.parse(Array(value.serialized().utf8)) == value)
        // Foundation's reader agrees on the text.
        let foundation = try #require(try JSONSerialization.jsonObject(with: Data(value.serialized().utf8)) as? [String: Any])
        #expect(foundation["name"] as? String == "tab\there \"q\" \\ \u{01} é")
    }

    @Test(arguments: [
        (#"{"a": 1,}"#, 8, "expected a string key"), (#"[1 2]"#, 3, "expected ']'"), (#"{"a": 01}"#, 7, "expected '}'"),
        (#"'a'"#, 0, "unexpected character"), (#""\q""#, 2, "invalid escape"), (#""\ud800""#, 7, "lone leading surrogate"),
        ("[1]  x", 5, "unexpected text after"), ("", 0, "unexpected end"), ("\"a\u{01}\"", 2, "control character"),
    ])
    func badTextIsRefusedAtItsOffset(text: String, offset: Int, reason: String) {
        do {
            _ = try parse(text)
            Issue.record("accepted \(text)")
        } catch {
            #expect(error.offset == offset && error.reason.contains(reason), "\(text): \(error)")
        }
    }

    @Test func limitsAndEncodingAreEnforcedAndPositionsAreLinesAndColumns() {
        #expect(throws: JSONError.self) { try parse(String(repeating: "[", count: 129) + String(repeating: "]", count: 129)) }
        #expect((try? parse(String(repeating: "[", count: 128) + String(repeating: "]", count: 128))) != nil)
        #expect(throws: JSONError.self) { try JSONValue.parse([0x22, 0xFF, 0x22]) }
        let text = Array("{\n  \"a\": [1,\n  }".utf8)
        do { _ = try JSONValue.parse(text) } catch {
            #expect(error.position(in: text) == (line: 3, column: 3))
        }
    }
}
