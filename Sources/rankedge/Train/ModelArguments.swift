import ArgumentParser
import RankEdgeTrain

/// The model choice shared by `train` and `train-bench`.
struct ModelArguments: ParsableArguments {
    @Option(help: "Model: minivgg, resnet20, resnet56, vgg11.")
    var model: String

    @Option(help: "mini-VGG kernel size k (odd).")
    var kernel: Int = 5

    @Flag(inversion: .prefixedNo, help: "mini-VGG: batch norm after every conv.")
    var bn: Bool = true

    @Flag(inversion: .prefixedNo, help: "mini-VGG: Dropout(0.4) after every block.")
    var dropout: Bool = true

    var options: ModelOptions { ModelOptions(name: model, kernel: kernel, batchNorm: bn, dropout: dropout) }
}
