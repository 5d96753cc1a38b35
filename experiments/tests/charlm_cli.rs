//! `charlm` end to end on a small corpus the test writes (`--text-dir`): the
//! run folder of each model, byte-identical reruns, TensorBoard, sampling
//! from a trained run, `--seeds` with `report`, and one-line errors for bad
//! corpora, prompts and sampling flags. The real Shakespeare corpus is
//! checked in nnlab-data's tests; resuming in `resume_cli.rs`.

mod common;

use common::one_line_error;
use std::path::Path;
use std::process::{Command, Output};

fn charlm(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_charlm")).args(args).output().unwrap()
}

fn ok(o: &Output) -> String {
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// A tiny corpus with an obvious pattern: a short verse repeated.
pub fn write_corpus(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    let verse = "the cat sat on the mat.\nthe dog sat on the log.\n";
    std::fs::write(dir.join("train.txt"), verse.repeat(60)).unwrap();
    std::fs::write(dir.join("validation.txt"), verse.repeat(6)).unwrap();
    std::fs::write(dir.join("test.txt"), verse.repeat(6) + "zebra!").unwrap();
}

/// A small model and budget for `model`: `iterations` steps.
fn small(model: &str, iterations: u64) -> Vec<String> {
    let iterations = iterations.to_string();
    let mut a: Vec<String> = ["--model", model, "--iterations", &iterations, "--quiet", "--threads=1", "--log-every", "10"].map(String::from).to_vec();
    for kv in [
        "context=16",
        "batch_size=8",
        "learning_rate=0.01",
        "warmup_iterations=5",
        "eval_interval=20",
        "eval_batches=2",
        "embedding=16",
        "hidden=32",
        "d_model=32",
        "heads=2",
        "layers=1",
        "sample_length=24",
        "sample_prompt=\"the \"",
    ] {
        a.push("--set".into());
        a.push(kv.into());
    }
    a
}

fn summary(run: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(run.join("summary.json")).unwrap()).unwrap()
}

#[test]
fn the_transformer_trains_scores_draws_and_samples_reproducibly() {
    let tmp = tempfile::tempdir().unwrap();
    let text = tmp.path().join("text");
    write_corpus(&text);
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    let args = small("transformer", 60);
    let run = |out: &Path| {
        let mut v: Vec<&str> = args.iter().map(String::as_str).collect();
        v.extend(["--text-dir", text.to_str().unwrap(), "--out", out.to_str().unwrap()]);
        ok(&charlm(&v))
    };
    run(&a);
    run(&b);
    let m = std::fs::read_to_string(a.join("metrics.csv")).unwrap();
    assert_eq!(m, std::fs::read_to_string(b.join("metrics.csv")).unwrap());
    assert!(m.starts_with("iteration,train_loss,validation_loss,learning_rate\n20,") && m.lines().count() == 4, "{m}");
    for f in ["steps.csv", "samples.txt", "vocabulary.txt", "model.safetensors"] {
        assert_eq!(std::fs::read(a.join(f)).unwrap(), std::fs::read(b.join(f)).unwrap(), "{f}");
    }
    for f in ["losses.png", "attention.png"] {
        assert!(a.join(f).exists(), "{f}");
    }
    // TensorBoard has every metrics.csv column, and the speed that metrics.csv leaves out.
    let tb = common::read_with_tensorboard(&a);
    common::assert_scalars_match_csv(&a, &tb);
    assert!(tb["scalars"].as_object().unwrap().keys().any(|k| k.ends_with("train_chars_per_second")), "{tb}");
    let s = summary(&a);
    // 16 symbols: 4 bits/char for a uniform guess; the verse is nearly deterministic.
    assert_eq!(s["vocabulary_size"], 16, "{s}");
    let (test_bits, val_bits) = (s["test_bits_per_char"].as_f64().unwrap(), s["validation_bits_per_char"].as_f64().unwrap());
    assert!(val_bits < 1.5 && test_bits < 2.0 && test_bits > val_bits, "the test text ends with unseen characters: {s}");
    assert!((s["test_loss"].as_f64().unwrap() / std::f64::consts::LN_2 - test_bits).abs() < 1e-9);
    assert!(s["train_chars_per_second"].as_f64().unwrap() > 0.0 && s["parameters"].as_i64().unwrap() > 0, "{s}");
    assert_eq!(s["test_chars"], 6 * 48 + 6);
    let sample = std::fs::read_to_string(a.join("samples.txt")).unwrap();
    assert!(sample.starts_with("the ") && sample.chars().count() == 4 + 24, "{sample}");

    // Put to work: same seed, same text; the prompt and its continuation on stdout.
    let gen = |extra: &[&str]| ok(&charlm(&[&["--run", a.to_str().unwrap(), "--sample", "the c", "--length", "30"][..], extra].concat()));
    let one = gen(&[]);
    assert_eq!(one, gen(&[]));
    assert!(one.starts_with("the c") && one.trim_end_matches('\n').chars().count() == 35, "{one:?}");
    let greedy = gen(&["--top-k", "1", "--temperature", "0.5"]);
    assert!(greedy.starts_with("the cat sat on the "), "a learned verse continues greedily: {greedy:?}");
    // Training flags have no meaning when a trained model is put to work: refused, not ignored.
    for extra in [&["--iterations", "5"][..], &["--set", "lr=0.1"], &["--model", "gru"], &["--out", "x"]] {
        let o = charlm(&[&["--run", a.to_str().unwrap(), "--sample", "the c"][..], extra].concat());
        assert_eq!(o.status.code(), Some(2), "{extra:?}: {}", String::from_utf8_lossy(&o.stderr));
        assert!(String::from_utf8_lossy(&o.stderr).contains("cannot be used with"), "{extra:?}");
    }
}

#[test]
fn recurrent_models_learn_the_verse() {
    let tmp = tempfile::tempdir().unwrap();
    let text = tmp.path().join("text");
    write_corpus(&text);
    for model in ["rnn", "lstm", "gru"] {
        let out = tmp.path().join(model);
        let args = small(model, 60);
        let mut v: Vec<&str> = args.iter().map(String::as_str).collect();
        v.extend(["--text-dir", text.to_str().unwrap(), "--out", out.to_str().unwrap()]);
        ok(&charlm(&v));
        let s = summary(&out);
        assert_eq!(s["model"], model);
        assert!(s["validation_bits_per_char"].as_f64().unwrap() < 2.0, "{model}: {s}");
        assert!(!out.join("attention.png").exists(), "attention is drawn for the transformer only");
    }
}

#[test]
fn seeds_and_report_rank_by_bits_per_char() {
    let tmp = tempfile::tempdir().unwrap();
    let text = tmp.path().join("text");
    write_corpus(&text);
    let out = tmp.path().join("sweep");
    let args = small("gru", 20);
    let mut v: Vec<&str> = args.iter().map(String::as_str).collect();
    v.extend(["--text-dir", text.to_str().unwrap(), "--seeds", "1-2", "--out", out.to_str().unwrap()]);
    ok(&charlm(&v));
    let seeds: serde_json::Value = serde_json::from_slice(&std::fs::read(out.join("seeds_summary.json")).unwrap()).unwrap();
    assert!(seeds.to_string().contains("test_bits_per_char"), "{seeds}");
    let o = Command::new(env!("CARGO_BIN_EXE_report")).arg(&out).output().unwrap();
    ok(&o);
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(md.contains("test_bits_per_char"), "{md}");
}

#[test]
fn bad_corpora_prompts_and_flags_are_one_line_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let text = tmp.path().join("text");
    write_corpus(&text);
    let t = text.to_str().unwrap();
    let out = tmp.path().join("out");
    let o = out.to_str().unwrap();
    // A missing corpus folder, a corpus file that is not UTF-8, an empty one.
    one_line_error(&charlm(&["--text-dir", "/nonexistent/corpus", "--out", o]), &["/nonexistent/corpus/train.txt"]);
    let bad = tmp.path().join("bad");
    write_corpus(&bad);
    std::fs::write(bad.join("test.txt"), [b'a', 0xff, b'b']).unwrap();
    one_line_error(&charlm(&["--text-dir", bad.to_str().unwrap(), "--out", o]), &["test.txt", "UTF-8"]);
    std::fs::write(bad.join("test.txt"), "").unwrap();
    one_line_error(&charlm(&["--text-dir", bad.to_str().unwrap(), "--out", o]), &["test.txt", "two characters"]);
    // Keys out of range, a prompt the corpus cannot spell, a context longer than the text.
    one_line_error(&charlm(&["--text-dir", t, "--model", "transformer", "--set", "heads=3", "--out", o]), &["heads"]);
    one_line_error(&charlm(&["--text-dir", t, "--set", "sample_temperature=0", "--out", o]), &["sample_temperature"]);
    one_line_error(&charlm(&["--text-dir", t, "--set", "sample_prompt=\"ROMEO:\"", "--out", o]), &["sample_prompt", "'R'", "'O'"]);
    one_line_error(&charlm(&["--text-dir", t, "--set", "context=5000", "--out", o]), &["context"]);
    assert!(!out.exists(), "nothing is written for refused input");

    // Sampling: a finished run, then bad prompts and flags.
    let run = tmp.path().join("run");
    let mut v: Vec<String> = small("lstm", 10);
    v.extend(["--text-dir", t, "--out", run.to_str().unwrap()].map(String::from));
    ok(&charlm(&v.iter().map(String::as_str).collect::<Vec<_>>()));
    let r = run.to_str().unwrap();
    one_line_error(&charlm(&["--run", r, "--sample", "the Zoo"]), &["outside the model's vocabulary", "'Z'"]);
    one_line_error(&charlm(&["--run", r, "--sample", "the", "--temperature", "0"]), &["--temperature"]);
    one_line_error(&charlm(&["--run", r, "--sample", "the", "--length", "0"]), &["--length"]);
    one_line_error(&charlm(&["--run", r, "--sample", ""]), &["--sample"]);
    one_line_error(&charlm(&["--run", tmp.path().to_str().unwrap(), "--sample", "the"]), &["config.toml"]);
}
