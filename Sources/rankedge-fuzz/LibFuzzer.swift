#if RANKEDGE_LIBFUZZER
import CLibFuzzer
import Foundation

/// Hands the process to libFuzzer with one target selected. libFuzzer calls back through a C
/// function pointer, which cannot capture, so the target sits in a static set once before the
/// driver starts and only read afterwards (libFuzzer runs inputs on the calling thread).
enum LibFuzzer {
    nonisolated(unsafe) static var target: FuzzTarget = .rkg

    static func run(_ target: FuzzTarget, arguments: [String]) -> Int32 {
        Self.target = target
        // libFuzzer may keep argv for the whole run, so the strings are never freed.
        var argc = Int32(arguments.count)
        let cStrings = UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>.allocate(capacity: arguments.count + 1)
        for (i, a) in arguments.enumerated() { cStrings[i] = strdup(a) }
        cStrings[arguments.count] = nil
        var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = cStrings
        return LLVMFuzzerRunDriver(&argc, &argv) { data, size in
            LibFuzzer.target.run(size == 0 ? [] : Array(UnsafeBufferPointer(start: data, count: size)))
            return 0
        }
    }
}
#endif
