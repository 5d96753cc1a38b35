//! Sentence sentiment on VADER's human-rated sentences (or your own
//! `--data-file`): a BiLSTM with attention pooling against a bag-of-n-grams
//! logistic regression, scored per source, with the attention drawn over
//! test sentences (see `nnlab_experiments::sentiment`).

fn main() -> std::process::ExitCode {
    nnlab_experiments::main_wrapper("sentiment", || {
        nnlab_experiments::sentiment::run(
            "sentiment",
            "Train a BiLSTM with attention and a bag-of-words baseline on rated sentences and compare them per source",
        )
    })
}
