#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A fixed-size float buffer with reference semantics: the trainer's hot loops work on raw
/// pointers, so there is no copy-on-write and no per-element bounds check in them.
public final class FloatStorage: @unchecked Sendable {
    public let pointer: UnsafeMutablePointer<Float>
    public let count: Int

    /// Uninitialised storage; callers must write every element before reading.
    public init(uninitialized count: Int) {
        self.count = count
        // 64-byte alignment keeps AVX loads aligned at the start of every buffer.
        var raw: UnsafeMutableRawPointer?
        let bytes = max(count, 1) * MemoryLayout<Float>.stride
        guard posix_memalign(&raw, 64, bytes) == 0, let raw else {
            fatalError("FloatStorage: out of memory allocating \(bytes) bytes")
        }
        pointer = raw.bindMemory(to: Float.self, capacity: max(count, 1))
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

    deinit { free(pointer) }

    public var buffer: UnsafeMutableBufferPointer<Float> { UnsafeMutableBufferPointer(start: pointer, count: count) }
    public var array: [Float] { Array(buffer) }

    public func fill(_ v: Float) { pointer.update(repeating: v, count: count) }

    public func copy() -> FloatStorage {
        let s = FloatStorage(uninitialized: count)
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
    init(_ storage: FloatStorage) where T == Float { p = storage.pointer; owner = storage }
}
