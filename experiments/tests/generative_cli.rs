//! `vae_fashion_mnist` end to end on a small MNIST-format data set written by
//! the test: run folder, byte-identical metrics, and clear errors for bad data.

mod common;

use common::write_data;
use nnlab_generative::data::idx::encode_idx;
use std::path::Path;
use std::process::{Command, Output};

fn vae(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vae_fashion_mnist")).args(args).output().unwrap()
}

#[test]
fn trains_on_local_idx_files_and_reproduces() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    std::fs::create_dir(&data).unwrap();
    write_data(&data, 512, 128);
    let common = ["--epochs", "2", "--data-dir", data.to_str().unwrap(), "--set", "latent_dim=2", "--set", "hidden=32", "--set", "iw_samples=8", "--quiet"];
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    let oa = vae(&[&common[..], &["--out", a.to_str().unwrap()]].concat());
    assert!(oa.status.success(), "{}", String::from_utf8_lossy(&oa.stderr));
    assert!(vae(&[&common[..], &["--out", b.to_str().unwrap()]].concat()).status.success());
    let m = std::fs::read_to_string(a.join("metrics.csv")).unwrap();
    assert_eq!(m, std::fs::read_to_string(b.join("metrics.csv")).unwrap());
    assert!(m.starts_with("epoch,train_loss,test_loss,test_reconstruction,test_kl\n") && m.lines().count() == 3, "{m}");
    for f in ["summary.json", "losses.png", "reconstructions.png", "samples.png", "latent_space.png", "manifold.png", "model.safetensors", "config.toml"] {
        assert!(a.join(f).exists(), "{f}");
    }
    let s: serde_json::Value = serde_json::from_slice(&std::fs::read(a.join("summary.json")).unwrap()).unwrap();
    for key in ["test_loss", "test_nll_iw", "epoch_time_s"] {
        assert!(s[key].as_f64().unwrap() > 0.0, "{key}");
    }
    assert!(s["test_nll_iw"].as_f64().unwrap() <= s["test_loss"].as_f64().unwrap() + 1e-6);
}

#[test]
fn missing_or_corrupt_data_is_a_clear_error() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("run");
    let cases: Vec<(Vec<u8>, &str)> =
        vec![(vec![], "has no train-images"), (vec![1, 2, 3, 4], "not an IDX file"), (encode_idx(&[10, 28, 28], &[0; 100]), "truncated")];
    for (bytes, needle) in cases {
        let data = tempfile::tempdir().unwrap();
        if !bytes.is_empty() {
            std::fs::write(data.path().join("train-images-idx3-ubyte"), &bytes).unwrap();
            std::fs::write(data.path().join("train-labels-idx1-ubyte"), encode_idx(&[10], &[0; 10])).unwrap();
        }
        let o = vae(&["--data-dir", data.path().to_str().unwrap(), "--out", out.to_str().unwrap(), "--quiet"]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success() && !err.contains("panicked"), "{err}");
        assert_eq!(err.trim().lines().count(), 1, "{err}");
        assert!(err.contains(needle) && err.contains("--data-dir"), "'{err}' lacks '{needle}'");
        assert!(!out.exists());
    }
}

fn gan(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gan_mixture")).args(args).output().unwrap()
}

#[test]
fn gan_mixture_writes_scores_and_reproduces() {
    let tmp = tempfile::tempdir().unwrap();
    let common =
        ["--dataset", "grid", "--steps", "200", "--eval-every", "100", "--set", "g_hidden=32", "--set", "d_hidden=32", "--set", "eval_samples=500", "--quiet"];
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    let oa = gan(&[&common[..], &["--out", a.to_str().unwrap()]].concat());
    assert!(oa.status.success(), "{}", String::from_utf8_lossy(&oa.stderr));
    assert!(gan(&[&common[..], &["--out", b.to_str().unwrap()]].concat()).status.success());
    let m = std::fs::read_to_string(a.join("metrics.csv")).unwrap();
    assert_eq!(m, std::fs::read_to_string(b.join("metrics.csv")).unwrap());
    assert!(m.starts_with("step,d_loss,g_loss,modes_covered,high_quality_fraction,reverse_kl\n") && m.lines().count() == 3, "{m}");
    let s: serde_json::Value = serde_json::from_slice(&std::fs::read(a.join("summary.json")).unwrap()).unwrap();
    assert_eq!(s["modes_total"], 25);
    assert_eq!(s["variant"], "pacgan");
    for key in ["modes_covered", "high_quality_fraction"] {
        assert!(s[key].is_number(), "{key}");
    }
    assert!(a.join("samples.png").exists());
    let o = gan(&["--variant", "vanilla", "--set", "batch_size=0", "--out", tmp.path().join("c").to_str().unwrap()]);
    assert!(!o.status.success());
    assert_eq!(String::from_utf8_lossy(&o.stderr).trim().lines().count(), 1);
    assert!(!tmp.path().join("c").exists());
}

#[test]
fn gan_mixture_seeds_write_a_summary_with_medians() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("sweep");
    let o = gan(&[
        "--seeds",
        "1,2",
        "--steps",
        "50",
        "--eval-every",
        "50",
        "--set",
        "g_hidden=16",
        "--set",
        "d_hidden=16",
        "--set",
        "eval_samples=200",
        "--out",
        root.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let s: serde_json::Value = serde_json::from_slice(&std::fs::read(root.join("seeds_summary.json")).unwrap()).unwrap();
    assert_eq!(s["seeds"].as_array().unwrap().len(), 2);
    let per_seed: Vec<f64> = s["seeds"].as_array().unwrap().iter().map(|r| r["high_quality_fraction"].as_f64().unwrap()).collect();
    let median = s["stats"]["high_quality_fraction"]["median"].as_f64().unwrap();
    assert!((median - (per_seed[0] + per_seed[1]) / 2.0).abs() < 1e-12);
    assert!(root.join("seed-1/summary.json").exists() && root.join("seed-2/samples.png").exists());
}

fn dcgan(args: &[&str], cache: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_dcgan_fashion_mnist")).args(args).env("NNLAB_CACHE", cache).output().unwrap()
}

#[test]
fn dcgan_trains_scores_with_the_shipped_classifier_and_reproduces() {
    let tmp = tempfile::tempdir().unwrap();
    let (data, cache) = (tmp.path().join("data"), tmp.path().join("cache"));
    std::fs::create_dir(&data).unwrap();
    write_data(&data, 256, 128);
    let common = [
        "--epochs",
        "2",
        "--data-dir",
        data.to_str().unwrap(),
        "--set",
        "g_features=4",
        "--set",
        "d_features=4",
        "--set",
        "latent_dim=8",
        "--set",
        "fd_samples=100",
        "--quiet",
    ];
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    let oa = dcgan(&[&common[..], &["--out", a.to_str().unwrap()]].concat(), &cache);
    assert!(oa.status.success(), "{}", String::from_utf8_lossy(&oa.stderr));
    assert!(!cache.join("classifiers").exists(), "nothing is trained per machine");
    assert!(dcgan(&[&common[..], &["--out", b.to_str().unwrap()]].concat(), &cache).status.success());
    let m = std::fs::read_to_string(a.join("metrics.csv")).unwrap();
    assert_eq!(m, std::fs::read_to_string(b.join("metrics.csv")).unwrap(), "same seed, same numbers");
    assert!(m.starts_with("epoch,d_loss,g_loss,d_real,d_fake,frechet_distance\n") && m.lines().count() == 3, "{m}");
    let s: serde_json::Value = serde_json::from_slice(&std::fs::read(a.join("summary.json")).unwrap()).unwrap();
    let (fd, floor) = (s["frechet_distance"].as_f64().unwrap(), s["real_test_frechet_distance"].as_f64().unwrap());
    assert!(fd.is_finite() && floor.is_finite() && floor >= -1e-9 && fd > floor, "{fd} vs floor {floor}");
    let accuracy = s["classifier_test_accuracy"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&accuracy), "the Fashion-MNIST classifier scored on these labels: {accuracy}");
    for f in ["samples_epoch_01.png", "samples_epoch_02.png", "frechet.png", "losses.png", "generator.safetensors", "config.toml"] {
        assert!(a.join(f).exists(), "{f}");
    }
    // Killed after its first epoch and resumed: the same numbers and generator.
    let c = tmp.path().join("killed");
    let mut child = Command::new(env!("CARGO_BIN_EXE_dcgan_fashion_mnist"))
        .args([&common[..], &["--checkpoint-every", "1", "--out", c.to_str().unwrap()]].concat())
        .env("NNLAB_CACHE", &cache)
        .spawn()
        .unwrap();
    while child.try_wait().unwrap().is_none() && std::fs::read_to_string(c.join("metrics.csv")).map(|t| t.lines().count()).unwrap_or(0) < 2 {
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    let _ = child.kill();
    let _ = child.wait();
    let resumed = dcgan(&["--resume", c.to_str().unwrap(), "--quiet"], &cache);
    assert!(resumed.status.success(), "{}", String::from_utf8_lossy(&resumed.stderr));
    for f in ["metrics.csv", "generator.safetensors"] {
        assert!(std::fs::read(a.join(f)).unwrap() == std::fs::read(c.join(f)).unwrap(), "{f} after resuming");
    }
    let o = dcgan(&["--data-dir", tmp.path().join("nowhere").to_str().unwrap(), "--out", tmp.path().join("c").to_str().unwrap()], &cache);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success() && err.trim().lines().count() == 1 && err.contains("--data-dir"), "{err}");
    assert!(!tmp.path().join("c").exists());
}
