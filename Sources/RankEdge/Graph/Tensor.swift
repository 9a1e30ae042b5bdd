/// A dense float32 tensor in row-major order.
public struct Tensor: Sendable, Equatable {
    public var shape: TensorShape
    public var data: [Float]

    public init(shape: TensorShape, data: [Float]) {
        precondition(shape.elementCount == data.count, "tensor data does not match shape \(shape)")
        self.shape = shape
        self.data = data
    }

    public init(zeros shape: TensorShape) {
        self.shape = shape
        self.data = [Float](repeating: 0, count: shape.elementCount)
    }

    public init(shape: [Int], data: [Float]) { self.init(shape: TensorShape(shape), data: data) }

    public var count: Int { data.count }

    /// The tensor with its shape and no values. A compiled model keeps its graph this way once every
    /// step holds its own prepared copy of the weights: shape inference and reports need only shapes.
    public var withoutValues: Tensor { Tensor(shapeOnly: shape) }

    /// A tensor of this shape whose values are held elsewhere (see `withoutValues`).
    public init(shapeOnly shape: TensorShape) {
        self.shape = shape
        self.data = []
        self.valuesReleased = true
    }

    /// True for a tensor made by `withoutValues`: its empty `data` is not a malformed tensor.
    /// (Nothing read from a file is ever released.)
    public private(set) var valuesReleased = false

    /// False for a tensor whose values were dropped (`withoutValues`).
    public var holdsValues: Bool { !valuesReleased }

    /// Largest absolute element (0 for an empty tensor); the scale tolerances are measured against.
    public var maxAbs: Float { data.reduce(0) { max($0, abs($1)) } }

    /// Largest absolute elementwise difference; the shapes must match.
    public func maxAbsDifference(_ other: Tensor) -> Float {
        precondition(shape == other.shape, "shape mismatch \(shape) vs \(other.shape)")
        var m: Float = 0
        for i in 0..<data.count { m = max(m, abs(data[i] - other.data[i])) }
        return m
    }
}
