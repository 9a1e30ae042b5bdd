import CRankEdgeKernels
#if hasFeature(Embedded)
import CRankEdgeSystem  // no Glibc overlay in Embedded Swift: libc from its headers (embedded/)
#elseif canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A family of GEMM micro-kernels. Which ones run is decided at run time (cpuid on x86-64; NEON is
/// baseline on AArch64), so one binary serves every CPU of an architecture.
public enum GEMMISA: String, Sendable, CaseIterable {
    /// Portable C, 4 × 4 tile: the reference the SIMD kernels are checked against.
    case scalar
    /// x86-64 AVX2 + FMA3, 6 × 16 tile.
    case avx2
    /// ARMv8 AdvSIMD, 8 × 12 tile.
    case neon
    /// x86-64 AVX-512 F + VL, 12 × 16 tile: B panels as AVX2's (NR 16), twice the rows.
    case avx512

    /// The environment variable that forces an ISA for calls that do not name one.
    public static let environmentVariable = "RANKEDGE_ISA"

    var cValue: re_isa {
        switch self {
        case .scalar: return RE_ISA_SCALAR
        case .avx2: return RE_ISA_AVX2
        case .neon: return RE_ISA_NEON
        case .avx512: return RE_ISA_AVX512
        }
    }

    /// Whether this build carries the kernels and this CPU (and OS) can run them.
    public var isAvailable: Bool { re_gemm_kernels_get(cValue) != nil }

    /// Every ISA this machine can run, fastest first.
    public static func available() -> [GEMMISA] {
        [.avx512, .avx2, .neon, .scalar].filter { $0.isAvailable }
    }

    /// The fastest ISA this machine can run, ignoring `RANKEDGE_ISA`.
    public static var native: GEMMISA { available().first ?? .scalar }

    /// Parses an ISA name and checks that this machine can run it.
    public init(validating name: String) throws(GEMMError) {
        guard let isa = GEMMISA(rawValue: name.asciiLowercased) else { throw .unknownISA(name) }
        guard isa.isAvailable else { throw .isaUnavailable(isa) }
        self = isa
    }

    /// The ISA `RANKEDGE_ISA` forces, or `native` when it is unset or empty; an unknown or
    /// unsupported name is an error rather than a silent fallback.
    public static func fromEnvironment() throws(GEMMError) -> GEMMISA {
        try selection(named: getenv(environmentVariable).map { String(cString: $0) })
    }

    /// The ISA a `RANKEDGE_ISA` value selects (nil or empty: native).
    static func selection(named value: String?) throws(GEMMError) -> GEMMISA {
        guard let value, !value.isEmpty else { return native }
        return try GEMMISA(validating: value)
    }

    /// `fromEnvironment()`, evaluated once: the default of every GEMM call without an explicit ISA.
    static let defaultSelection: Result<GEMMISA, GEMMError> = Result { () throws(GEMMError) in try fromEnvironment() }

    /// The ISA a call uses: the explicit one (checked), else the environment's choice.
    static func resolve(_ explicit: GEMMISA?) throws(GEMMError) -> GEMMISA {
        if let explicit {
            guard explicit.isAvailable else { throw .isaUnavailable(explicit) }
            return explicit
        }
        return try defaultSelection.get()
    }
}

/// The C kernel table for one ISA, with the function pointers unwrapped once.
struct GEMMKernels {
    let isa: GEMMISA
    let mr: Int
    let nr: Int
    let packed: re_ukernel_packed_fn
    let rowA: re_ukernel_rowa_fn
    let packA: re_pack_a_fn
    let packB: re_pack_b_fn
    let packRows: re_pack_rows_fn
    /// The tallest MR of any kernel family (AVX-512's 12): sizes scratch before the ISA is known.
    static let maxMR = 12
    /// The table itself, for C loops that call the kernels (re_gemm_panel).
    let table: UnsafePointer<re_gemm_kernels>

    init(_ isa: GEMMISA) throws(GEMMError) {
        guard let table = re_gemm_kernels_get(isa.cValue),
              let packed = table.pointee.ukernel_packed, let rowA = table.pointee.ukernel_rowa,
              let packA = table.pointee.pack_a, let packB = table.pointee.pack_b, let packRows = table.pointee.pack_rows
        else { throw .isaUnavailable(isa) }
        self.packRows = packRows
        self.table = table
        self.packA = packA
        self.packB = packB
        self.isa = isa
        self.mr = table.pointee.mr
        self.nr = table.pointee.nr
        self.packed = packed
        self.rowA = rowA
    }
}
