#if hasFeature(Embedded)
import CRankEdgeSystem  // no Glibc overlay in Embedded Swift: libc from its headers (embedded/)
#elseif canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The most memory one session (or one compile, or one import) may ask for, and the arithmetic that
/// estimates what it needs before anything is allocated. A batch or a shape from a file can ask for
/// terabytes; without this bound the allocation fails inside the Swift runtime, which aborts the
/// process with a backtrace instead of returning an error.
public enum MemoryBound {
    /// The machine's physical memory (sysconf), nil where the system does not say.
    public static let physicalBytes: Int? = {
        let pages = sysconf(Int32(_SC_PHYS_PAGES)), pageSize = sysconf(Int32(_SC_PAGESIZE))
        guard pages > 0, pageSize > 0 else { return nil }
        let (bytes, overflow) = pages.multipliedReportingOverflow(by: pageSize)
        return overflow ? Int.max : bytes
    }()

    /// The default bound: three quarters of physical memory, leaving the rest to the system, the
    /// process's own code and the caller's copies of inputs and outputs. Int.max (no bound) where
    /// physical memory is unknown.
    public static var defaultBytes: Int {
        guard let physicalBytes else { return Int.max }
        return physicalBytes / 4 * 3
    }

    /// Bytes of `floats` float32 values; nil when that overflows Int.
    public static func bytes(floats: Int) -> Int? {
        guard floats >= 0 else { return nil }
        let (b, overflow) = floats.multipliedReportingOverflow(by: MemoryLayout<Float>.size)
        return overflow ? nil : b
    }

    /// The sum of `parts`, nil when any is nil or the sum overflows.
    public static func sum(_ parts: [Int?]) -> Int? {
        var total = 0
        for part in parts {
            guard let part, part >= 0 else { return nil }
            let (t, overflow) = total.addingReportingOverflow(part)
            if overflow { return nil }
            total = t
        }
        return total
    }

    /// Bytes of float32 tensors of these shapes; nil when any element count or the sum overflows.
    public static func bytes(of shapes: some Sequence<TensorShape>) -> Int? {
        sum(shapes.map { $0.checkedElementCount.flatMap { bytes(floats: $0) } })
    }

    /// Throws `ExecutionError.memoryBoundExceeded` when `estimate` (nil: past Int.max) is above `bound`.
    public static func check(_ estimate: Int?, bound: Int, what: String) throws(ExecutionError) {
        guard let estimate, estimate <= bound else {
            throw .memoryBoundExceeded(what: what, estimateBytes: estimate, boundBytes: bound)
        }
    }

    /// The largest activation of `graph` at `batch` (the batch a compile measures at, or an
    /// import's own): any arena holds it, so an estimate that skips planning but never runs low.
    /// Shape errors are left to the graph's validation, which reports them better.
    public static func largestActivation(_ graph: Graph, batch: Int?) -> (name: String, shape: TensorShape, bytes: Int?)? {
        guard let shapes = try? graph.inferShapes(batch: batch) else { return nil }
        var largest: (name: String, shape: TensorShape, bytes: Int?)?
        for (name, shape) in shapes.sorted(by: { $0.key < $1.key }) {
            let b = shape.checkedElementCount.flatMap { bytes(floats: $0) }
            if largest == nil { largest = (name, shape, b); continue }
            switch (b, largest!.bytes) {
            case (nil, .some): largest = (name, shape, nil)
            case (let x?, let y?) where x > y: largest = (name, shape, x)
            default: break
            }
        }
        return largest
    }

    /// "393.22 GB", "250 MB", "1.3 MB": sizes in error messages, in the unit `--max-memory` takes,
    /// with enough digits that an estimate just above the bound does not print as equal to it.
    public static func describe(_ bytes: Int?) -> String {
        guard let bytes else { return "more than \(Int.max) bytes" }
        if bytes >= 1_000_000_000 {
            let centi = rounded(bytes, 10_000_000)
            return "\(centi / 100).\(twoDigits(centi % 100)) GB"
        }
        if bytes >= 100_000_000 { return "\(rounded(bytes, 1_000_000)) MB" }
        if bytes >= 100_000 {
            let tenths = rounded(bytes, 100_000)
            return "\(tenths / 10).\(tenths % 10) MB"
        }
        return "\(bytes) bytes"
    }

    /// bytes / unit to the nearest, without the overflow `(bytes + unit / 2) / unit` has near Int.max.
    private static func rounded(_ bytes: Int, _ unit: Int) -> Int {
        bytes / unit + (bytes % unit >= unit / 2 ? 1 : 0)
    }

    private static func twoDigits(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
}
