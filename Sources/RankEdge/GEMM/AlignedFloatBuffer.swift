import Synchronization

/// A heap block of floats aligned to a cache line, so packed panels start on line boundaries and
/// vector loads never split lines. A plain value: whoever takes it frees it (or returns it to
/// `ScratchBuffers`). The trainer's tensors are allocated through it too.
public struct AlignedFloatBuffer: @unchecked Sendable {
    public static let alignment = 64
    public let pointer: UnsafeMutablePointer<Float>
    public let count: Int

    public init(count: Int) {
        self.count = max(count, 1)
        let raw = UnsafeMutableRawPointer.allocate(byteCount: self.count * MemoryLayout<Float>.stride,
                                                   alignment: Self.alignment)
        pointer = raw.bindMemory(to: Float.self, capacity: self.count)
    }

    public func deallocate() { UnsafeMutableRawPointer(pointer).deallocate() }
}

/// Packing buffers kept between GEMM calls. Fresh large allocations come from mmap and page-fault
/// on first touch (the kernel zeroes every page), which costs several percent of a large GEMM and
/// far more of a small one; reusing buffers avoids it.
final class ScratchBuffers: Sendable {
    static let shared = ScratchBuffers()

    /// At most this many buffers and bytes are kept; beyond that the smallest are freed.
    let maxBuffers = 8
    let maxBytes = 96 << 20

    private let free = Mutex<[AlignedFloatBuffer]>([])

    /// The smallest kept buffer holding at least `count` floats, or a new one.
    func take(count: Int) -> AlignedFloatBuffer {
        let reused: AlignedFloatBuffer? = free.withLock { buffers in
            var best: Int?
            for (i, b) in buffers.enumerated() where b.count >= count && (best == nil || b.count < buffers[best!].count) { best = i }
            return best.map { buffers.remove(at: $0) }
        }
        return reused ?? AlignedFloatBuffer(count: count)
    }

    func give(_ buffer: AlignedFloatBuffer) {
        let evicted: [AlignedFloatBuffer] = free.withLock { buffers in
            buffers.append(buffer)
            buffers.sort { $0.count > $1.count }
            var evicted: [AlignedFloatBuffer] = []
            var bytes = buffers.reduce(0) { $0 + $1.count * 4 }
            while buffers.count > maxBuffers || (bytes > maxBytes && buffers.count > 1) {
                let smallest = buffers.removeLast()
                bytes -= smallest.count * 4
                evicted.append(smallest)
            }
            return evicted
        }
        for b in evicted { b.deallocate() }
    }
}
