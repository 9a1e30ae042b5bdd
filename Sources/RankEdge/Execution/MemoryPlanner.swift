/// One buffer a plan needs in the arena: an activation tensor, or an op's scratch, live from the
/// step that first writes it to the last step that reads it (inclusive).
public struct BufferRequest: Sendable, Equatable {
    public var name: String
    public var floats: Int
    public var firstStep: Int
    public var lastStep: Int
    public init(name: String, floats: Int, firstStep: Int, lastStep: Int) {
        self.name = name; self.floats = floats; self.firstStep = firstStep; self.lastStep = lastStep
    }

    func overlapsInTime(_ other: BufferRequest) -> Bool {
        firstStep <= other.lastStep && other.firstStep <= lastStep
    }
}

/// Where every buffer lives in one static arena, with the arena's size and the bound no placement
/// can beat.
public struct ArenaLayout: Sendable, Equatable {
    /// Offset in floats of each request, in request order; a multiple of the alignment.
    public var offsets: [Int]
    public var arenaFloats: Int
    /// max over steps of the summed sizes of the buffers live at that step: any arena holding
    /// these buffers at these lifetimes is at least this big.
    public var lowerBoundFloats: Int
}

/// Packs buffers with known lifetimes into one arena (a one-dimensional interval packing):
/// greedy placement at the lowest offset that collides with no buffer live at the same time,
/// tried under a few orderings, keeping the smallest arena.
public enum MemoryPlanner {
    /// Offsets are multiples of `alignment` floats (16 floats = one 64-byte cache line).
    public static func plan(_ requests: [BufferRequest], alignment: Int = 16) -> ArenaLayout {
        let lower = lowerBound(requests)
        guard !requests.isEmpty else { return ArenaLayout(offsets: [], arenaFloats: 0, lowerBoundFloats: 0) }
        let orders: [(Int, Int) -> Bool] = [
            // Largest first: big buffers claim the bottom, small ones fill the gaps they leave.
            { a, b in (requests[a].floats, requests[b].lastStep - requests[b].firstStep) > (requests[b].floats, requests[a].lastStep - requests[a].firstStep) },
            // Longest-lived first: they constrain the most others.
            { a, b in (requests[a].lastStep - requests[a].firstStep, requests[a].floats) > (requests[b].lastStep - requests[b].firstStep, requests[b].floats) },
            // Size × lifetime, the area a buffer covers in the (time, offset) plane.
            { a, b in requests[a].floats * (requests[a].lastStep - requests[a].firstStep + 1) > requests[b].floats * (requests[b].lastStep - requests[b].firstStep + 1) },
            // In order of birth: the schedule a stack allocator would see.
            { a, b in (requests[a].firstStep, -requests[a].floats) < (requests[b].firstStep, -requests[b].floats) },
        ]
        var best: ArenaLayout?
        for order in orders {
            for bestFit in [false, true] {
                let indices = requests.indices.sorted(by: order)
                let layout = place(requests, order: indices, alignment: alignment, bestFit: bestFit, lowerBound: lower)
                if best == nil || layout.arenaFloats < best!.arenaFloats { best = layout }
            }
        }
        return best!
    }

    /// The largest total size of buffers live at one step.
    public static func lowerBound(_ requests: [BufferRequest]) -> Int {
        // Sweep over births and deaths: +size at firstStep, −size after lastStep.
        var events: [(step: Int, delta: Int)] = []
        for r in requests where r.floats > 0 {
            events.append((r.firstStep, r.floats))
            events.append((r.lastStep + 1, -r.floats))
        }
        events.sort { ($0.step, $0.delta) < ($1.step, $1.delta) }
        var live = 0, peak = 0
        for e in events {
            live += e.delta
            peak = max(peak, live)
        }
        return peak
    }

    static func place(_ requests: [BufferRequest], order: [Int], alignment: Int, bestFit: Bool,
                      lowerBound: Int) -> ArenaLayout {
        var offsets = [Int](repeating: 0, count: requests.count)
        var placed: [Int] = []
        var arena = 0
        func aligned(_ x: Int) -> Int { (x + alignment - 1) / alignment * alignment }
        for i in order {
            let r = requests[i]
            // Occupied intervals of buffers alive at the same time, by offset.
            let busy = placed.filter { requests[$0].overlapsInTime(r) && requests[$0].floats > 0 }
                .map { (start: offsets[$0], end: offsets[$0] + requests[$0].floats) }
                .sorted { $0.start < $1.start }
            var candidate = 0
            var chosen: Int?
            var chosenGap = Int.max
            for interval in busy {
                if interval.start >= candidate + r.floats {
                    let gap = interval.start - candidate
                    if !bestFit { chosen = candidate; break }
                    if gap < chosenGap { chosen = candidate; chosenGap = gap }
                }
                candidate = max(candidate, aligned(interval.end))
            }
            let offset = chosen ?? candidate
            offsets[i] = offset
            arena = max(arena, offset + r.floats)
            placed.append(i)
        }
        return ArenaLayout(offsets: offsets, arenaFloats: arena, lowerBoundFloats: lowerBound)
    }

    /// Checks a layout (for example one read from a compiled file): every buffer inside the arena,
    /// aligned, and no two buffers live at the same step overlapping in memory.
    public static func isValid(_ layout: ArenaLayout, for requests: [BufferRequest], alignment: Int = 16) -> Bool {
        guard layout.offsets.count == requests.count else { return false }
        for (i, r) in requests.enumerated() {
            let o = layout.offsets[i]
            guard o >= 0, o % alignment == 0, r.floats >= 0, o + r.floats <= layout.arenaFloats else { return false }
        }
        for i in requests.indices {
            for j in requests.indices where j > i && requests[i].overlapsInTime(requests[j]) {
                let (a, b) = (layout.offsets[i], layout.offsets[j])
                if requests[i].floats > 0, requests[j].floats > 0,
                   a < b + requests[j].floats, b < a + requests[i].floats { return false }
            }
        }
        return true
    }
}
