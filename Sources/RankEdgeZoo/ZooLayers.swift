import RankEdge

/// Builds one conv or linear of a reference network in the form the variant asks for, so the
/// architectures themselves stay free of variant logic.
struct ZooLayers {
    var builder: GraphBuilder
    let variant: ZooVariant
    let ratio: Double

    /// A conv followed by BN (always) and the result's tensor name. Bias-free as in ResNets: BN follows.
    mutating func convBN(_ x: String, out: Int, kernel k: Int, stride: Int = 1, padding: Int? = nil, name: String) -> String {
        let y = conv(x, out: out, kernel: k, stride: stride, padding: padding, bias: false, name: name)
        return builder.batchNorm(y, name: name.replacingConvWithBN())
    }

    mutating func conv(_ x: String, out s: Int, kernel k: Int, stride: Int = 1, padding: Int? = nil, bias: Bool, name: String) -> String {
        let c = builder.channels(of: x)
        let pad = padding ?? (k - 1) / 2
        switch variant {
        case .dense, .merged:
            return builder.conv(x, out: s, kernel: k, stride: stride, padding: pad, bias: bias, name: name)
        case .rank(let l):
            guard k > 1 else { return builder.conv(x, out: s, kernel: k, stride: stride, padding: pad, bias: bias, name: name) }
            return builder.rankConv(x, out: s, kernel: k, rank: min(l, k), stride: stride, bias: bias, name: name)
        case .tucker2:
            let (r1, r2) = LowRankRanks.tucker2(inputs: c, outputs: s, kernel: k, ratio: ratio)
            // Layers too thin to compress (e.g. the RGB stem, where R1 would be all 3 channels) stay dense.
            guard k > 1, r1 < c, r2 < s, c * r1 + r1 * r2 * k * k + r2 * s < c * s * k * k else {
                return builder.conv(x, out: s, kernel: k, stride: stride, padding: pad, bias: bias, name: name)
            }
            let note = "tucker2 of \(name), ranks \(r1)/\(r2) (ratio \(formatRatio(ratio)))"
            let a = builder.conv(x, out: r1, kernel: 1, padding: 0, bias: false, name: "\(name).tucker_in", provenance: note)
            let b = builder.conv(a, out: r2, kernel: k, stride: stride, padding: pad, bias: false,
                                 name: "\(name).tucker_core", provenance: note)
            return builder.conv(b, out: s, kernel: 1, padding: 0, bias: bias, name: "\(name).tucker_out", provenance: note)
        case .lrd, .branched:
            let groups: Int
            if case .branched(let n) = variant { groups = n } else { groups = 1 }
            if k == 1 {
                let r = LowRankRanks.svd(inputs: c, outputs: s, ratio: ratio)
                guard r * (c + s) < c * s else {
                    return builder.conv(x, out: s, kernel: 1, stride: stride, padding: 0, bias: bias, name: name)
                }
                let note = "svd of \(name), rank \(r) (ratio \(formatRatio(ratio)))"
                let u = builder.conv(x, out: r, kernel: 1, stride: stride, padding: 0, bias: false, name: "\(name).svd_v", provenance: note)
                return builder.conv(u, out: s, kernel: 1, padding: 0, bias: bias, name: "\(name).svd_u", provenance: note)
            }
            var (r1, r2) = LowRankRanks.tucker2(inputs: c, outputs: s, kernel: k, ratio: ratio)
            // Branches need ranks divisible by the group count.
            r1 = max(groups, r1 / groups * groups)
            r2 = max(groups, r2 / groups * groups)
            let tuckerParams = c * r1 + r1 * r2 * k * k / groups + r2 * s
            guard tuckerParams < c * s * k * k, r1 <= c || groups > 1 else {
                return builder.conv(x, out: s, kernel: k, stride: stride, padding: pad, bias: bias, name: name)
            }
            let note = groups > 1 ? "branched tucker2 of \(name), ranks \(r1)/\(r2), \(groups) branches (ratio \(formatRatio(ratio)))"
                                  : "tucker2 of \(name), ranks \(r1)/\(r2) (ratio \(formatRatio(ratio)))"
            let a = builder.conv(x, out: r1, kernel: 1, padding: 0, bias: false, name: "\(name).tucker_in", provenance: note)
            let b = builder.conv(a, out: r2, kernel: k, stride: stride, padding: pad, groups: groups, bias: false,
                                 name: "\(name).tucker_core", provenance: note)
            return builder.conv(b, out: s, kernel: 1, padding: 0, bias: bias, name: "\(name).tucker_out", provenance: note)
        }
    }

    mutating func linear(_ x: String, out s: Int, name: String) -> String {
        let c = builder.channels(of: x)
        switch variant {
        case .lrd, .branched:
            let r = LowRankRanks.svd(inputs: c, outputs: s, ratio: ratio)
            guard r * (c + s) < c * s else { return builder.linear(x, out: s, name: name) }
            let note = "svd of \(name), rank \(r) (ratio \(formatRatio(ratio)))"
            let v = builder.linear(x, out: r, bias: false, name: "\(name).svd_v", provenance: note)
            return builder.linear(v, out: s, name: "\(name).svd_u", provenance: note)
        default:
            return builder.linear(x, out: s, name: name)
        }
    }
}

extension String {
    /// "layer1.0.conv1" → "layer1.0.bn1", "stem.conv" → "stem.bn".
    func replacingConvWithBN() -> String {
        let chars = Array(self)
        let pattern = Array("conv")
        var i = chars.count - pattern.count
        while i >= 0 {
            if Array(chars[i..<i + pattern.count]) == pattern {
                return String(chars[..<i]) + "bn" + String(chars[(i + pattern.count)...])
            }
            i -= 1
        }
        return self + ".bn"
    }
}
