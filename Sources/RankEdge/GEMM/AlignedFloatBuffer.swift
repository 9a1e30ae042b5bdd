/// A heap block of floats aligned to a cache line, so packed panels start on line boundaries and
/// vector loads never split lines. Owned by whoever allocates it; freed explicitly.
struct AlignedFloatBuffer {
    static let alignment = 64
    let pointer: UnsafeMutablePointer<Float>
    let count: Int

    init(count: Int) {
        self.count = count
        let raw = UnsafeMutableRawPointer.allocate(byteCount: max(count, 1) * MemoryLayout<Float>.stride,
                                                   alignment: Self.alignment)
        pointer = raw.bindMemory(to: Float.self, capacity: max(count, 1))
    }

    func deallocate() { UnsafeMutableRawPointer(pointer).deallocate() }
}
