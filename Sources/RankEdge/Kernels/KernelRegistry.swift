/// Every kernel family, by the kind it is stored under in compiled files. Adding a kernel family
/// adds its folder under Kernels/ and one line here (docs/ARCHITECTURE.md).
enum KernelRegistry {
    static let families: [any StepKernel.Type] = [
        GEMMConvWeights.self,
        TuckerChainWeights.self,
        DepthwiseWeights.self,
        NarrowConvWeights.self,
        NarrowChainWeights.self,
        SeparableRankWeights.self,
        ConvTransposeKernel.self,
        ChannelAffineKernel.self,
        AddKernel.self,
        MultiplyKernel.self,
        LayerNormKernel.self,
        ActivationKernel.self,
        UnaryKernel.self,
        SoftmaxKernel.self,
        PoolKernel.self,
        GlobalAvgPoolKernel.self,
        ConcatKernel.self,
        ChannelGatherKernel.self,
        ChannelMeanKernel.self,
        PadKernel.self,
        ResizeKernel.self,
        AliasKernel.self,
    ]

    static let byFileKind: [String: any StepKernel.Type] = {
        var table: [String: any StepKernel.Type] = [:]
        for family in families {
            for kind in family.fileKinds {
                precondition(table[kind] == nil, "two kernel families are stored as '\(kind)'")
                table[kind] = family
            }
        }
        return table
    }()

    /// The kernel of the one family that takes this group.
    static func lower(_ request: LoweringRequest) throws(ExecutionError) -> (any StepKernel)? {
        for family in families {
            if let kernel = try lowered(family, request) { return kernel }
        }
        return nil
    }

    private static func lowered<K: StepKernel>(_ family: K.Type, _ request: LoweringRequest) throws(ExecutionError) -> (any StepKernel)? {
        try K.lower(request)
    }

    /// The kernel stored as `kind`, read from its fields.
    static func decode(_ fields: JSONObject, kind: String, _ decoder: KernelDecoder) throws -> any StepKernel {
        guard let family = byFileKind[kind] else { throw decoder.fail("unknown kind '\(kind)'") }
        return try open(family, fields, kind, decoder)
    }

    private static func open<K: StepKernel>(_ family: K.Type, _ fields: JSONObject, _ kind: String, _ decoder: KernelDecoder) throws -> any StepKernel {
        try K.decode(fields, kind: kind, decoder)
    }
}
