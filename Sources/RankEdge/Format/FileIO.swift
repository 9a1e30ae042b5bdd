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

    static func readAll(path: String) throws(RKGFormatError) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            let code = errno
            if code == ENOENT { throw .fileNotFound(path: path) }
            throw .cannotRead(path: path, reason: errnoText(code))
        }
        defer { close(fd) }
        var info = stat()
        if fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR {
            throw .cannotRead(path: path, reason: "is a directory")
        }
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
        var written = 0
        while written < bytes.count {
            let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + written, $0.count - written) }
            if n < 0 {
                let code = errno
                if code == EINTR { continue }
                throw fail(errnoText(code))
            }
            written += n
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
