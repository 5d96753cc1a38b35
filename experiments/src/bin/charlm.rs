//! Character-level language models: the seed's RNN, an LSTM, a GRU or a
//! causal transformer (`--model`, `--quality` for the larger presets) on
//! Shakespeare's plays or your own `--text-dir` (train.txt, validation.txt,
//! test.txt), reporting bits per character over every character of the
//! validation and test texts; `charlm --run RUN_DIR --sample "ROMEO:"`
//! generates text with a trained model (see `nnlab_experiments::charlm`).

fn main() -> std::process::ExitCode {
    nnlab_experiments::main_wrapper("charlm", || {
        nnlab_experiments::charlm::run(
            "charlm",
            "Train a character-level language model (RNN, LSTM, GRU or transformer), report bits per character, and generate text",
            false,
        )
    })
}
