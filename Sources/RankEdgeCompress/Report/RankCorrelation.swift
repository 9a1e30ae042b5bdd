/// Spearman's rank correlation: Pearson's correlation of the ranks, tied values sharing the mean of
/// the ranks they span. NaN when either side is constant or there are fewer than two pairs.
func spearmanCorrelation(_ a: [Double], _ b: [Double]) -> Double {
    precondition(a.count == b.count, "spearmanCorrelation needs pairs")
    guard a.count > 1 else { return .nan }
    let ra = fractionalRanks(a), rb = fractionalRanks(b)
    let n = Double(a.count)
    let ma = ra.reduce(0, +) / n, mb = rb.reduce(0, +) / n
    var sab = 0.0, saa = 0.0, sbb = 0.0
    for i in ra.indices {
        let da = ra[i] - ma, db = rb[i] - mb
        sab += da * db; saa += da * da; sbb += db * db
    }
    guard saa > 0, sbb > 0 else { return .nan }
    return sab / (saa * sbb).squareRoot()
}

/// 1-based ranks; a run of equal values gets the mean of its ranks.
func fractionalRanks(_ values: [Double]) -> [Double] {
    let order = values.indices.sorted { values[$0] < values[$1] }
    var ranks = [Double](repeating: 0, count: values.count)
    var start = 0
    while start < order.count {
        var end = start
        while end + 1 < order.count && values[order[end + 1]] == values[order[start]] { end += 1 }
        let mean = Double(start + end) / 2 + 1
        for k in start...end { ranks[order[k]] = mean }
        start = end + 1
    }
    return ranks
}
