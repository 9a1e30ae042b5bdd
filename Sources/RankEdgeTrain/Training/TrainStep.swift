/// One optimisation step on a batch: forward in training mode, softmax cross-entropy plus the
/// model's regularisers (ELRT's DSO), backward, update. Returns the batch's cross-entropy and how
/// many images the pre-update model classified correctly.
public func trainStep(model: any Module, optimizer: Optimizer, images: Variable, labels: [Int],
                      learningRate: Float, context: ForwardContext) -> (loss: Float, correct: Int) {
    optimizer.zeroGrad()
    let logits = model.forward(images, context)
    let (loss, correct) = softmaxCrossEntropy(logits, labels: labels)
    let terms = regularizationTerms(model)
    if terms.isEmpty { loss.backward() }
    else { weightedSum([loss] + terms.map(\.penalty), weights: [1] + terms.map(\.weight)).backward() }
    optimizer.update(lr: learningRate)
    return (loss.value[0], correct)
}

/// Class scores in evaluation mode, in batches of `batchSize` images of an NHWC tensor.
public func predictLogits(model: any Module, images: TensorStorage, count: Int, imageSize: Int = 32 * 32 * 3,
                          batchSize: Int = 250) -> [[Float]] {
    var all: [[Float]] = []
    var start = 0
    while start < count {
        let n = min(batchSize, count - start)
        let x = TensorStorage(uninitialized: n * imageSize)
        x.pointer.update(from: images.pointer + start * imageSize, count: n * imageSize)
        let side = Int(Double(imageSize / 3).squareRoot())
        let logits = model.forward(Variable(shape: [n, side, side, 3], value: x), .evaluation)
        let k = logits.shape[1]
        for r in 0..<n { all.append(Array(UnsafeBufferPointer(start: logits.value.pointer + r * k, count: k))) }
        start += n
    }
    return all
}
