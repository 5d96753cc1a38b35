//! `intent` and `assistant` end to end on the committed corpora with small
//! models: the run folder's files, byte-identical reruns (with dropout), the
//! out-of-scope threshold on CLINC150, the assistant answering the test
//! queries in batch mode exactly as the trainer's `predictions.csv` did, and
//! one-line answers or errors for bad input.

mod common;

use common::one_line_error;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

fn intent(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_intent")).args(args).output().unwrap()
}

fn assistant(args: &[&str], stdin: &[u8]) -> Output {
    let mut child =
        Command::new(env!("CARGO_BIN_EXE_assistant")).args(args).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    child.wait_with_output().unwrap()
}

fn ok(o: &Output) -> String {
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn read_csv(path: &Path) -> Vec<Vec<String>> {
    let mut r = csv::Reader::from_path(path).unwrap();
    r.records().map(|row| row.unwrap().iter().map(str::to_string).collect()).collect()
}

#[test]
fn a_small_bilstm_on_banking77_reruns_byte_for_byte() {
    let tmp = tempfile::tempdir().unwrap();
    let small = ["--model", "bilstm", "--epochs", "1", "--quiet", "--threads=1", "--set", "hidden=8", "--set", "attention=4", "--set", "word_embedding=8"];
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    for out in [&a, &b] {
        ok(&intent(&[&small[..], &["--out", out.to_str().unwrap()]].concat()));
    }
    for file in ["metrics.csv", "predictions.csv", "classification_report.txt", "report.json", "vocabulary.json"] {
        assert_eq!(std::fs::read(a.join(file)).unwrap(), std::fs::read(b.join(file)).unwrap(), "{file} differs between two runs of one seed");
    }
    for file in ["config.toml", "confusions.png", "curves.png", "model.safetensors", "summary.json"] {
        assert!(a.join(file).is_file(), "{file} is missing");
    }
    let rows = read_csv(&a.join("predictions.csv"));
    assert_eq!(rows.len(), 3_080);
    let summary: serde_json::Value = serde_json::from_slice(&std::fs::read(a.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["classes"].as_array().unwrap().len(), 77);
    assert!(summary["oos"].is_null());
    // The report's accuracy is the share of rows whose predicted intent is their label.
    let right = rows.iter().filter(|r| r[1] == r[2]).count() as f64 / rows.len() as f64;
    assert!((summary["test_accuracy"].as_f64().unwrap() - right).abs() < 1e-12);
}

#[test]
fn the_assistant_answers_clinc150_test_queries_as_the_trainer_did_and_refuses_bad_lines_in_one_line() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("bow");
    ok(&intent(&["--dataset", "clinc150", "--model", "bow", "--epochs", "2", "--quiet", "--threads=1", "--out", run.to_str().unwrap()]));
    let summary: serde_json::Value = serde_json::from_slice(&std::fs::read(run.join("summary.json")).unwrap()).unwrap();
    let oos = &summary["oos"];
    assert!(oos["threshold"].as_f64().unwrap() > 0.0 && oos["oos_recall"].as_f64().unwrap() > 0.0, "{summary}");
    assert_eq!(summary["classes"].as_array().unwrap().last().unwrap(), "oos");

    // Batch mode over the test queries (4,500 in scope, 1,000 out of scope) gives the trainer's answers.
    let rows = read_csv(&run.join("predictions.csv"));
    assert_eq!(rows.len(), 5_500);
    let queries = tmp.path().join("queries.txt");
    std::fs::write(&queries, rows.iter().map(|r| format!("{}\n", r[0])).collect::<String>()).unwrap();
    let out = ok(&assistant(&["--run", run.to_str().unwrap(), "--file", queries.to_str().unwrap(), "--json"], b""));
    let replies: Vec<serde_json::Value> = out.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(replies.len(), rows.len());
    let differ = rows.iter().zip(&replies).filter(|(row, reply)| reply["intent"].as_str() != Some(row[2].as_str())).count();
    assert_eq!(differ, 0, "{differ} of {} answers differ from predictions.csv", rows.len());
    let fallback = replies.iter().find(|r| r["intent"] == "oos").expect("some query is out of scope");
    assert_eq!(fallback["suggestions"].as_array().unwrap().len(), 3);

    // Standard input, not a terminal: bad lines get a one-line answer, the session goes on.
    let mut input = b"\n".to_vec();
    input.extend(vec![b'a'; 100_000]);
    input.extend(b"\n\x00\xff\xfe binary\nplease transfer $50 to my savings\n");
    let out = ok(&assistant(&["--run", run.to_str().unwrap()], &input));
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 4, "{out}");
    assert!(lines[0].contains("Please type a question"), "{out}");
    assert!(lines[1].contains("too long"), "{out}");
    assert!(lines[2].contains("only read text"), "{out}");
    assert!(lines[3].contains("[transfer") && lines[3].contains("$50"), "{out}");

    // A run folder of another family, a missing one, a bad threshold.
    std::fs::write(tmp.path().join("summary.json"), "{\"test_f1\": 0.9}").unwrap();
    one_line_error(&assistant(&["--run", tmp.path().to_str().unwrap()], b""), &["not an intent summary"]);
    one_line_error(&assistant(&["--run", "/nonexistent"], b""), &["finished intent run folder"]);
    assert_eq!(assistant(&["--run", run.to_str().unwrap(), "--threshold", "1.5"], b"").status.code(), Some(2));
}

#[test]
fn bad_intent_flags_and_configs_are_refused_before_any_run_folder() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("run");
    one_line_error(&intent(&["--set", "oos_class=true", "--out", out.to_str().unwrap()]), &["oos_class", "banking77"]);
    one_line_error(&intent(&["--model", "transformer", "--set", "heads=3", "--out", out.to_str().unwrap()]), &["divisible"]);
    assert!(!out.exists());
    assert_eq!(intent(&["--dataset", "atis"]).status.code(), Some(2));
}
