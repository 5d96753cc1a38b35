//! `tagger` end to end on CoNLL files the test writes: the run folder and
//! its reports (per tag, entity level, predictions.conll), byte-identical
//! reruns, the majority baseline, softmax and CRF outputs, and one-line
//! errors for bad files. The real corpora are checked in nnlab-data's tests.

mod common;

use common::one_line_error;
use std::path::Path;
use std::process::{Command, Output};

fn tagger(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tagger")).args(args).output().unwrap()
}

fn ok(o: &Output) -> String {
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// 100 short sentences in CoNLL-2003's four-column layout (token, POS, chunk, NER).
fn write_conll(path: &Path) {
    let people = ["Alice", "Bob", "Carol", "Dave"];
    let places = ["Paris", "Berlin", "New York", "Rome"];
    let mut out = String::from("-DOCSTART- -X- -X- O\n\n");
    for i in 0..100 {
        let who = people[i % 4];
        let place = places[(i / 4) % 4];
        out += &format!("{who} NNP B-NP B-PER\nflew VBD B-VP O\nto TO B-PP O\n");
        for (k, w) in place.split(' ').enumerate() {
            out += &format!("{w} NNP I-NP {}-LOC\n", if k == 0 { "B" } else { "I" });
        }
        out += ". . O O\n\n";
    }
    std::fs::write(path, out).unwrap();
}

fn small(extra: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = ["--task", "conll", "--epochs", "6", "--quiet", "--threads=1"].map(String::from).to_vec();
    for kv in ["hidden=16", "word_embedding=16", "char_filters=8", "char_embedding=8", "batch_size=8", "learning_rate=0.01"] {
        v.extend(["--set".to_string(), kv.to_string()]);
    }
    v.extend(extra.iter().map(|s| s.to_string()));
    v
}

fn run(args: &[String]) -> Output {
    tagger(&args.iter().map(String::as_str).collect::<Vec<_>>())
}

#[test]
fn a_bilstm_crf_tags_entities_and_writes_its_reports() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("train.conll");
    write_conll(&file);
    let f = file.to_str().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    ok(&run(&small(&[f, "--out", a.to_str().unwrap()])));
    ok(&run(&small(&[f, "--out", b.to_str().unwrap()])));
    for name in ["metrics.csv", "predictions.conll", "entity_report.txt", "classification_report.txt", "model.safetensors"] {
        assert_eq!(std::fs::read(a.join(name)).unwrap(), std::fs::read(b.join(name)).unwrap(), "{name}");
    }
    let m = std::fs::read_to_string(a.join("metrics.csv")).unwrap();
    assert!(m.starts_with("epoch,train_loss,validation_token_accuracy,validation_entity_f1\n") && m.lines().count() == 7, "{m}");
    let s: serde_json::Value = serde_json::from_slice(&std::fs::read(a.join("summary.json")).unwrap()).unwrap();
    assert_eq!((s["train_sentences"].as_u64(), s["validation_sentences"].as_u64(), s["test_sentences"].as_u64()), (Some(60), Some(20), Some(20)));
    assert!(s["token_accuracy"].as_f64().unwrap() > 0.95 && s["entity_f1_micro"].as_f64().unwrap() > 0.9, "{s}");
    // Every test word was seen in training with its one tag: the baseline is perfect too.
    assert_eq!(s["baseline_token_accuracy"].as_f64(), Some(1.0), "{s}");
    let conll = std::fs::read_to_string(a.join("predictions.conll")).unwrap();
    let first: Vec<&str> = conll.lines().next().unwrap().split('\t').collect();
    assert_eq!(first.len(), 3, "token, gold, predicted: {conll}");
    assert_eq!(conll.split("\n\n").filter(|s| !s.trim().is_empty()).count(), 20);
    let entity = std::fs::read_to_string(a.join("entity_report.txt")).unwrap();
    assert!(entity.contains("LOC") && entity.contains("PER") && entity.contains("micro avg"), "{entity}");
    let per_tag: serde_json::Value = serde_json::from_slice(&std::fs::read(a.join("report.json")).unwrap()).unwrap();
    assert!(per_tag.get("B-LOC").is_some() && per_tag.get("accuracy").is_some(), "{per_tag}");

    // The trained model put to work on new text.
    let text = tmp.path().join("new.txt");
    std::fs::write(&text, "Carol flew to New York .\n\nDave flew to Paris .\n").unwrap();
    let tagged = ok(&tagger(&["--run", a.to_str().unwrap(), text.to_str().unwrap()]));
    let sentences: Vec<Vec<(&str, &str)>> =
        tagged.split("\n\n").filter(|s| !s.trim().is_empty()).map(|s| s.lines().map(|l| l.split_once('\t').unwrap()).collect()).collect();
    assert_eq!(sentences.len(), 2, "{tagged}");
    assert_eq!(sentences[0], [("Carol", "B-PER"), ("flew", "O"), ("to", "O"), ("New", "B-LOC"), ("York", "I-LOC"), (".", "O")], "{tagged}");
    assert_eq!(sentences[1][3], ("Paris", "B-LOC"), "{tagged}");
    one_line_error(&tagger(&["--run", tmp.path().to_str().unwrap(), text.to_str().unwrap()]), &["config.toml"]);
    let empty = tmp.path().join("empty.txt");
    std::fs::write(&empty, "\n \n").unwrap();
    one_line_error(&tagger(&["--run", a.to_str().unwrap(), empty.to_str().unwrap()]), &["empty.txt", "no sentences"]);
    // Training flags with --run are refused, not ignored.
    for extra in [&["--epochs", "3"][..], &["--set", "hidden=8"], &["--out", "x"], &["--checkpoint-every", "1"]] {
        let o = tagger(&[&["--run", a.to_str().unwrap(), text.to_str().unwrap()][..], extra].concat());
        assert_eq!(o.status.code(), Some(2), "{extra:?}: {}", String::from_utf8_lossy(&o.stderr));
        assert!(String::from_utf8_lossy(&o.stderr).contains("cannot be used with"), "{extra:?}");
    }
}

#[test]
fn separate_files_a_tag_column_and_softmax_output() {
    let tmp = tempfile::tempdir().unwrap();
    let (train, test) = (tmp.path().join("train.conll"), tmp.path().join("test.conll"));
    write_conll(&train);
    write_conll(&test);
    let out = tmp.path().join("pos");
    // Column 2 holds POS tags: not BIO, so no entity report.
    let args = small(&[
        train.to_str().unwrap(),
        "--test-file",
        test.to_str().unwrap(),
        "--tag-column",
        "2",
        "--set",
        "output=\"softmax\"",
        "--out",
        out.to_str().unwrap(),
    ]);
    ok(&run(&args));
    let s: serde_json::Value = serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!((s["test_sentences"].as_u64(), s["tags"].as_u64()), (Some(100), Some(4)), "{s}");
    assert!(s["entity_f1_micro"].is_null() && !out.join("entity_report.txt").exists());
    assert!(s["token_accuracy"].as_f64().unwrap() > 0.9, "{s}");
}

#[test]
fn bad_conll_files_are_one_line_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let o = out.to_str().unwrap();
    let empty = tmp.path().join("empty.conll");
    std::fs::write(&empty, "\n\n").unwrap();
    one_line_error(&run(&small(&[empty.to_str().unwrap(), "--out", o])), &["empty.conll", "no sentences"]);
    let ragged = tmp.path().join("ragged.conll");
    std::fs::write(&ragged, "EU NNP B-ORG\nrejects VBZ\n").unwrap();
    one_line_error(&run(&small(&[ragged.to_str().unwrap(), "--out", o])), &["ragged.conll:2", "2 columns"]);
    let good = tmp.path().join("good.conll");
    write_conll(&good);
    one_line_error(&run(&small(&[good.to_str().unwrap(), "--tag-column", "7", "--out", o])), &["tag column 7"]);
    one_line_error(&run(&small(&["/nonexistent/train.conll", "--out", o])), &["/nonexistent/train.conll"]);
    one_line_error(&tagger(&["--task", "conll", "--out", o]), &["needs a CoNLL FILE"]);
    one_line_error(&run(&small(&[good.to_str().unwrap(), "--set", "dropout=1.5", "--out", o])), &["dropout"]);
    assert!(!out.exists(), "nothing is written for refused input");
}
