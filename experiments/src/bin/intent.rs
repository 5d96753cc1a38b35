//! Intent detection on Banking77 or CLINC150: a bag-of-n-grams baseline, a
//! BiLSTM or a transformer trained from scratch, with out-of-scope rejection
//! on CLINC150 (see `nnlab_experiments::intent`). `assistant --run RUN_DIR`
//! answers queries with the trained model.

fn main() -> std::process::ExitCode {
    nnlab_experiments::main_wrapper("intent", || {
        nnlab_experiments::intent::run(
            "intent",
            "Train an intent classifier (bag of n-grams, BiLSTM or transformer) on Banking77 or CLINC150, with out-of-scope rejection on CLINC150",
        )
    })
}
