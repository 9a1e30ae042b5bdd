import RankEdge

/// Runs samples through the fast runtime with chosen intermediate tensors exposed as extra graph
/// outputs, batch by batch, handing each batch's tensors to a consumer (so statistics over
/// thousands of images never hold more than one batch of activations).
struct ActivationCapture {
    var threads: Int
    var batch = 50

    func forEachBatch(_ graph: Graph, tensors: [String], samples: LabeledSamples,
                      _ body: ([String: Tensor], ArraySlice<Int>) throws -> Void) throws(CompressError) {
        var g = graph
        for t in tensors where !g.outputs.contains(t) { g.outputs.append(t) }
        do {
            let session = try InferenceSession(graph: g, options: .init(threads: threads))
            var from = 0
            while from < samples.count {
                let n = min(batch, samples.count - from)
                let (x, labels) = samples.batch(from: from, count: n)
                try body(try session.run([g.inputs[0].name: x]), labels)
                from += n
            }
        } catch let e as CompressError { throw e } catch { throw .measurement("running calibration images: \(error)") }
    }
}

/// Σ XᵀX over the rows of every batch, in double precision: rows are im2col patches [P, kh·kw·C]
/// for a conv's input, output pixels [P, S] for its output, or [N, C] for a linear layer.
struct GramAccumulator {
    let size: Int
    private(set) var gram: [Double]
    private(set) var rows = 0

    init(size: Int) { self.size = size; gram = [Double](repeating: 0, count: size * size) }

    mutating func add(rows x: [Float], count: Int) {
        guard count > 0 else { return }
        let xt = MatrixProducts.transpose(x, rows: count, cols: size)
        let g = MatrixProducts.multiply(xt, xt, m: size, k: count, n: size, transposedB: true)
        for i in 0..<gram.count { gram[i] += Double(g[i]) }
        rows += count
    }
}

extension CandidateLayer {
    /// The rows whose Gram matrix describes what this layer reads: im2col patches of the input,
    /// ordered (ky, kx, ci) like a row of the OHWI weight, or the input itself for a linear layer.
    func inputRows(_ x: Tensor) -> (rows: [Float], count: Int) {
        guard let attrs = geometry.conv else { return (x.data, x.shape[0]) }
        let g = ConvGeometry(input: x.shape.dims, weight: [weight.outputs, weight.kernelH, weight.kernelW, weight.inputs], attributes: attrs)
        var patches = [Float](repeating: 0, count: g.pixels * g.depth)
        x.data.withUnsafeBufferPointer { src in
            patches.withUnsafeMutableBufferPointer { dst in
                Im2col.fill(g, x: src.baseAddress!, firstRow: 0, rows: g.pixels, group: 0, into: dst.baseAddress!)
            }
        }
        return (patches, g.pixels)
    }

    /// Output pixels as rows [P, S] (NHWC already is).
    func outputRows(_ y: Tensor) -> (rows: [Float], count: Int) { (y.data, y.count / weight.outputs) }
}
