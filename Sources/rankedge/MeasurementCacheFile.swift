import Foundation
import RankEdge
import RankEdgeCompress

/// Where the command-line tool keeps the compiler's layer timings: one file per CPU model under
/// `RANKEDGE_CACHE_DIR`, else `$XDG_CACHE_HOME/rankedge`, else `~/.cache/rankedge`. Without a
/// writable folder the timings are kept for this process only.
enum MeasurementCacheFile {
    static func open(refresh: Bool) -> MeasurementCache {
        let machine = MachineDescription.current
        let slug = String(machine.map { $0.isLetter || $0.isNumber ? $0 : "-" })
        var cache = MeasurementCache(cpu: machine)
        if let folder = folder() {
            cache = MeasurementCache.load(path: folder + "/measurements-" + slug + ".json", cpu: machine)
        }
        cache.refresh = refresh
        return cache
    }

    /// Stores new timings; a cache that cannot be written costs the next run a measurement, not this
    /// run its result, so a failure is a warning.
    static func save(_ cache: MeasurementCache) {
        do { try cache.save() } catch { FileHandle.standardError.write(Data("rankedge: warning: layer timings not cached: \(error)\n".utf8)) }
    }

    private static func folder() -> String? {
        let env = ProcessInfo.processInfo.environment
        let base: String
        if let dir = env["RANKEDGE_CACHE_DIR"], !dir.isEmpty { base = dir }
        else if let xdg = env["XDG_CACHE_HOME"], !xdg.isEmpty { base = xdg + "/rankedge" }
        else if let home = env["HOME"], !home.isEmpty { base = home + "/.cache/rankedge" }
        else { return nil }
        do { try FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true) } catch { return nil }
        return base
    }
}
