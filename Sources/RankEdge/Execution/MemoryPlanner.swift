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
    /// `searchBudget` bounds the backtracking search (placements tried per capacity).
    public static func plan(_ requests: [BufferRequest], alignment: Int = 16, searchBudget: Int = 100_000) -> ArenaLayout {
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
        // Per request, the others it shares a step with: placement only ever looks at these.
        var overlapping = [[Int]](repeating: [], count: requests.count)
        for i in requests.indices {
            for j in requests.indices where j != i && requests[i].overlapsInTime(requests[j]) { overlapping[i].append(j) }
        }
        var best: ArenaLayout?
        func consider(_ order: [Int]) {
            for bestFit in [false, true] {
                let layout = place(requests, order: order, overlapping: overlapping, alignment: alignment, bestFit: bestFit, lowerBound: lower)
                if best == nil || layout.arenaFloats < best!.arenaFloats { best = layout }
            }
        }
        for order in orders { consider(requests.indices.sorted(by: order)) }
        // Greedy placement cannot look ahead; chains of short-lived buffers (a residual block's
        // narrow intermediates beside its long-lived input) often fit the bound only one way. A
        // bounded backtracking search finds such packings.
        for slack in [0, 5] where best!.arenaFloats > lower + lower * slack / 100 {
            let capacity = (lower + lower * slack / 100 + alignment - 1) / alignment * alignment
            if let offsets = search(requests, capacity: capacity, alignment: alignment, budget: searchBudget / 2)
                ?? search(requests, capacity: capacity, alignment: alignment, budget: searchBudget / 2, birthOrder: false) {
                let arena = requests.indices.map { offsets[$0] + requests[$0].floats }.max() ?? 0
                if arena < best!.arenaFloats { best = ArenaLayout(offsets: offsets, arenaFloats: arena, lowerBoundFloats: lower) }
                break
            }
        }
        // When the heuristics leave slack, perturbed size orders often close it: a few dozen seeded
        // tries, stopping once within 2 % of the bound (the result is the same on every run).
        var rng = SeededRandom(seed: 1)
        var tries = 0
        while best!.arenaFloats > lower + lower / 50 && tries < 16 {
            let noisy = requests.indices.map { i in (i, Double(requests[i].floats) * Double(rng.uniform(0.5, 1.5))) }
            consider(noisy.sorted { $0.1 > $1.1 }.map { $0.0 })
            tries += 1
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

    static func place(_ requests: [BufferRequest], order: [Int], overlapping: [[Int]], alignment: Int, bestFit: Bool,
                      lowerBound: Int) -> ArenaLayout {
        var offsets = [Int](repeating: 0, count: requests.count)
        var isPlaced = [Bool](repeating: false, count: requests.count)
        var arena = 0
        func aligned(_ x: Int) -> Int { (x + alignment - 1) / alignment * alignment }
        for i in order {
            let r = requests[i]
            // Occupied intervals of buffers alive at the same time, by offset.
            let busy = overlapping[i].filter { isPlaced[$0] && requests[$0].floats > 0 }
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
            isPlaced[i] = true
        }
        return ArenaLayout(offsets: offsets, arenaFloats: arena, lowerBoundFloats: lowerBound)
    }

    /// Depth-first placement, largest buffers first, each at the bottom or top of the arena or
    /// against a buffer it meets in time (lowest offset first), backtracking when nothing fits under `capacity`; gives up after
    /// `budget` placements.
    static func search(_ requests: [BufferRequest], capacity: Int, alignment: Int, budget: Int, birthOrder: Bool = true) -> [Int]? {
        // In order of birth conflicts stay local in time, so backtracking stays shallow.
        let order = requests.indices.sorted {
            birthOrder ? (requests[$0].firstStep, -requests[$0].floats, $0) < (requests[$1].firstStep, -requests[$1].floats, $1)
                       : (-requests[$0].floats, requests[$0].firstStep, $0) < (-requests[$1].floats, requests[$1].firstStep, $1)
        }
        var overlapping = [[Int]](repeating: [], count: requests.count)
        for i in requests.indices {
            for j in requests.indices where j != i && requests[i].overlapsInTime(requests[j]) && requests[j].floats > 0 {
                overlapping[i].append(j)
            }
        }
        var offsets = [Int](repeating: -1, count: requests.count)
        var spent = 0
        func aligned(_ x: Int) -> Int { (x + alignment - 1) / alignment * alignment }

        func candidates(_ i: Int) -> [Int] {
            let size = requests[i].floats
            let placed = overlapping[i].filter { offsets[$0] >= 0 }
            // At the bottom or the top of the arena, or against a placed neighbour in time, above or below.
            func alignedDown(_ x: Int) -> Int { x / alignment * alignment }
            var starts = Set([0, alignedDown(capacity - size)])
            for j in placed {
                starts.insert(aligned(offsets[j] + requests[j].floats))
                starts.insert(alignedDown(offsets[j] - size))
            }
            return starts.sorted().filter { start in
                start >= 0 &&
                start + size <= capacity && placed.allSatisfy { j in
                    offsets[j] + requests[j].floats <= start || start + size <= offsets[j]
                }
            }
        }

        func place(_ depth: Int) -> Bool {
            if depth == order.count { return true }
            let i = order[depth]
            if requests[i].floats == 0 {
                offsets[i] = 0
                if place(depth + 1) { return true }
                offsets[i] = -1
                return false
            }
            for start in candidates(i) {
                spent += 1
                if spent > budget { return false }
                offsets[i] = start
                if place(depth + 1) { return true }
                offsets[i] = -1
                if spent > budget { return false }
            }
            return false
        }
        // Zero-sized buffers take offset 0; `place` marks them so they never block anything.
        return place(0) ? offsets.map { max($0, 0) } : nil
    }

    /// Checks a layout (for example one read from a compiled file): every buffer inside the arena,
    /// aligned, and no two buffers live at the same step overlapping in memory.
    public static func isValid(_ layout: ArenaLayout, for requests: [BufferRequest], alignment: Int = 16) -> Bool {
        guard layout.offsets.count == requests.count else { return false }
        for (i, r) in requests.enumerated() {
            let o = layout.offsets[i]
            // Offsets come from files: an end past Int.max is invalid, not a trap.
            let (end, overflow) = o.addingReportingOverflow(r.floats)
            guard o >= 0, o % alignment == 0, r.floats >= 0, !overflow, end <= layout.arenaFloats else { return false }
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
