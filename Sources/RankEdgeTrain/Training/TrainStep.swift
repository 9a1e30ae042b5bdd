/// What a training step optimises besides the labels: knowledge distillation from a teacher's
/// class scores (Hinton et al.): loss = (1 − w)·CE(student, labels) + w·T²·KL(p_T(teacher) ‖ p_T(student)).
public struct Distillation {
    public let teacher: TrainableGraph
    public let weight: Float
    public let temperature: Float
    public init(teacher: TrainableGraph, weight: Float, temperature: Float) {
        self.teacher = teacher; self.weight = weight; self.temperature = temperature
    }
}

/// One optimisation step on a batch: forward in training mode, softmax cross-entropy (blended with
/// distillation when a teacher is given) plus the model's regularisers (ELRT's DSO), backward,
/// update. Returns the batch's cross-entropy and how many images the pre-update model classified
/// correctly.
public func trainStep(model: TrainableGraph, optimizer: Optimizer, images: Variable, labels: [Int],
                      learningRate: Float, context: ForwardContext, distillation: Distillation? = nil) -> (loss: Float, correct: Int) {
    optimizer.zeroGrad()
    let logits = model.forward(images, context)
    let (loss, correct) = softmaxCrossEntropy(logits, labels: labels)
    var terms = model.regularizationTerms()
    var taskWeight: Float = 1
    if let distillation {
        let teacherLogits = distillation.teacher.forward(Variable(shape: images.shape, value: images.value), .evaluation)
        terms.append((distillationLoss(student: logits, teacher: teacherLogits, temperature: distillation.temperature),
                      distillation.weight))
        taskWeight = 1 - distillation.weight
    }
    if terms.isEmpty { loss.backward() }
    else { weightedSum([loss] + terms.map(\.penalty), weights: [taskWeight] + terms.map(\.weight)).backward() }
    optimizer.update(lr: learningRate)
    return (loss.value[0], correct)
}

/// Class scores in evaluation mode, in batches of `batchSize` images of an NHWC tensor whose image
/// shape is the model's input shape.
public func predictLogits(model: TrainableGraph, images: TensorStorage, count: Int, batchSize: Int = 250) -> [[Float]] {
    let imageShape = Array(model.inputShape.dropFirst())
    let imageSize = imageShape.reduce(1, *)
    var all: [[Float]] = []
    var start = 0
    while start < count {
        let n = min(batchSize, count - start)
        let x = TensorStorage(uninitialized: n * imageSize)
        x.pointer.update(from: images.pointer + start * imageSize, count: n * imageSize)
        let logits = model.forward(Variable(shape: [n] + imageShape, value: x), .evaluation)
        let k = logits.shape[1]
        for r in 0..<n { all.append(Array(UnsafeBufferPointer(start: logits.value.pointer + r * k, count: k))) }
        start += n
    }
    return all
}
