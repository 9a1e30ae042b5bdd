import Foundation

/// The regression run: every file under the given paths through one target, in name order.
/// Reaching the end is the result; a reader that traps takes the process down with the file's
/// name as the last line printed before it.
enum Replay {
    static func run(_ target: FuzzTarget, paths: [String]) {
        var files: [String] = []
        for path in paths {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
                FileHandle.standardError.write(Data("rankedge-fuzz: \(path) does not exist\n".utf8)); exit(1)
            }
            if isDirectory.boolValue {
                let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
                files += names.sorted().filter { !$0.hasPrefix(".") }.map { path + "/" + $0 }
            } else {
                files.append(path)
            }
        }
        for file in files {
            guard let data = FileManager.default.contents(atPath: file) else {
                FileHandle.standardError.write(Data("rankedge-fuzz: cannot read \(file)\n".utf8)); exit(1)
            }
            // Unbuffered, so the file being read is on screen when a reader traps.
            FileHandle.standardOutput.write(Data("  \(target.rawValue) \(file)".utf8))
            target.run([UInt8](data))
            FileHandle.standardOutput.write(Data(" ok\n".utf8))
        }
        FileHandle.standardOutput.write(Data("\(target.rawValue): \(files.count) inputs replayed, none crashed\n".utf8))
    }
}
