import Testing
@testable import RankEdgeInput

/// Resizing (antialiased bilinear, as PIL does for torchvision) and center cropping, at values
/// worked by hand.
@Suite struct RGBImageTests {
    /// One row, the same ramp in every channel.
    static func ramp(_ values: [Int], height: Int = 1) -> RGBImage {
        RGBImage(width: values.count, height: height, pixels: (0..<height).flatMap { _ in values.flatMap { [UInt8($0), UInt8($0), UInt8($0)] } })
    }

    @Test func halvingAveragesWithTheWidenedTriangle() {
        // Shrinking by 2 weighs the four nearest inputs 1/8, 3/8, 3/8, 1/8; at the edge the taps
        // that fall outside are dropped and the rest renormalised: (0·3/4 + 10·3/4 + 20·1/4) / 1.75.
        let out = Self.ramp([0, 10, 20, 30, 40, 50, 60, 70]).resized(height: 1, width: 4)
        #expect(out.pixels.enumerated().filter { $0.offset % 3 == 0 }.map(\.element) == [7, 25, 45, 63])
        #expect(out.pixels == out.pixels.enumerated().map { out.pixels[$0.offset / 3 * 3] }, "channels stay equal")
    }

    @Test func constantImagesStayConstant() {
        let grey = RGBImage(width: 7, height: 5, pixels: [UInt8](repeating: 131, count: 105))
        for (h, w) in [(3, 2), (11, 13), (5, 7), (1, 1)] {
            #expect(grey.resized(height: h, width: w).pixels.allSatisfy { $0 == 131 }, "\(h)x\(w)")
        }
    }

    @Test func shorterSideAndCenterCrop() {
        let image = RGBImage(width: 8, height: 6, pixels: (0..<144).map { UInt8($0) })
        let r = image.resized(shorterSide: 3)
        #expect(r.height == 3 && r.width == 4)
        #expect(RGBImage(width: 6, height: 9, pixels: [UInt8](repeating: 0, count: 162)).resized(shorterSide: 4).height == 6)
        // 8×6 cropped to 4×3: offsets round((6-3)/2) = 2 rows, (8-4)/2 = 2 columns.
        let c = image.centerCropped(height: 3, width: 4)!
        #expect(c.pixels[0..<3] == image.pixels[((2 * 8 + 2) * 3)..<((2 * 8 + 2) * 3 + 3)])
        #expect(c.pixels.count == 36)
        #expect(image.centerCropped(height: 7, width: 4) == nil)
    }
}
