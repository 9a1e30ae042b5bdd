/// What a training step optimises besides the labels: knowledge distillation from a teacher's
/// class scores (Hinton et al.): loss = (1 − w)·CE(student, labels) + w·T²·KL(p_T(teacher) ‖ p_T(student)).
public struct Distillation {
    public let teacher: TrainableGraph
    public let weight: Float
    public let temperature: Float
    /// Per-channel x·scale + shift taking the student's normalised input to the teacher's, when the
    /// two were trained with different input mean/std (nil: the same normalisation).
    public let inputAffine: (scale: [Float], shift: [Float])?

    public init(teacher: TrainableGraph, weight: Float, temperature: Float,
                student: Normalization? = nil, teacherNormalization: Normalization? = nil) {
        self.teacher = teacher; self.weight = weight; self.temperature = temperature
        if let s = student, let t = teacherNormalization, s != t, s.mean.count == t.mean.count {
            // x_t = (p − m_t)/s_t with p = x_s·s_s + m_s.
            inputAffine = (zip(s.std, t.std).map { $0 / $1 }, (0..<s.mean.count).map { (s.mean[$0] - t.mean[$0]) / t.std[$0] })
        } else {
            inputAffine = nil
        }
    }

    /// The student's batch as the teacher expects it.
    func teacherInput(_ images: Variable) -> Variable {
        guard let (scale, shift) = inputAffine else { return Variable(shape: images.shape, value: images.value) }
        let c = scale.count
        let out = TensorStorage(uninitialized: images.count)
        for i in 0..<images.count { out[i] = images.value[i] * scale[i % c] + shift[i % c] }
        return Variable(shape: images.shape, value: out)
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
        let teacherLogits = distillation.teacher.forward(distillation.teacherInput(images), .evaluation)
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
