/// The importer's one table of ONNX op types: what each converts with. The supported-op set is its
/// keys, so an op is listed as supported exactly when there is code that imports it.
extension ImportContext {
    /// Untyped: the compiler (6.3) crashes on a table of typed-throws closures; each throws only
    /// ONNXImportError.
    typealias NodeImporter = @Sendable (inout ImportContext, Int) throws -> Void

    static let importers: [String: NodeImporter] = {
        var table: [String: NodeImporter] = [
            "Conv": { c, i in try c.importConv(i) },
            "MaxPool": { c, i in try c.importPool(i, average: false) },
            "AveragePool": { c, i in try c.importPool(i, average: true) },
            "GlobalAveragePool": { c, i in try c.importGlobalAveragePool(i) },
            "Gemm": { c, i in try c.importGemm(i) },
            "MatMul": { c, i in try c.importMatMul(i) },
            "BatchNormalization": { c, i in try c.importBatchNorm(i) },
            "Relu": { c, i in try c.importUnary(i, .relu) },
            "Clip": { c, i in try c.importClip(i) },
            "Add": { c, i in try c.importArithmetic(i, .add) },
            "Sub": { c, i in try c.importArithmetic(i, .sub) },
            "Div": { c, i in try c.importArithmetic(i, .div) },
            "Flatten": { c, i in try c.importFlatten(i) },
            "Reshape": { c, i in try c.importReshape(i) },
            "Softmax": { c, i in try c.importSoftmax(i) },
            "Concat": { c, i in try c.importConcat(i) },
            "Identity": { c, i in try c.importIdentity(i) },
            "Dropout": { c, i in try c.importDropout(i) },
            "Constant": { c, i in try c.importConstantNode(i) },
            "ReduceMean": { c, i in try c.importReduceMean(i) },
            "Sigmoid": { c, i in try c.importSigmoid(i) },
            "Tanh": { c, i in try c.importUnary(i, .unary(.tanh)) },
            "HardSigmoid": { c, i in try c.importHardSigmoid(i) },
            "HardSwish": { c, i in try c.importUnary(i, .unary(.hardSwish)) },
            "Erf": { c, i in try c.importUnary(i, .unary(.erf)) },
            "Gelu": { c, i in try c.importGeluOp(i) },
            "LayerNormalization": { c, i in try c.importLayerNorm(i) },
            "Mul": { c, i in try c.importArithmetic(i, .mul) },
            "Split": { c, i in try c.importSplit(i) },
            "Slice": { c, i in try c.importSlice(i) },
            "Transpose": { c, i in try c.importTranspose(i) },
            "ConvTranspose": { c, i in try c.importConvTranspose(i) },
            "Pad": { c, i in try c.importPad(i) },
            "Resize": { c, i in try c.importResize(i) },
            "Upsample": { c, i in try c.importResize(i) },
        ]
        // Shape computations: evaluated at import (ImportConstantFolding); some only fold.
        for op in foldOnlyOps.union(["Shape", "Cast", "CastLike", "Gather", "Unsqueeze"]) {
            table[op] = { c, i in try c.importFoldable(i) }
        }
        return table
    }()

    /// Converts ONNX node `i` (op type already checked to be supported).
    mutating func importNode(_ i: Int) throws(ONNXImportError) {
        guard let importer = Self.importers[onnxNodes[i].opType] else {
            throw ONNXImportError.unsupportedOps([UnsupportedONNXOp(opType: onnxNodes[i].opType, nodes: [nodeNames[i]])])
        }
        do { try importer(&self, i) } catch let error as ONNXImportError { throw error } catch {
            throw .invalidModel(reason: "\(error)")
        }
    }
}
