import Testing
@testable import RankEdgeONNX

@Suite struct LayoutConversionTests {
    @Test func ohwiAndOihwAreInverse() {
        let (o, i, kh, kw) = (3, 5, 2, 7)
        let x = (0..<(o * i * kh * kw)).map { Float($0) }
        let y = LayoutConversion.ohwi(fromOIHW: x, o: o, i: i, kh: kh, kw: kw)
        // Element [a, c, r, s] of OIHW is element [a, r, s, c] of OHWI.
        #expect(y[((2 * kh + 1) * kw + 4) * i + 3] == x[((2 * i + 3) * kh + 1) * kw + 4])
        #expect(LayoutConversion.oihw(fromOHWI: y, o: o, kh: kh, kw: kw, i: i) == x)
    }
}

@Suite struct FlattenOrderTests {
    /// A 1×2 map with 2 channels: RankEdge order (x0c0, x0c1, x1c0, x1c1), ONNX (c0x0, c0x1, c1x0, c1x1).
    @Test func smallCaseByHand() {
        #expect(LayoutConversion.flattenOrder(c: 2, h: 1, w: 2) == [0, 2, 1, 3])
        #expect(LayoutConversion.flattenOrder(c: 5, h: 1, w: 1) == [0, 1, 2, 3, 4])
    }

    /// Flattening NHWC data in RankEdge order equals gathering ONNX's NCHW flatten by the order.
    @Test func orderMatchesTheTwoFlattens() {
        let (c, h, w) = (3, 5, 2)
        let nchw = (0..<(c * h * w)).map { Float($0) }
        let nhwc = nhwcTensor(NCHW.Map(n: 1, c: c, h: h, w: w, data: nchw)).data
        let order = LayoutConversion.flattenOrder(c: c, h: h, w: w)
        #expect(LayoutConversion.gatherColumns(nchw, rows: 1, order: order) == nhwc)
        #expect(LayoutConversion.scatterColumns(nhwc, rows: 1, order: order) == nchw)
    }

    @Test func transposeByHand() {
        #expect(LayoutConversion.transpose([1, 2, 3, 4, 5, 6], rows: 2, cols: 3) == [1, 4, 2, 5, 3, 6])
    }
}
