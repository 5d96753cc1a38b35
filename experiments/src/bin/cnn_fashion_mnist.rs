//! The seed's CNN on Fashion-MNIST with its recipe unchanged
//! (`experiments/configs/cnn/fashion-mnist-seed.toml`): `cnn_classifier
//! --dataset fashion-mnist`, as `dqn_cartpole` is `train --algo dqn --env
//! CartPole-v1`. `--model resnet` starts from the ResNet preset instead.

fn main() -> std::process::ExitCode {
    nnlab_experiments::main_wrapper("cnn_fashion_mnist", || {
        nnlab_experiments::image_classification::run(
            "cnn_fashion_mnist",
            "Train the seed's CNN on Fashion-MNIST (its recipe unchanged) and write a reproducible run folder with its evaluation report",
            Some(nnlab_data::ImageDataset::FashionMnist),
        )
    })
}
