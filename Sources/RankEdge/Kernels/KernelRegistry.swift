/// Every kernel family, by the kind it is stored under in compiled files. Adding a kernel family
/// adds its folder under Kernels/ and one line here (docs/ARCHITECTURE.md).
enum KernelRegistry {
    static let families: [KernelFamily] = [
        KernelFamily(GEMMConvWeights.self),
        KernelFamily(TuckerChainWeights.self),
        KernelFamily(DepthwiseWeights.self),
        KernelFamily(GroupedConvWeights.self),
        KernelFamily(NarrowConvWeights.self),
        KernelFamily(NarrowChainWeights.self),
        KernelFamily(SeparableRankWeights.self),
        KernelFamily(ConvTransposeKernel.self),
        KernelFamily(ChannelAffineKernel.self),
        KernelFamily(AddKernel.self),
        KernelFamily(MultiplyKernel.self),
        KernelFamily(LayerNormKernel.self),
        KernelFamily(ActivationKernel.self),
        KernelFamily(UnaryKernel.self),
        KernelFamily(SoftmaxKernel.self),
        KernelFamily(PoolKernel.self),
        KernelFamily(GlobalAvgPoolKernel.self),
        KernelFamily(ConcatKernel.self),
        KernelFamily(ChannelGatherKernel.self),
        KernelFamily(ChannelMeanKernel.self),
        KernelFamily(PadKernel.self),
        KernelFamily(ResizeKernel.self),
        KernelFamily(AliasKernel.self),
    ]

    static let byFileKind: [String: KernelFamily] = {
        var table: [String: KernelFamily] = [:]
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
            if let kernel = try family.lower(request) { return kernel }
        }
        return nil
    }

    /// The kernel stored as `kind`, read from its fields.
    static func decode(_ fields: JSONObject, kind: String, _ decoder: KernelDecoder) throws(CompiledModelError) -> any StepKernel {
        guard let family = byFileKind[kind] else { throw decoder.fail("unknown kind '\(kind)'") }
        return try family.decode(fields, kind, decoder)
    }
}

/// One family's static requirements, captured once as closures: Embedded Swift cannot call static
/// methods through an existential metatype (`any StepKernel.Type`), so the registry holds these.
struct KernelFamily: Sendable {
    let fileKinds: [String]
    let lower: @Sendable (LoweringRequest) throws(ExecutionError) -> (any StepKernel)?
    let decode: @Sendable (JSONObject, String, KernelDecoder) throws(CompiledModelError) -> any StepKernel

    init<K: StepKernel>(_ family: K.Type) {
        fileKinds = K.fileKinds
        lower = { request throws(ExecutionError) in try K.lower(request) }
        decode = { fields, kind, decoder throws(CompiledModelError) in try K.decode(fields, kind: kind, decoder) }
    }
}
