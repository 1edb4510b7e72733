import Foundation
import DLTrainKit
import Strata
import TestSupport
import Testing

@Suite struct PNMTests {
    private let file = URL(fileURLWithPath: "/tmp/image.pnm")

    private func parse(_ text: String, binary: [UInt8] = []) throws -> PNMImage {
        try PNMImage.parse(Array(text.utf8) + binary, file: file)
    }

    @Test func readsBinaryAndASCIIGreymaps() throws {
        // 3 × 2 image, maxval 255: samples scale by 1/255; the comment line is skipped.
        let binary = try parse("P5\n# a comment\n3 2\n255\n", binary: [0, 51, 255, 102, 204, 0])
        #expect(binary.width == 3 && binary.height == 2 && binary.channels == 1)
        #expect(binary.pixels == [0, 51, 255, 102, 204, 0].map { Float($0) * (1 / Float(255)) })
        let ascii = try parse("P2 3 2 255\n0 51 255\n102 204 0\n")
        #expect(ascii == binary)
        #expect(binary.tensor.shape == [1, 2, 3])
    }

    @Test func readsPixmapsIntoChannelPlanes() throws {
        // 2 × 1 RGB: pixel 0 = (255, 0, 0), pixel 1 = (0, 0, 255); planes are R = [1, 0], G = [0, 0], B = [0, 1].
        let binary = try parse("P6\n2 1\n255\n", binary: [255, 0, 0, 0, 0, 255])
        #expect(binary.channels == 3 && binary.pixels == [1, 0, 0, 0, 0, 1])
        #expect(try parse("P3 2 1 255  255 0 0  0 0 255") == binary)
        // maxval above 255: two big-endian bytes per sample; 0x0100 / 0x03FF... here 512 / 1023.
        let wide = try parse("P5 1 1 1023\n", binary: [0x02, 0x00])
        #expect(wide.pixels == [Float(512) * (1 / Float(1023))])
    }

    @Test func malformedFilesThrowTypedErrorsNamingTheFile() {
        #expect(throws: PNMError.badMagic(file)) { try parse("P4 1 1\n", binary: [0]) }
        #expect(throws: PNMError.badMagic(file)) { try parse("") }
        #expect(throws: PNMError.badHeader(file, field: "height")) { try parse("P5 3\n") }
        #expect(throws: PNMError.badHeader(file, field: "width")) { try parse("P2 0 1 255 0") }
        #expect(throws: PNMError.badHeader(file, field: "maxval")) { try parse("P2 1 1 70000 0") }
        #expect(throws: PNMError.truncated(file, expected: 4, found: 3)) { try parse("P5 2 2 255\n", binary: [1, 2, 3]) }
        #expect(throws: PNMError.trailingData(file, bytes: 1)) { try parse("P5 1 1 255\n", binary: [1, 2]) }
        #expect(throws: PNMError.truncated(file, expected: 2, found: 1)) { try parse("P2 2 1 255 7") }
        #expect(throws: PNMError.trailingData(file, bytes: 1)) { try parse("P2 1 1 255 7 8") }
        #expect(throws: PNMError.badSample(file, index: 1)) { try parse("P2 2 1 255 7 x") }
        #expect(throws: PNMError.sampleAboveMax(file, index: 0, value: 9, maxValue: 5)) { try parse("P2 1 1 5 9") }
        #expect(PNMError.badMagic(file).description.contains("/tmp/image.pnm"))
        #expect(throws: PNMError.unreadable(URL(fileURLWithPath: "/nonexistent/x.pgm"))) {
            try PNMImage.read(URL(fileURLWithPath: "/nonexistent/x.pgm"))
        }
    }

    /// Found by the fuzz harness: a 27-byte header claiming 2^24 × 2^24 pixels aborted in the allocator. The
    /// dimensions are checked against the bytes the file holds before anything is allocated.
    @Test func hugeDimensionsInASmallFileAreTruncatedNotAllocated() {
        let side = 1 << 24
        #expect(throws: PNMError.truncated(file, expected: side * side, found: 2)) { try parse("P5 \(side) \(side) 255\n", binary: [0, 0]) }
        #expect(throws: PNMError.truncated(file, expected: 3 * side * side, found: 8)) {
            try parse("P6 \(side) \(side) 65535\n", binary: [UInt8](repeating: 7, count: 16))
        }
        #expect(throws: PNMError.truncated(file, expected: side * side, found: 3)) { try parse("P2 \(side) \(side) 255\n1 2 3\n") }
        #expect(throws: PNMError.badHeader(file, field: "width")) { try parse("P5 \(side + 1) 1 255\n", binary: [0]) }
        #expect(throws: PNMError.badHeader(file, field: "width")) { try parse("P5 9223372036854775807 1 255\n", binary: [0]) }
    }

    /// Found by the fuzz harness: `P528 28 255` was read as a 28 × 28 image; Netpbm needs whitespace after the magic.
    @Test func aHeaderFieldNeedsWhitespaceBeforeIt() {
        #expect(throws: PNMError.badHeader(file, field: "width")) { try parse("P528 28 255\n", binary: [UInt8](repeating: 0, count: 784)) }
        #expect((try? parse("P5 1#a comment separates\n1 255\n", binary: [0])) != nil)
    }
}
