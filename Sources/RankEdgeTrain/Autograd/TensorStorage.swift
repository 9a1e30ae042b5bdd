import RankEdge
import Synchronization

/// A fixed-size float buffer with reference semantics: the trainer's hot loops work on raw
/// pointers, so there is no copy-on-write and no per-element bounds check in them.
public final class TensorStorage: @unchecked Sendable {
    public let pointer: UnsafeMutablePointer<Float>
    public let count: Int

    /// Uninitialised storage; callers must write every element before reading.
    public init(uninitialized count: Int) {
        self.count = count
        if count >= BufferPool.minimumCount, let p = BufferPool.shared.take(count) { pointer = p; return }
        // The runtime's cache-line-aligned block: AVX loads start aligned in every buffer.
        pointer = AlignedFloatBuffer(count: count).pointer
    }

    public convenience init(zeros count: Int) {
        self.init(uninitialized: count)
        pointer.initialize(repeating: 0, count: count)
    }

    public convenience init(_ values: [Float]) {
        self.init(uninitialized: values.count)
        values.withUnsafeBufferPointer { src in
            if let base = src.baseAddress { pointer.update(from: base, count: values.count) }
        }
    }

    deinit {
        if count >= BufferPool.minimumCount, BufferPool.shared.give(pointer, count: count) { return }
        UnsafeMutableRawPointer(pointer).deallocate()
    }

    public var buffer: UnsafeMutableBufferPointer<Float> { UnsafeMutableBufferPointer(start: pointer, count: count) }
    public var array: [Float] { Array(buffer) }

    public func fill(_ v: Float) { pointer.update(repeating: v, count: count) }

    public func copy() -> TensorStorage {
        let s = TensorStorage(uninitialized: count)
        s.pointer.update(from: pointer, count: count)
        return s
    }

    public subscript(i: Int) -> Float {
        get { pointer[i] }
        set { pointer[i] = newValue }
    }
}

/// A raw pointer that may cross into parallel work items; each item touches a disjoint range.
/// Built from a storage, it keeps that storage alive for as long as the pointer is captured.
struct SendablePointer<T>: @unchecked Sendable {
    let p: UnsafeMutablePointer<T>
    private let owner: AnyObject?
    init(_ p: UnsafeMutablePointer<T>) { self.p = p; owner = nil }
    init(_ storage: TensorStorage) where T == Float { p = storage.pointer; owner = storage }
}

/// Keeps freed large buffers by exact size for the next training step, which allocates the same
/// sizes again: without it every step maps, faults in and zeroes hundreds of megabytes afresh.
final class BufferPool: @unchecked Sendable {
    static let shared = BufferPool()
    /// Smaller buffers go straight to malloc, which recycles them cheaply.
    static let minimumCount = 1 << 14
    /// Upper bound on pooled memory (bytes) so the pool never holds more than a step's worth.
    static let capacityBytes = 1 << 31
    private var free: [Int: [UnsafeMutablePointer<Float>]] = [:]
    private var pooledBytes = 0
    private let lock = Mutex<Void>(())

    func take(_ count: Int) -> UnsafeMutablePointer<Float>? {
        lock.withLock { _ in
            guard let p = free[count]?.popLast() else { return nil }
            pooledBytes -= count * 4
            return p
        }
    }

    /// Returns false when the pool is full (the caller frees the buffer).
    func give(_ p: UnsafeMutablePointer<Float>, count: Int) -> Bool {
        lock.withLock { _ in
            guard pooledBytes + count * 4 <= Self.capacityBytes else { return false }
            free[count, default: []].append(p)
            pooledBytes += count * 4
            return true
        }
    }
}
