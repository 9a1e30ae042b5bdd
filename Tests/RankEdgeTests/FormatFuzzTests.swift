import Testing
@testable import RankEdge

/// Decoding must never trap: truncated files, random byte changes and structurally valid files
/// carrying hostile values all end in a graph or an `RKGFormatError` (typed throws make "which
/// error type" a compile-time fact; these tests make "no trap" a run-time one). Seeded and bounded.
@Suite struct FormatFuzzTests {
    typealias F = FormatFixtures

    static func headerEnd(_ bytes: [UInt8]) -> Int {
        var n = 0
        for i in 0..<8 { n |= Int(bytes[i]) << (8 * i) }
        return 8 + n
    }

    @Test func everyTruncationIsRejected() {
        let good = F.encoded(F.tinyGraph())
        var accepted: [Int] = []
        for length in 0..<good.count {
            if (try? RKGFile.decode(Array(good.prefix(length)))) != nil { accepted.append(length) }
        }
        #expect(accepted.isEmpty, "truncations accepted: \(accepted)")
    }

    @Test func randomByteChangesNeverTrap() {
        let good = F.encoded(F.everyOpGraph())
        let original = F.everyOpGraph()
        let headerEnd = Self.headerEnd(good)
        var rng = SeededRandom(seed: 2026)
        var (succeeded, failed) = (0, 0)
        for _ in 0..<1500 {
            var bytes = good
            let changes = 1 + Int(rng.next() % 4)
            var touchedHeader = false
            for _ in 0..<changes {
                // Mostly the header, where the structure is; sometimes anywhere.
                let inHeader = rng.next() % 4 != 0
                let i = inHeader ? Int(rng.next() % UInt64(headerEnd)) : Int(rng.next() % UInt64(bytes.count))
                bytes[i] ^= UInt8(truncatingIfNeeded: 1 + rng.next() % 255)
                touchedHeader = touchedHeader || i < headerEnd
            }
            do {
                let g = try RKGFile.decode(bytes)
                succeeded += 1
                if !touchedHeader {
                    var expected = g
                    expected.weights = original.weights
                    #expect(expected == original, "a change in the buffer changed more than weights")
                }
            } catch {
                failed += 1
                #expect(touchedHeader, "a change confined to the buffer was rejected: \(error)")
            }
        }
        #expect(succeeded > 0 && failed > 0)
    }

    @Test func randomTruncationsOfALargerFileAreRejected() {
        let good = F.encoded(F.everyOpGraph())
        var rng = SeededRandom(seed: 5)
        for _ in 0..<200 {
            let length = Int(rng.next() % UInt64(good.count))
            #expect((try? RKGFile.decode(Array(good.prefix(length)))) == nil, "prefix of \(length) bytes accepted")
        }
    }

    static let hostileNumbers = ["0", "-1", "1", "2", "7", "-0", "0.5", "1e999", "-1e999", "2147483648",
                                 "4611686018427387904", "9223372036854775807", "-9223372036854775808", "99999999999999999999"]

    /// Replaces numbers (and sometimes strings) throughout a JSON value, at random.
    static func mutate(_ v: JSONValue, _ rng: inout SeededRandom, names: [String]) -> JSONValue {
        switch v {
        case .number:
            return rng.next() % 3 == 0 ? .number(hostileNumbers[Int(rng.next() % UInt64(hostileNumbers.count))]) : v
        case .string:
            return rng.next() % 12 == 0 ? .string(names[Int(rng.next() % UInt64(names.count))]) : v
        case .array(let items):
            var out = items.map { mutate($0, &rng, names: names) }
            if !out.isEmpty && rng.next() % 16 == 0 { out.remove(at: Int(rng.next() % UInt64(out.count))) }
            return .array(out)
        case .object(let o):
            return .object(JSONObject(o.entries.map { ($0.key, mutate($0.value, &rng, names: names)) }))
        default:
            return v
        }
    }

    @Test func hostileGraphJSONNeverTraps() {
        let g = F.everyOpGraph()
        let good = F.encoded(g)
        let names = g.nodes.map(\.name) + g.weights.keys.sorted() + ["input", "", "__metadata__"]
        var rng = SeededRandom(seed: 99)
        var (succeeded, failed) = (0, 0)
        for _ in 0..<400 {
            let bytes = F.editingGraph(good) { graph in
                graph = Self.mutate(.object(graph), &rng, names: names).objectValue!
                graph = F.replacing(graph, "format_version", with: .int(1))
            }
            if (try? RKGFile.decode(bytes)) != nil { succeeded += 1 } else { failed += 1 }
        }
        #expect(failed > 0)
        #expect(succeeded + failed == 400)
    }

    @Test func hostileTensorTableNeverTraps() {
        let g = F.tinyGraph()
        let good = F.encoded(g)
        let names = g.weights.keys.sorted() + ["F16", "F32", "I64", "X"]
        var rng = SeededRandom(seed: 42)
        var failed = 0
        for _ in 0..<400 {
            let bytes = F.editingHeader(good) { header in
                let pairs = header.entries.map { e in
                    (e.key, e.key == "__metadata__" ? e.value : Self.mutate(e.value, &rng, names: names))
                }
                header = JSONObject(pairs)
            }
            if (try? RKGFile.decode(bytes)) == nil { failed += 1 }
        }
        #expect(failed > 0)
    }
}
