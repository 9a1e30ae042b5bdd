/// The dimensions of a tensor. Activations are NHWC; weights use the layouts documented on `Op`.
public struct TensorShape: Hashable, Sendable, CustomStringConvertible {
    public var dims: [Int]

    public init(_ dims: [Int]) { self.dims = dims }

    public var rank: Int { dims.count }

    /// Element count, or nil when a dimension is negative or the product overflows `Int`.
    public var checkedElementCount: Int? {
        var total = 1
        for d in dims {
            guard d >= 0 else { return nil }
            let (p, overflow) = total.multipliedReportingOverflow(by: d)
            if overflow { return nil }
            total = p
        }
        return total
    }

    /// Element count of a shape already known to be valid.
    public var elementCount: Int { dims.reduce(1, *) }

    public subscript(i: Int) -> Int {
        get { dims[i] }
        set { dims[i] = newValue }
    }

    public var description: String { "[" + dims.map(String.init).joined(separator: ", ") + "]" }
}
