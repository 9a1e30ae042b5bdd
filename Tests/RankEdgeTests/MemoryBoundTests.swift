import Testing
@testable import RankEdge

/// Issue #26 item 2: every size a batch or a file asks for is estimated before allocating and
/// refused above the bound with a typed error, never a trap or an allocator abort.
@Suite struct MemoryBoundTests {
    /// conv 3→16 then global pooling: any input size is a valid graph.
    static func graph(side: Int = 32) -> Graph {
        var b = GraphBuilder(name: "pool", shape: [1, side, side, 3], seed: 3)
        let y = b.globalAvgPool(b.relu(b.conv("input", out: 16, kernel: 3, name: "c")))
        return b.build(outputs: [y])
    }

    static func isBound(_ error: any Error, above bound: Int) -> Bool {
        guard case .memoryBoundExceeded(_, let estimate, let b)? = error as? ExecutionError else { return false }
        return b == bound && (estimate.map { $0 > bound } ?? true)
    }

    @Test func defaultBoundIsAFractionOfPhysicalMemory() throws {
        let physical = try #require(MemoryBound.physicalBytes)
        #expect(MemoryBound.defaultBytes == physical / 4 * 3)
        #expect(InferenceSession.Options().maxMemoryBytes == MemoryBound.defaultBytes)
        #expect(CompileOptions().maxMemoryBytes == MemoryBound.defaultBytes)
    }

    /// The reproducer of the issue: `bench --batch 2000000` asked the allocator for 393 GB and aborted.
    @Test func hugeBatchIsRefusedBeforeAllocating() throws {
        let session = try InferenceSession(graph: Self.graph(), options: .init(maxMemoryBytes: 1 << 30))
        #expect { try session.prepare(batch: 2_000_000) } throws: { Self.isBound($0, above: 1 << 30) }
        // A batch whose element count overflows Int is refused too (by shape inference), not trapped.
        #expect(throws: ExecutionError.self) { try session.prepare(batch: Int.max / 2) }
        // The session still runs at a batch that fits.
        let y = try session.run(Tensor(zeros: TensorShape([2, 32, 32, 3])))
        #expect(y.shape == TensorShape([2, 1, 1, 16]))
        let arena = try #require(session.memory).arenaBytes
        #expect(arena > 0 && arena < 1 << 30)
    }

    @Test func boundCountsArenaScratchAndWeights() throws {
        let g = Self.graph()
        // One conv form for all three sessions: a timed Winograd choice could differ between
        // compiles (it is close on some CPUs) and with it the scratch the probe measured.
        let probe = try InferenceSession(graph: g, options: .init(winograd: .never))
        try probe.prepare(batch: 4)
        let m = try #require(probe.memory)
        let weights = g.weights.values.reduce(0) { $0 + $1.count * 4 }
        let needed = m.arenaBytes + m.scratchBytes + weights
        let exact = try InferenceSession(graph: g, options: .init(winograd: .never, maxMemoryBytes: needed))
        try exact.prepare(batch: 4)
        let short = try InferenceSession(graph: g, options: .init(winograd: .never, maxMemoryBytes: needed - 1))
        #expect { try short.prepare(batch: 4) } throws: { error in
            Self.isBound(error, above: needed - 1) && "\(error)".contains("--max-memory") && "\(error)".contains("batch 4")
        }
    }

    /// A graph file may declare a 1×100000×100000×3 input: valid, but 120 GB per tensor.
    @Test func hugeDeclaredInputIsRefusedAtCompile() throws {
        let g = Self.graph(side: 100_000)
        let bytes = try RKGFile.encode(g)
        let read = try RKGFile.decode(bytes)
        #expect { try InferenceSession(graph: read, options: .init(maxMemoryBytes: 1 << 30)) } throws: { Self.isBound($0, above: 1 << 30) }
        #expect { try GraphCompiler.compile(read, options: CompileOptions(maxMemoryBytes: 1 << 30)) } throws: { Self.isBound($0, above: 1 << 30) }
        // A compile measuring at a huge batch stops before its layer timings allocate.
        #expect { try GraphCompiler.compile(Self.graph(), options: CompileOptions(batch: 10_000_000, maxMemoryBytes: 1 << 30)) } throws: {
            Self.isBound($0, above: 1 << 30) && "\($0)".contains("batch 10000000")
        }
    }

    /// Dimensions whose product overflows Int: the file is refused as invalid, nothing traps.
    @Test func overflowingDimsInAGraphFileAreRefused() throws {
        var g = Self.graph()
        g.inputs[0].shape = TensorShape([1, 1 << 40, 1 << 40, 3])
        #expect(throws: RKGFormatError.self) { try RKGFile.encode(g) }
        // Written without the writer's check, as a stranger's file would be.
        let container = SafetensorsContainer(metadata: [RKGFile.graphMetadataKey: try GraphJSON.encode(g)], tensors: g.weights)
        #expect { try RKGFile.decode(try container.encode()) } throws: { error in
            guard case .invalidGraph(let problems)? = error as? RKGFormatError else { return false }
            return problems.contains { $0.message.contains("too many elements") }
        }
    }

    @Test func estimatesReportOverflowAsNil() {
        #expect(MemoryBound.bytes(floats: Int.max / 2) == nil)
        #expect(MemoryBound.sum([Int.max, 1]) == nil)
        #expect(MemoryBound.sum([1, nil]) == nil)
        #expect(MemoryBound.bytes(of: [TensorShape([2, 3]), TensorShape([4])]) == 40)
        #expect(MemoryBound.bytes(of: [TensorShape([1 << 40, 1 << 40])]) == nil)
        #expect(throws: ExecutionError.self) { try MemoryBound.check(nil, bound: .max, what: "x") }
        #expect(MemoryBound.describe(393_216_000_000) == "393.22 GB")
        #expect(MemoryBound.describe(12_400_000) == "12.4 MB")
        #expect(MemoryBound.describe(1_300_000) == "1.3 MB")
        #expect(MemoryBound.describe(250_400_000) == "250 MB")
        #expect(MemoryBound.describe(Int.max) == "9223372036.85 GB")
    }

    /// With the bound lifted past the machine, the system's refusal is an error, not Swift's abort.
    @Test func refusedAllocationIsAnError() throws {
        #expect(FloatStorage(refusable: Int.max) == nil)
        #expect(FloatStorage(refusable: -1) == nil)
        #expect(FloatStorage(refusable: 0)?.count == 0)
        // Only where the kernel refuses what it cannot back (not with vm.overcommit_memory=1).
        let overcommit = (try? String(decoding: readFileBytes("/proc/sys/vm/overcommit_memory"), as: UTF8.self)) ?? "1"
        guard overcommit.hasPrefix("0") || overcommit.hasPrefix("2"), let physical = MemoryBound.physicalBytes else { return }
        // An arena of 16 floats per pixel, four times physical memory (and far past swap).
        let batch = max(4 * physical / (32 * 32 * 16 * 4), 1)
        let session = try InferenceSession(graph: Self.graph(), options: .init(maxMemoryBytes: .max))
        #expect { try session.prepare(batch: batch) } throws: { error in
            guard case .allocationRefused? = error as? ExecutionError else { return false }
            return "\(error)".contains("the system refused")
        }
    }

    /// A compiled file's stored layout with offsets near Int.max is invalid, not an overflow trap.
    @Test func storedLayoutOffsetsNearIntMaxAreInvalid() {
        let requests = [BufferRequest(name: "a", floats: 32, firstStep: 0, lastStep: 1)]
        let layout = ArenaLayout(offsets: [Int.max - 15], arenaFloats: Int.max, lowerBoundFloats: 32)
        #expect(!MemoryPlanner.isValid(layout, for: requests))
    }
}
