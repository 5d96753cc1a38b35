//! `sentiment` end to end on a small `--data-file` the test writes: both
//! models, the per-source scores, attention.html, byte-identical reruns, the
//! trained model put to work (`--run`), and one-line errors for bad files and
//! flags. The real VADER sentences are
//! checked in nnlab-data's tests.

mod common;

use common::one_line_error;
use std::path::Path;
use std::process::{Command, Output};

fn sentiment(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sentiment")).args(args).output().unwrap()
}

fn ok(o: &Output) -> String {
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// 300 rated sentences: praise and complaints about a few things.
fn write_data(path: &Path) {
    let things = ["film", "phone", "hotel", "meal", "book"];
    let good = ["I loved this {}, truly great", "What a wonderful {}!", "The {} was excellent and fun"];
    let bad = ["I hated this {}, truly awful", "What a terrible {}!", "The {} was boring and bad"];
    let mut out = String::new();
    for i in 0..300 {
        let thing = things[i % 5];
        let (pattern, rating) = if i % 2 == 0 { (good[i % 3], 2.5) } else { (bad[i % 3], -2.0) };
        out += &format!("{rating}\t{}\n", pattern.replace("{}", thing));
    }
    out += "0\ta neutral line that is dropped\n";
    std::fs::write(path, out).unwrap();
}

const SMALL: [&str; 14] = [
    "--epochs",
    "4",
    "--quiet",
    "--threads=1",
    "--set",
    "hidden=8",
    "--set",
    "attention=8",
    "--set",
    "word_embedding=8",
    "--set",
    "baseline_epochs=3",
    "--set",
    "learning_rate=0.01",
];

#[test]
fn both_models_train_score_and_draw_attention_reproducibly() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("rated.tsv");
    write_data(&data);
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    for out in [&a, &b] {
        ok(&sentiment(&[&SMALL[..], &["--data-file", data.to_str().unwrap(), "--out", out.to_str().unwrap()]].concat()));
    }
    for f in ["metrics.csv", "predictions.csv", "scores.md", "attention.html", "model.safetensors"] {
        assert_eq!(std::fs::read(a.join(f)).unwrap(), std::fs::read(b.join(f)).unwrap(), "{f}");
    }
    let m = std::fs::read_to_string(a.join("metrics.csv")).unwrap();
    assert!(m.starts_with("epoch,train_loss,validation_accuracy,validation_f1,learning_rate\n") && m.lines().count() == 5, "{m}");
    let s: serde_json::Value = serde_json::from_slice(&std::fs::read(a.join("summary.json")).unwrap()).unwrap();
    assert_eq!((s["train_sentences"].as_u64(), s["validation_sentences"].as_u64(), s["test_sentences"].as_u64()), (Some(180), Some(60), Some(60)));
    for key in ["test_f1", "test_accuracy", "baseline_test_f1"] {
        assert!(s[key].as_f64().unwrap() > 0.9, "{key}: {s}");
    }
    assert_eq!(s["per_source"]["file"]["support"], 60, "{s}");
    let html = std::fs::read_to_string(a.join("attention.html")).unwrap();
    assert!(html.matches("<span class=\"w\"").count() >= 20 && html.contains("predicted"), "{html}");
    let scores = std::fs::read_to_string(a.join("scores.md")).unwrap();
    assert!(scores.contains("| **all** | 60 |"), "{scores}");

    // The trained model put to work on new sentences (`--run RUN_DIR FILE`).
    let new = tmp.path().join("new.txt");
    std::fs::write(&new, "What a wonderful hotel!\n\nI hated this meal, truly awful\n").unwrap();
    let printed = ok(&sentiment(&["--run", a.to_str().unwrap(), new.to_str().unwrap()]));
    let verdicts: Vec<(f64, &str)> = printed
        .lines()
        .filter(|l| !l.starts_with('\t'))
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            (f[0].parse().unwrap(), f[1])
        })
        .collect();
    assert_eq!(verdicts.len(), 2, "{printed}");
    assert!(verdicts[0].0 > 0.5 && verdicts[0].1 == "positive" && verdicts[1].0 < 0.5 && verdicts[1].1 == "negative", "{printed}");
    assert_eq!(printed.matches("\tattended to: ").count(), 2, "{printed}");
    let empty = tmp.path().join("empty.txt");
    std::fs::write(&empty, "\n \n").unwrap();
    one_line_error(&sentiment(&["--run", a.to_str().unwrap(), empty.to_str().unwrap()]), &["empty.txt", "no sentences"]);
    // Training flags with --run are refused, not ignored.
    for extra in [&["--epochs", "3"][..], &["--set", "hidden=8"], &["--seed", "4"]] {
        let o = sentiment(&[&["--run", a.to_str().unwrap(), new.to_str().unwrap()][..], extra].concat());
        assert_eq!(o.status.code(), Some(2), "{extra:?}: {}", String::from_utf8_lossy(&o.stderr));
        assert!(String::from_utf8_lossy(&o.stderr).contains("cannot be used with"), "{extra:?}");
    }
    std::fs::remove_file(b.join("model.safetensors")).unwrap();
    one_line_error(&sentiment(&["--run", b.to_str().unwrap(), new.to_str().unwrap()]), &["model.safetensors"]);
}

#[test]
fn bad_data_and_flags_are_one_line_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let o = out.to_str().unwrap();
    one_line_error(&sentiment(&["--data-file", "/nonexistent/rated.tsv", "--out", o]), &["/nonexistent/rated.tsv"]);
    let bad = tmp.path().join("bad.tsv");
    std::fs::write(&bad, "2.0\tgood\nlots\tof words\n").unwrap();
    one_line_error(&sentiment(&["--data-file", bad.to_str().unwrap(), "--out", o]), &["bad.tsv:2", "not a finite number"]);
    std::fs::write(&bad, "2.0\tgood\nnan\tof words\n").unwrap();
    one_line_error(&sentiment(&["--data-file", bad.to_str().unwrap(), "--out", o]), &["bad.tsv:2", "\"nan\" is not a finite number"]);
    let happy = tmp.path().join("happy.tsv");
    std::fs::write(&happy, "1.5\tnice\n".repeat(20)).unwrap();
    one_line_error(&sentiment(&["--data-file", happy.to_str().unwrap(), "--out", o]), &["happy.tsv", "positive and negative"]);
    let data = tmp.path().join("rated.tsv");
    write_data(&data);
    one_line_error(&sentiment(&["--data-file", data.to_str().unwrap(), "--set", "baseline_ngrams=5", "--out", o]), &["baseline_ngrams"]);
    assert!(!out.exists(), "nothing is written for refused input");
}
