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
