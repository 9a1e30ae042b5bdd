#if hasFeature(Embedded)
import CRankEdgeSystem  // no Glibc overlay in Embedded Swift: libc from its headers (embedded/)
#elseif canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Data cache sizes of the CPU the process runs on, in bytes, as Linux reports them in
/// /sys/devices/system/cpu/cpu0/cache; conservative defaults where that is missing (other OSes,
/// containers hiding sysfs, boards with partial tables).
public struct CPUCaches: Sendable, Equatable {
    public var l1d: Int
    public var l2: Int
    /// The share of the last-level cache one core can count on (its size over the CPUs sharing it).
    public var l3PerCore: Int

    public static let defaults = CPUCaches(l1d: 32 << 10, l2: 256 << 10, l3PerCore: 1 << 20)

    public init(l1d: Int, l2: Int, l3PerCore: Int) {
        self.l1d = l1d
        self.l2 = l2
        self.l3PerCore = l3PerCore
    }

    /// Read once per process.
    public static let current: CPUCaches = detect(root: "/sys/devices/system/cpu/cpu0/cache")

    /// Reads `root/index*/{level,type,size,shared_cpu_list}`; each level missing from sysfs keeps its default.
    static func detect(root: String) -> CPUCaches {
        var caches = defaults
        var sawL3 = false
        for index in 0..<8 {
            let dir = "\(root)/index\(index)"
            guard let levelText = readSmallFile("\(dir)/level"), let level = Int(levelText),
                  let type = readSmallFile("\(dir)/type"),
                  let sizeText = readSmallFile("\(dir)/size"), let size = parseCacheSize(sizeText), size > 0
            else { continue }
            switch (level, type) {
            case (1, "Data"), (1, "Unified"): caches.l1d = size
            case (2, _) where type != "Instruction": caches.l2 = size
            case (3, _) where type != "Instruction":
                let sharers = readSmallFile("\(dir)/shared_cpu_list").map(countCPUs) ?? 1
                caches.l3PerCore = size / max(1, sharers)
                sawL3 = true
            default: break
            }
        }
        // Without an L3 the L2 is the last level; never plan for less than it.
        if !sawL3 { caches.l3PerCore = max(caches.l2, defaults.l3PerCore) }
        return caches
    }

    /// "32K", "1024K", "1M", "12345" → bytes.
    static func parseCacheSize(_ text: String) -> Int? {
        var digits = Array(text.utf8)
        guard let last = digits.last else { return nil }
        let multiplier: Int
        switch last {
        case UInt8(ascii: "K"), UInt8(ascii: "k"): multiplier = 1 << 10
        case UInt8(ascii: "M"), UInt8(ascii: "m"): multiplier = 1 << 20
        case UInt8(ascii: "G"), UInt8(ascii: "g"): multiplier = 1 << 30
        default: multiplier = 1
        }
        if multiplier > 1 { digits.removeLast() }
        guard let value = Int(String(decoding: digits, as: UTF8.self)) else { return nil }
        let (bytes, overflow) = value.multipliedReportingOverflow(by: multiplier)
        return overflow ? nil : bytes
    }

    /// Counts CPUs in a list such as "0-3,8,10-11".
    static func countCPUs(_ list: String) -> Int {
        var count = 0
        for part in list.splitUTF8(",") {
            let bounds = part.splitUTF8("-").compactMap { Int($0) }
            if bounds.count == 2, bounds[1] >= bounds[0] { count += bounds[1] - bounds[0] + 1 } else if bounds.count == 1 { count += 1 }
        }
        return max(count, 1)
    }

    /// The first line of a small text file, without the newline, or nil if it cannot be read.
    static func readSmallFile(_ path: String) -> String? {
        guard let file = fopen(path, "r") else { return nil }
        defer { fclose(file) }
        var buffer = [CChar](repeating: 0, count: 256)
        guard fgets(&buffer, Int32(buffer.count), file) != nil else { return nil }
        var line = buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
        while let last = line.last, last == UInt8(ascii: "\n") || last == UInt8(ascii: " ") || last == UInt8(ascii: "\r") { line.removeLast() }
        return String(decoding: line, as: UTF8.self)
    }
}
