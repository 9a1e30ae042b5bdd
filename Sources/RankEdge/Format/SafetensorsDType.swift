/// The dtypes safetensors defines (as of safetensors 0.8). The reader tells a dtype it has never
/// heard of (a corrupt or foreign file) apart from a real one RankEdge does not hold.
enum SafetensorsDType {
    /// Every dtype string safetensors accepts.
    static let known: Set<String> = [
        "BOOL", "F4", "F6_E2M3", "F6_E3M2", "U8", "I8", "F8_E5M2", "F8_E4M3", "F8_E8M0",
        "F8_E4M3FNUZ", "F8_E5M2FNUZ", "I16", "U16", "F16", "BF16", "I32", "U32", "F32", "C64",
        "F64", "I64", "U64",
    ]

    /// The one dtype RankEdge graphs hold: little-endian IEEE-754 binary32.
    static let float32 = "F32"
    static let float32Size = 4
}
