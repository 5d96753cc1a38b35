//! `cnn_classifier`, `cnn_fashion_mnist` and `classify` end to end on small
//! data sets written by the test (MNIST-format IDX files and CIFAR-10 binary
//! files): the run folder and its report, byte-identical reruns, the classifier put to work on PNG and IDX files, and one-line
//! errors for bad data. Resuming is tested in `resume_cli.rs`.

mod common;

use common::one_line_error;

use common::write_data;
use nnlab_generative::data::idx::encode_idx;
use std::path::Path;
use std::process::{Command, Output};

fn cnn(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cnn_classifier")).args(args).output().unwrap()
}

fn classify(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_classify")).args(args).output().unwrap()
}

fn ok(o: &Output) -> String {
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

const SMALL: [&str; 12] =
    ["--set", "learning_rate=0.03", "--set", "validation_size=64", "--set", "batch_size=32", "--epochs", "2", "--quiet", "--threads=1", "--log-every", "4"];

#[test]
fn trains_reports_reproduces_and_classifies() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    write_data(&data, 320, 100);
    let d = data.to_str().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    let run = |out: &Path| ok(&cnn(&[&["--dataset", "mnist-idx", "--data-dir", d, "--out", out.to_str().unwrap()][..], &SMALL].concat()));
    run(&a);
    run(&b);
    let m = std::fs::read_to_string(a.join("metrics.csv")).unwrap();
    assert_eq!(m, std::fs::read_to_string(b.join("metrics.csv")).unwrap());
    assert!(m.starts_with("epoch,train_loss,train_accuracy,validation_loss,validation_accuracy,learning_rate\n") && m.lines().count() == 3, "{m}");
    for f in [
        "predictions.csv",
        "classification_report.txt",
        "report.json",
        "confusion_matrix.png",
        "misclassified.png",
        "model.safetensors",
        "summary.json",
        "accuracy.png",
    ] {
        assert!(a.join(f).exists(), "{f}");
    }
    assert_eq!(std::fs::read(a.join("predictions.csv")).unwrap(), std::fs::read(b.join("predictions.csv")).unwrap());
    // TensorBoard has every metrics.csv column, and the seconds per epoch that metrics.csv leaves out.
    let tb = common::read_with_tensorboard(&a);
    common::assert_scalars_match_csv(&a, &tb);
    assert_eq!(tb["scalars"].as_object().unwrap().keys().filter(|k| k.ends_with("epoch_seconds")).count(), 1, "{tb}");
    let s: serde_json::Value = serde_json::from_slice(&std::fs::read(a.join("summary.json")).unwrap()).unwrap();
    // Two easy classes (bright left or right half): the seed CNN learns them.
    assert!(s["test_accuracy"].as_f64().unwrap() > 0.9, "{s}");
    assert!(s["best_validation_accuracy"].as_f64().unwrap() > 0.9 && s["epoch_time_s"].as_f64().unwrap() > 0.0 && s["epochs"] == 2, "{s}");
    assert_eq!((s["train_images"].as_u64(), s["validation_images"].as_u64(), s["test_images"].as_u64()), (Some(256), Some(64), Some(100)));

    // predictions.csv and report.json tell the same story.
    let preds = std::fs::read_to_string(a.join("predictions.csv")).unwrap();
    let mut lines = preds.lines();
    assert_eq!(lines.next().unwrap(), "index,label,predicted,top1_class,top1_probability,top2_class,top2_probability,top3_class,top3_probability");
    let rows: Vec<Vec<String>> = lines.map(|l| l.split(',').map(String::from).collect()).collect();
    assert_eq!(rows.len(), 100);
    let correct = rows.iter().filter(|r| r[1] == r[2]).count();
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(a.join("report.json")).unwrap()).unwrap();
    assert_eq!(report["accuracy"].as_f64().unwrap(), correct as f64 / 100.0);
    assert_eq!(report["0"]["support"], 50);
    let text = std::fs::read_to_string(a.join("classification_report.txt")).unwrap();
    assert!(text.starts_with("              precision    recall  f1-score   support\n\n") && text.contains("weighted avg"), "{text}");

    // classify: the test IDX file and a PNG of one of its images agree with predictions.csv.
    let test_images = data.join("t10k-images-idx3-ubyte");
    let out = ok(&classify(&["--run", a.to_str().unwrap(), test_images.to_str().unwrap()]));
    let first = out.lines().next().unwrap();
    let top1 = &rows[0][3];
    assert!(first.contains("[0]: ") && first.split(": ").nth(1).unwrap().starts_with(&format!("{top1} ")), "{first} vs {top1}");
    let png = tmp.path().join("first.png");
    let idx = nnlab_generative::data::read_idx(&test_images).unwrap();
    image::GrayImage::from_raw(28, 28, idx.data[..784].to_vec()).unwrap().save(&png).unwrap();
    let out = ok(&classify(&["--run", a.to_str().unwrap(), png.to_str().unwrap()]));
    assert!(out.contains(&format!("first.png: {top1} ")), "{out}");
    // A picture of the wrong size or channel count says what the model expects.
    let rgb = tmp.path().join("rgb.png");
    image::RgbImage::new(28, 28).save(&rgb).unwrap();
    one_line_error(&classify(&["--run", a.to_str().unwrap(), rgb.to_str().unwrap()]), &["rgb.png", "3 channel", "28x28 greyscale"]);
    let small = tmp.path().join("small.png");
    image::GrayImage::new(20, 20).save(&small).unwrap();
    one_line_error(&classify(&["--run", a.to_str().unwrap(), small.to_str().unwrap()]), &["small.png", "20x20", "expects 28x28"]);
    // An endless input is refused after its first 256 MiB, not read into memory.
    one_line_error(&classify(&["--run", a.to_str().unwrap(), "/dev/zero"]), &["/dev/zero", "larger than 256 MiB"]);
}

#[test]
fn cifar10_binary_files_train_the_seed_cnn_on_3x32x32() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("cifar");
    std::fs::create_dir(&dir).unwrap();
    let records =
        |n: usize| -> Vec<u8> { (0..n).flat_map(|i| std::iter::once((i % 10) as u8).chain((0..3072).map(move |p| ((p * 7 + i * 13) % 256) as u8))).collect() };
    std::fs::write(dir.join("data_batch_1.bin"), records(96)).unwrap();
    std::fs::write(dir.join("test_batch.bin"), records(20)).unwrap();
    let out = tmp.path().join("run");
    ok(&cnn(&[
        "--dataset",
        "cifar10-bin",
        "--data-dir",
        dir.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--set",
        "validation_size=16",
        "--set",
        "batch_size=16",
        "--epochs",
        "1",
        "--quiet",
    ]));
    let s: serde_json::Value = serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(s["image_shape"], serde_json::json!([3, 32, 32]));
    // 64x8x8 flattened: conv1 896 + conv2 18,496 + fc1 4,096*120+120 + fc2 10,164 + fc3 850.
    assert_eq!(s["parameters"], 896 + 18_496 + 4096 * 120 + 120 + 10_164 + 850);
    let report = std::fs::read_to_string(out.join("classification_report.txt")).unwrap();
    assert!(report.contains("airplane") && report.contains("truck"), "{report}");

    // A file that is not whole records is a one-line error naming it.
    std::fs::write(dir.join("test_batch.bin"), &records(2)[..5000]).unwrap();
    let bad = tmp.path().join("bad");
    one_line_error(
        &cnn(&["--dataset", "cifar10-bin", "--data-dir", dir.to_str().unwrap(), "--out", bad.to_str().unwrap(), "--quiet"]),
        &["test_batch.bin", "3073"],
    );
    assert!(!bad.exists());
}

#[test]
fn bad_data_and_bad_keys_are_one_line_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("run");
    let o = out.to_str().unwrap();
    // Wrong magic, truncated, label out of range: each names its file.
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("train-images-idx3-ubyte", vec![1, 2, 3, 4], "not an IDX file"),
        ("train-images-idx3-ubyte", encode_idx(&[10, 28, 28], &[0; 100]), "truncated"),
        ("train-labels-idx1-ubyte", encode_idx(&[200], &[12; 200]), "label 12"),
    ];
    for (file, bytes, needle) in cases {
        let data = tmp.path().join(format!("d-{needle}"));
        write_data(&data, 200, 40);
        std::fs::write(data.join(file), &bytes).unwrap();
        one_line_error(&cnn(&["--dataset", "mnist-idx", "--data-dir", data.to_str().unwrap(), "--out", o, "--quiet"]), &[needle, file]);
        assert!(!out.exists());
    }
    // Images of another size than the model expects: a model from a 28x28 run on 32x32 IDX files.
    let data = tmp.path().join("ok");
    write_data(&data, 200, 40);
    let d = data.to_str().unwrap();
    for (set, needle) in [
        ("validation_size=500", "validation_size"),
        ("label_smoothing=2", "label_smoothing"),
        ("optimizer=\"lion\"", "optimizer"),
        ("precision=\"bfloat16\"", "resnet model only"),
        ("channels_last=true", "resnet model only"),
    ] {
        one_line_error(&cnn(&["--dataset", "mnist-idx", "--data-dir", d, "--out", o, "--set", set, "--quiet"]), &[needle]);
    }
    one_line_error(&cnn(&["--dataset", "cifar10-bin", "--out", o, "--quiet"]), &["--data-dir"]);
    let run = tmp.path().join("trained");
    ok(&cnn(&["--dataset", "mnist-idx", "--data-dir", d, "--out", run.to_str().unwrap(), "--epochs", "1", "--set", "validation_size=40", "--quiet"]));
    let big = tmp.path().join("big-idx");
    std::fs::write(&big, encode_idx(&[2, 32, 32], &[0; 2048])).unwrap();
    one_line_error(&classify(&["--run", run.to_str().unwrap(), big.to_str().unwrap()]), &["big-idx", "32x32", "expects 28x28"]);
    let o2 = Command::new(env!("CARGO_BIN_EXE_cnn_fashion_mnist")).args(["--dataset", "cifar10-bin", "--out", o]).output().unwrap();
    one_line_error(&o2, &["cnn_classifier --dataset cifar10-bin"]);
}

#[test]
fn seeds_and_report_tabulate_the_test_accuracy() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    write_data(&data, 320, 100);
    let out = tmp.path().join("seeds");
    ok(&cnn(&[&["--dataset", "mnist-idx", "--data-dir", data.to_str().unwrap(), "--seeds", "1,2", "--out", out.to_str().unwrap()][..], &SMALL].concat()));
    let s: serde_json::Value = serde_json::from_slice(&std::fs::read(out.join("seeds_summary.json")).unwrap()).unwrap();
    assert!(s.to_string().contains("test_accuracy") && s.to_string().contains("best_validation_accuracy"), "{s}");
    ok(&Command::new(env!("CARGO_BIN_EXE_report")).arg(&out).output().unwrap());
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(md.contains("test_accuracy"), "{md}");
}
