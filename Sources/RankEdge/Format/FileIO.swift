#if hasFeature(Embedded)
import CRankEdgeSystem  // no Glibc overlay in Embedded Swift: libc from its headers (embedded/)
#elseif canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Whole-file reads and atomic writes over libc, so the runtime needs no Foundation for IO.
enum FileIO {
    static func errnoText(_ code: Int32) -> String { String(cString: strerror(code)) }

    /// A descriptor open for reading and its status; a directory is refused.
    private static func openForReading(_ path: String) throws(RKGFormatError) -> (Int32, stat) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            let code = errno
            if code == ENOENT { throw .fileNotFound(path: path) }
            throw .cannotRead(path: path, reason: errnoText(code))
        }
        var info = stat()
        if fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR {
            close(fd)
            throw .cannotRead(path: path, reason: "is a directory")
        }
        return (fd, info)
    }

    /// Reads up to `count` bytes into `buffer`, fewer only at the end of the file.
    private static func readFully(_ fd: Int32, _ buffer: UnsafeMutableRawPointer, _ count: Int, path: String) throws(RKGFormatError) -> Int {
        var done = 0
        while done < count {
            let n = read(fd, buffer + done, count - done)
            if n == 0 { break }
            if n < 0 {
                let code = errno
                if code == EINTR { continue }
                throw .cannotRead(path: path, reason: errnoText(code))
            }
            done += n
        }
        return done
    }

    /// Up to `count` bytes, fewer only at the end of the file.
    private static func readBytes(_ fd: Int32, _ count: Int, path: String) throws(RKGFormatError) -> [UInt8] {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(count, 1), alignment: 1)
        defer { buffer.deallocate() }
        let n = try readFully(fd, buffer.baseAddress!, count, path: path)
        return Array(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
    }

    /// A safetensors file read piece by piece: the header, then each tensor's bytes converted
    /// straight into its values, so the file's bytes are never all in memory. Anything but a
    /// regular file (a pipe, say) is read whole first.
    static func readContainer(path: String) throws(RKGFormatError) -> SafetensorsContainer {
        let (fd, info) = try openForReading(path)
        defer { close(fd) }
        guard (info.st_mode & S_IFMT) == S_IFREG else { return try SafetensorsContainer.decode(readAll(path: path)) }
        let size = Int(info.st_size)
        let changed = RKGFormatError.cannotRead(path: path, reason: "the file changed while it was read")
        let headerEnd = try SafetensorsContainer.headerEnd(prefix: readBytes(fd, 8, path: path), fileSize: size)
        let header = try readBytes(fd, headerEnd - 8, path: path)
        guard header.count == headerEnd - 8 else { throw changed }
        let (metadata, entries) = try SafetensorsContainer.parseHeader(header, bufferLength: size - headerEnd)

        // Coverage is checked: in offset order the entries tile the buffer from its start.
        let staging = UnsafeMutableRawBufferPointer.allocate(byteCount: SafetensorsContainer.chunkBytes, alignment: 16)
        defer { staging.deallocate() }
        var tensors: [String: Tensor] = [:]
        for e in entries.sorted(by: { $0.begin < $1.begin }) {
            let count = (e.end - e.begin) / SafetensorsDType.float32Size
            var failure: RKGFormatError?
            let values = [Float](unsafeUninitializedCapacity: count) { out, initialized in
                var first = 0
                while first < count {
                    let n = min(count - first, SafetensorsContainer.chunkBytes / 4)
                    do throws(RKGFormatError) {
                        guard try readFully(fd, staging.baseAddress!, 4 * n, path: path) == 4 * n else { throw changed }
                    } catch { failure = error; break }
                    SafetensorsContainer.convert(UnsafeRawBufferPointer(staging), into: out.baseAddress! + first, count: n)
                    first += n
                }
                // Zeros past a failure: the array must be whole even though it is thrown away.
                for i in first..<count { out[i] = 0 }
                initialized = count
            }
            if let failure { throw failure }
            tensors[e.name] = Tensor(shape: e.shape, data: values)
        }
        var extra: UInt8 = 0
        guard try readFully(fd, &extra, 1, path: path) == 0 else { throw changed }
        return SafetensorsContainer(metadata: metadata, tensors: tensors)
    }

    static func readAll(path: String) throws(RKGFormatError) -> [UInt8] {
        let (fd, info) = try openForReading(path)
        defer { close(fd) }
        // st_size is a hint only: read to end of file whatever it says.
        var out: [UInt8] = []
        out.reserveCapacity(max(Int(info.st_size), 0) + 1)
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n == 0 { break }
            if n < 0 {
                let code = errno
                if code == EINTR { continue }
                throw .cannotRead(path: path, reason: errnoText(code))
            }
            out.append(contentsOf: chunk[0..<n])
        }
        return out
    }

    /// Writes to a fresh temporary file in the destination's directory, flushes it, then renames
    /// it over `path`: readers see the old file or the whole new one, never a part. On any failure
    /// the temporary file is removed and `path` is untouched.
    static func writeAtomically(_ bytes: [UInt8], to path: String) throws(RKGFormatError) {
        try writeAtomically(to: path) { (emit: (UnsafeRawBufferPointer) throws(RKGFormatError) -> Void) throws(RKGFormatError) in
            var failure: RKGFormatError?
            bytes.withUnsafeBytes { b in
                do throws(RKGFormatError) { try emit(b) } catch { failure = error }
            }
            if let failure { throw failure }
        }
    }

    /// The same, for contents `produce` hands over in pieces through its `emit` argument; an error
    /// thrown by `produce` removes the temporary file like a failed write.
    static func writeAtomically(to path: String,
                                _ produce: ((UnsafeRawBufferPointer) throws(RKGFormatError) -> Void) throws(RKGFormatError) -> Void) throws(RKGFormatError) {
        let (directory, base) = split(path)
        guard !base.isEmpty else { throw .cannotWrite(path: path, reason: "not a file name") }
        var generator = SystemRandomNumberGenerator()
        var fd: Int32 = -1
        var temp = ""
        var slot: Int?
        var openError: Int32 = 0
        for _ in 0..<16 {
            temp = directory + "." + base + ".tmp-" + String(generator.next() as UInt64, radix: 36)
            // Recorded before it exists, so a signal at any instant after finds it (a name that
            // collides, EEXIST, is another writer's random name: dropped before the next try).
            slot = PendingTemporaryFiles.add(temp)
            fd = open(temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
            if fd >= 0 { break }
            openError = errno
            PendingTemporaryFiles.remove(slot)
            slot = nil
            if openError != EEXIST { break }
        }
        if fd < 0 { throw .cannotWrite(path: path, reason: errnoText(openError)) }
        // Freed last, after the rename (or the unlink on failure): a signal up to then unlinks a
        // name that is either still this write's temporary file or already gone.
        defer { PendingTemporaryFiles.remove(slot) }

        func fail(_ reason: String) -> RKGFormatError {
            close(fd)
            unlink(temp)
            return .cannotWrite(path: path, reason: reason)
        }
        func emit(_ bytes: UnsafeRawBufferPointer) throws(RKGFormatError) {
            var written = 0
            while written < bytes.count {
                let n = write(fd, bytes.baseAddress! + written, bytes.count - written)
                if n < 0 {
                    let code = errno
                    if code == EINTR { continue }
                    throw .cannotWrite(path: path, reason: errnoText(code))
                }
                written += n
            }
        }
        do { try produce(emit) } catch {
            close(fd)
            unlink(temp)
            switch error {
            case .cannotWrite: throw error
            default: throw .inFile(path: path, error: error)
            }
        }
        if writePauseMicroseconds > 0 { usleep(writePauseMicroseconds) }
        if fsync(fd) != 0 { throw fail(errnoText(errno)) }
        if close(fd) != 0 {
            let code = errno
            unlink(temp)
            throw .cannotWrite(path: path, reason: errnoText(code))
        }
        if rename(temp, path) != 0 {
            let code = errno
            unlink(temp)
            throw .cannotWrite(path: path, reason: errnoText(code))
        }
        // Make the rename itself durable; a failure here leaves a complete file, so it is ignored.
        let dirFD = open(directory.isEmpty ? "." : directory, O_RDONLY | O_CLOEXEC)
        if dirFD >= 0 { _ = fsync(dirFD); close(dirFD) }
    }

    /// RANKEDGE_WRITE_PAUSE_MS: a pause between writing the temporary file and renaming it, so a
    /// test can send a signal inside that window every time (tools/check_interrupted_writes.sh).
    static let writePauseMicroseconds: UInt32 = {
        guard let text = getenv("RANKEDGE_WRITE_PAUSE_MS"), let ms = UInt32(String(cString: text)), ms <= 60_000 else { return 0 }
        return ms * 1000
    }()

    /// ("dir/", "name") for "dir/name"; ("", "name") for a bare name.
    static func split(_ path: String) -> (directory: String, base: String) {
        // On the bytes: "/" is ASCII, so both halves stay valid UTF-8.
        guard let slash = path.utf8.lastIndex(of: UInt8(ascii: "/")) else { return ("", path) }
        return (String(decoding: path.utf8[...slash], as: UTF8.self), String(decoding: path.utf8[path.utf8.index(after: slash)...], as: UTF8.self))
    }
}

/// The whole file at `path`; errors name the file (RKGFormatError.fileNotFound / cannotRead).
public func readFileBytes(_ path: String) throws(RKGFormatError) -> [UInt8] { try FileIO.readAll(path: path) }

/// Writes `bytes` to `path` atomically (temporary file in the same directory, fsync, rename), so a
/// failure never leaves a partial file: for raw outputs, checkpoints and other artefacts.
public func writeFileAtomically(_ bytes: [UInt8], to path: String) throws(RKGFormatError) { try FileIO.writeAtomically(bytes, to: path) }
