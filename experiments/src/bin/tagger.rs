//! Sequence labelling with a BiLSTM (softmax or CRF output, optional
//! character features): part-of-speech tags of the Brown corpus (`--task
//! pos`), named entities in tweets (`--task ner`), or your own CoNLL files
//! (`--task conll TRAIN [--validation-file F] [--test-file F]`), with the
//! per-tag report, `seqeval`'s strict entity scores and a majority-tag
//! baseline (see `nnlab_experiments::tagger`).

fn main() -> std::process::ExitCode {
    nnlab_experiments::main_wrapper("tagger", || {
        nnlab_experiments::tagger::run("tagger", "Train a BiLSTM sequence tagger (POS, NER or your CoNLL files) and write its token and entity reports")
    })
}
