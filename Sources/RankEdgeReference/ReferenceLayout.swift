import RankEdge

/// Ops that only move values: concat on the channel axis (flatten and dropout move nothing).
extension ReferenceOps {
    /// Joins the inputs on the last axis: each output row is the inputs' rows one after another.
    static func concatLoops(_ xs: [Tensor], outShape: TensorShape) -> Tensor {
        let outWidth = outShape.dims.last!
        let rows = outWidth == 0 ? 0 : outShape.elementCount / outWidth
        var out: [Float] = []
        out.reserveCapacity(outShape.elementCount)
        for row in 0..<rows {
            for x in xs {
                let width = x.shape.dims.last!
                out.append(contentsOf: x.data[(row * width)..<((row + 1) * width)])
            }
        }
        return Tensor(shape: outShape, data: out)
    }
}
