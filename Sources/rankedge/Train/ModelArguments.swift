import ArgumentParser
import RankEdgeTrain

/// The model choice shared by `train` and `train-bench`.
struct ModelArguments: ParsableArguments {
    @Option(help: "Model: minivgg, resnet20, resnet56, vgg11, vgg16.")
    var model: String?

    @Option(help: "mini-VGG kernel size k (odd).")
    var kernel: Int = 5

    @Flag(inversion: .prefixedNo, help: "mini-VGG: batch norm after every conv.")
    var bn: Bool = true

    @Flag(inversion: .prefixedNo, help: "mini-VGG: Dropout(0.4) after every block.")
    var dropout: Bool = true

    @Option(help: ArgumentHelp("Form of every k×k conv: dense, rank:L (rank-L Toeplitz factors), tucker2:RATIO (Tucker-2 with ranks for a parameter ratio), elrt:RATIO (Tucker-2, Xavier init, DSO regulariser).", valueName: "form"))
    var conv: String = "dense"

    @Option(help: ArgumentHelp("Weight λ of the double soft orthogonality regulariser on Tucker factors (default 1e-3 for elrt, 0 otherwise).", valueName: "lambda"))
    var dso: Float?

    @Option(help: ArgumentHelp("How rank:L convs run in training: auto (time both on the first batch, keep the faster), reconstruct, separable.", valueName: "form"))
    var rankForm: String = "auto"

    func validate() throws {
        if let model {
            guard ModelZoo.names.contains(model) else {
                throw ValidationError("unknown model '\(model)' (known: \(ModelZoo.names.joined(separator: ", ")))")
            }
            _ = try options()
        }
        _ = try rankExecution()
    }

    func options() throws -> ModelOptions {
        let form: ConvForm
        do { form = try ConvForm(parsing: conv) } catch { throw ValidationError("\(error)") }
        if let dso, !(dso >= 0 && dso.isFinite) { throw ValidationError("--dso must be a number ≥ 0") }
        guard let model else { throw ValidationError("--model is required (\(ModelZoo.names.joined(separator: ", ")))") }
        return ModelOptions(name: model, kernel: kernel, batchNorm: bn, dropout: dropout, conv: form, dso: dso)
    }

    func rankExecution() throws -> RankExecution {
        guard let form = RankExecution(rawValue: rankForm) else {
            throw ValidationError("unknown --rank-form '\(rankForm)' (auto, reconstruct, separable)")
        }
        return form
    }
}
