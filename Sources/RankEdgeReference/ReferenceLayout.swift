import RankEdge

/// Ops that only move values: concat, shuffle and slice on the channel axis (flatten and dropout move
/// nothing).
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

    /// Output channel j·g + i is input channel i·(C/g) + j: the [g, C/g] channel grid transposed,
    /// as `torch.nn.functional.channel_shuffle` does it.
    static func channelShuffleLoops(_ x: Tensor, groups g: Int) -> Tensor {
        let c = x.shape.dims.last!
        let perGroup = c / g
        var out = [Float](repeating: 0, count: x.count)
        for row in 0..<(x.count / max(c, 1)) {
            for i in 0..<g {
                for j in 0..<perGroup { out[row * c + j * g + i] = x.data[row * c + i * perGroup + j] }
            }
        }
        return Tensor(shape: x.shape, data: out)
    }

    /// Channels start..<start+count of every row.
    static func channelSliceLoops(_ x: Tensor, start: Int, outShape: TensorShape) -> Tensor {
        let c = x.shape.dims.last!, count = outShape.dims.last!
        var out: [Float] = []
        out.reserveCapacity(outShape.elementCount)
        for row in 0..<(x.count / max(c, 1)) { out.append(contentsOf: x.data[(row * c + start)..<(row * c + start + count)]) }
        return Tensor(shape: outShape, data: out)
    }
}
