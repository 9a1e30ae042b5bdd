import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Whole-file reads and atomic writes for the CLI's own files (.onnx, raw float32 tensors).
enum FileBytes {
    static func read(_ path: String) throws -> [UInt8] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw CLIError("\(path): no such file")
        }
        guard !isDirectory.boolValue else { throw CLIError("\(path): is a directory") }
        guard let data = FileManager.default.contents(atPath: path) else { throw CLIError("\(path): cannot be read") }
        return [UInt8](data)
    }

    /// Writes a temporary file in the destination's directory, flushes it and renames it into place:
    /// a reader sees the old file or the whole new one, and a failure leaves neither a partial nor a
    /// temporary file.
    static func writeAtomically(_ bytes: [UInt8], to path: String) throws {
        func failure(_ code: Int32) -> CLIError { CLIError("\(path): cannot write (\(String(cString: strerror(code))))") }
        let url = URL(fileURLWithPath: path)
        let temp = url.deletingLastPathComponent()
            .appendingPathComponent(".\(url.lastPathComponent).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))").path
        let fd = open(temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw failure(errno) }
        var written = 0
        while written < bytes.count {
            let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + written, $0.count - written) }
            if n < 0 {
                let code = errno
                if code == EINTR { continue }
                close(fd); unlink(temp)
                throw failure(code)
            }
            written += n
        }
        let synced = fsync(fd) == 0 ? 0 : errno
        let closed = close(fd) == 0 ? 0 : errno
        let renamed = synced == 0 && closed == 0 ? (rename(temp, path) == 0 ? 0 : errno) : 0
        if let code = [synced, closed, renamed].first(where: { $0 != 0 }) {
            unlink(temp)
            throw failure(code)
        }
    }
}
