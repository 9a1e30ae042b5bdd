import CRankEdgeKernels
/// The first phase of the steps whose kernels read zero-padded planes instead of NHWC rows (the
/// separable rank conv, the narrow direct conv, the narrow chain): every image's planes written
/// once, in units of parts shared between the slots, before any tile reads them. A part is an
/// input channel for a copy (16 to a unit: one cache line of an NHWC pixel), a plane row for the
/// chain's projection (a few units per slot: 16 rows to a unit left one slot 16 of a 16×16 map's 18
/// rows and the other 2).
final class PlanarInputCopy: ParallelWork {
    /// Writes parts [c0, c1) of one image's planes from its NHWC input (a C kernel's copy).
    typealias Copy = (_ image: UnsafePointer<Float>, _ planes: UnsafeMutablePointer<Float>, _ c0: Int, _ c1: Int) -> Void

    private let partsPerUnit: Int
    let x: UnsafePointer<Float>
    let planar: UnsafeMutablePointer<Float>
    let images: Int, parts: Int, inImage: Int, planesPerImage: Int
    private let copy: Copy
    private let units = SlotUnits()
    private var unitsPerImage: Int { (parts + partsPerUnit - 1) / partsPerUnit }

    /// `planarFloats`: the planes of all `input[0]` images; `parts`: what `copy` splits an image
    /// into (default: its channels), `partsPerUnit` of them to a unit.
    init(x: UnsafePointer<Float>, input: TensorShape, planar: UnsafeMutablePointer<Float>, planarFloats: Int, parts: Int? = nil,
         partsPerUnit: Int = 16, copy: @escaping Copy) {
        self.x = x; self.planar = planar; self.copy = copy
        self.partsPerUnit = max(1, partsPerUnit)
        images = input[0]; self.parts = parts ?? input[3]
        inImage = input[1] * input[2] * input[3]
        planesPerImage = planarFloats / max(images, 1)
    }

    /// Image b's planes, once `run` has returned.
    func planes(_ b: Int) -> UnsafePointer<Float> { UnsafePointer(planar + b * planesPerImage) }

    /// Copies every image, on up to `slots` slots (one when the step runs on one).
    func run(_ context: StepContext, slots: Int) throws(ExecutionError) {
        try units.run(self, slots: slots > 1 ? min(slots, images * unitsPerImage) : 1, context: context, node: "planar input")
    }

    func run(task _: Int) {
        while let unit = units.claim(below: images * unitsPerImage) {
            let b = unit / unitsPerImage, c0 = (unit % unitsPerImage) * partsPerUnit
            copy(x + b * inImage, planar + b * planesPerImage, c0, min(parts, c0 + partsPerUnit))
        }
    }
}

/// Where a planar-input step writes: its output and residual, image by image, and the ISA its
/// kernel runs with.
struct PlanarStepOutput {
    let y: UnsafeMutablePointer<Float>
    let residual: UnsafePointer<Float>?
    /// Floats of one output image, and its rows.
    let image: Int, rows: Int
    let isa: Int32

    init(output: TensorShape, y: UnsafeMutablePointer<Float>, residual: UnsafePointer<Float>?, isa: GEMMISA) {
        self.y = y; self.residual = residual
        image = output[1] * output[2] * output[3]
        rows = output[1]
        self.isa = Int32(isa.cValue.rawValue)
    }

    /// Image b's output and residual.
    func at(_ b: Int) -> (y: UnsafeMutablePointer<Float>, residual: UnsafePointer<Float>?) {
        (y + b * image, residual.map { $0 + b * image })
    }
}

/// How the row-banded planar steps (the narrow direct conv, the narrow chain) share their output:
/// bands of output rows, a few per thread so a thread slowed by another process holds up less, on
/// one thread when the layer is too small to be worth sharing (see minimumSharedMACs).
struct RowBands: Equatable {
    /// Output rows per band, bands in all (every image), and the slots that take them.
    var rows: Int
    var units: Int
    var slots: Int
    let rowsPerImage: Int

    init(images n: Int, rows oh: Int, macs: Int, threads: Int) {
        let threads = macs < minimumSharedMACs ? 1 : threads
        rows = max(1, (n * oh) / max(1, threads * 4))
        rowsPerImage = oh
        units = n * ((oh + rows - 1) / rows)
        slots = min(threads, units)
    }

    /// Band `unit`: its image and output rows.
    func band(_ unit: Int) -> (image: Int, rows: Range<Int>) {
        let perImage = (rowsPerImage + rows - 1) / rows
        let oy0 = (unit % perImage) * rows
        return (unit / perImage, oy0..<min(rowsPerImage, oy0 + rows))
    }
}
