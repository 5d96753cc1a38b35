//! Image classification: the seed's CNN (`--model seed`, the default) or a
//! ResNet (`--model resnet`) on Fashion-MNIST, any MNIST-format IDX folder
//! (`--dataset mnist-idx --data-dir DIR`) or CIFAR-10's binary files
//! (`--dataset cifar10-bin --data-dir DIR`), with a validation split, a
//! scikit-learn-style classification report, a confusion matrix, the most
//! confident mistakes and the model (see `nnlab_experiments::image_classification`).

fn main() -> std::process::ExitCode {
    nnlab_experiments::main_wrapper("cnn_classifier", || {
        nnlab_experiments::image_classification::run(
            "cnn_classifier",
            "Train an image classifier (the seed's CNN or a ResNet) and write a reproducible run folder with its evaluation report",
            None,
        )
    })
}
