/// Output rows of a batch, as the direct conv kernels take them (depthwise, grouped): one kernel call
/// computes rows of one image, and a fused activation function goes over each block of rows right
/// after it is computed, while it is in L1.
enum RowBlocks {
    /// Rows per kernel call: all of an image's without a function to apply, else about 16 KB of
    /// output (`rowFloats` floats per row).
    static func rowsPerBlock(function: UnaryFunction?, rowsPerImage: Int, rowFloats: Int) -> Int {
        function == nil ? rowsPerImage : max(1, 4096 / max(1, rowFloats))
    }

    /// Calls `body(image, oy0, oy1)` for the rows `rows` of the batch (row r is row r mod
    /// `rowsPerImage` of image r / `rowsPerImage`), cut at image boundaries and into blocks of at
    /// most `rowsPerBlock`.
    static func forEach(_ rows: Range<Int>, rowsPerImage: Int, rowsPerBlock: Int, _ body: (_ image: Int, _ oy0: Int, _ oy1: Int) -> Void) {
        var row = rows.lowerBound
        while row < rows.upperBound {
            let image = row / rowsPerImage, oy0 = row % rowsPerImage
            let oy1 = min(rowsPerImage, oy0 + (rows.upperBound - row), oy0 + rowsPerBlock)
            body(image, oy0, oy1)
            row += oy1 - oy0
        }
    }
}
