//! Fixed-seed regression tests: a short run of each generative trainer (VAE,
//! GAN on the ring, DCGAN, feature classifier) on small synthetic data must
//! repeat its committed numbers bit for bit, in portable numerics
//! (`nnlab_torch::numerics`), so on any x86-64 CPU and under any dispatch
//! settings in the environment (`.ci/run` runs this file under foreign ones). After an intended change of behaviour,
//! `NNLAB_WRITE_GOLDEN=1 cargo test --release -p nnlab-generative --test golden`
//! rewrites the files under `tests/golden/` (review the diff before committing).

use nnlab_generative::classifier::{Classifier, ClassifierConfig};
use nnlab_generative::dcgan::{Dcgan, DcganConfig};
use nnlab_generative::gan::{Gan, GanConfig};
use nnlab_generative::mixture::{evaluate, Mixture};
use nnlab_generative::vae::VaeArch;
use nnlab_generative::vae_trainer::{VaeConfig, VaeTrainer};
use nnlab_torch::golden::{torch_test_lock, twice};
use serde_json::{json, Value};
use tch::{Device, Kind, Tensor};

/// 128 images of four noisy binary prototypes, and their prototype labels.
fn images() -> (Tensor, Tensor) {
    tch::manual_seed(0);
    let protos = Tensor::rand([4, 784], (Kind::Float, Device::Cpu)).gt(0.5).to_kind(Kind::Float);
    let labels = Tensor::arange(128, (Kind::Int64, Device::Cpu)).remainder(4);
    let x = (protos.index_select(0, &labels) * 0.8 + Tensor::rand([128, 784], (Kind::Float, Device::Cpu)) * 0.2).clamp(0.0, 1.0);
    (x, labels)
}

/// Compares `got` with `tests/golden/<name>.json` bit for bit.
fn check(name: &str, got: Value) {
    nnlab_torch::golden::check(env!("CARGO_MANIFEST_DIR"), name, &got);
}

#[test]
fn vae_matches_golden_values() {
    for arch in [VaeArch::Mlp, VaeArch::Conv] {
        let (losses, elbo, nll) = twice(|| {
            let (x, _) = images();
            let cfg = VaeConfig { arch, hidden: 32, latent_dim: 4, batch_size: 32, iw_samples: 16, seed: 3, ..Default::default() };
            let mut t = VaeTrainer::new(cfg, Device::Cpu).unwrap();
            let losses: Vec<f64> = (0..3).map(|_| t.train_epoch(&x).unwrap()).collect();
            (losses, t.test_elbo(&x).unwrap().loss, t.test_nll_iw(&x).unwrap())
        });
        check(&format!("vae_{arch:?}_seed3").to_lowercase(), json!({"train_losses": losses, "test_loss": elbo, "test_nll_iw": nll}));
    }
}

#[test]
fn gan_matches_golden_values() {
    for pack in [1, 4] {
        let (d_losses, g_losses, samples) = twice(|| {
            let cfg = GanConfig {
                steps: 200,
                pack,
                g_hidden: 32,
                d_hidden: 32,
                g_layers: 2,
                d_layers: 2,
                batch_size: 64,
                learning_rate: 1e-3,
                seed: 3,
                ..Default::default()
            };
            let mut gan = Gan::new(cfg, Device::Cpu).unwrap();
            let steps: Vec<_> = (0..200).map(|_| gan.step()).collect();
            let pick = |f: fn(&nnlab_generative::gan::GanStep) -> f64| steps.iter().step_by(50).map(f).collect::<Vec<f64>>();
            (pick(|s| s.d_loss), pick(|s| s.g_loss), gan.generate(500).unwrap())
        });
        let m = evaluate(Mixture::Ring, &samples);
        let first: Vec<f32> = samples[..8].to_vec();
        check(
            &format!("gan_ring_pack{pack}_seed3"),
            json!({"d_losses": d_losses, "g_losses": g_losses, "first_samples": first, "modes_covered": m.modes_covered, "high_quality_fraction": m.high_quality_fraction}),
        );
    }
}

#[test]
fn dcgan_matches_golden_values() {
    let (epochs, first_pixels) = twice(|| {
        let (x, _) = images();
        let cfg = DcganConfig { epochs: 2, batch_size: 32, latent_dim: 16, g_features: 8, d_features: 8, seed: 3, ..Default::default() };
        let mut gan = Dcgan::new(cfg, Device::Cpu).unwrap();
        let epochs: Vec<[f64; 4]> = (0..2).map(|_| gan.train_epoch(&x).unwrap()).map(|e| [e.d_loss, e.g_loss, e.d_real, e.d_fake]).collect();
        let img = gan.generate(2);
        assert_eq!(img.size(), [2, 784]);
        assert!(f64::try_from(img.min()).unwrap() >= 0.0 && f64::try_from(img.max()).unwrap() <= 1.0);
        (epochs, Vec::<f32>::try_from(img.narrow(1, 300, 8).flatten(0, -1)).unwrap())
    });
    check("dcgan_seed3", json!({"epochs": epochs, "pixels": first_pixels}));
}

#[test]
fn classifier_learns_the_prototypes_and_matches_golden_values() {
    let (losses, accuracy) = twice(|| {
        let (x, y) = images();
        let mut c = Classifier::new(3, Device::Cpu);
        let losses = c.train(&ClassifierConfig { seed: 3, epochs: 2, batch_size: 32, learning_rate: 1e-3 }, &x, &y).unwrap();
        (losses, c.accuracy(&x, &y).unwrap())
    });
    assert_eq!(accuracy, 1.0, "four clearly different prototypes");
    assert!(losses[1] < losses[0]);
    check("classifier_seed3", json!({"epoch_losses": losses}));
}

/// The committed Fréchet-distance classifier: its SHA-256 and, in portable
/// numerics, exactly the recorded test accuracy on Fashion-MNIST (fetched
/// into the cache on first use).
#[test]
fn shipped_classifier_gives_its_recorded_test_accuracy() {
    nnlab_torch::numerics::portable_for_tests();
    let (_, _, test) = nnlab_generative::data::load_28x28(None).expect("Fashion-MNIST");
    // Loading seeds torch's global generator (the initialisation it overwrites): one test at a time.
    let _lock = torch_test_lock();
    let c = nnlab_generative::classifier::shipped(Device::Cpu).expect("the shipped weights load");
    // Saving gives the committed bytes back: the format is deterministic.
    let bytes = c.safetensors_bytes().unwrap();
    assert_eq!(nnlab_generative::classifier::sha256_hex(&bytes), nnlab_generative::classifier::SHIPPED_SHA256);
    let accuracy = c.accuracy(&test.images_tensor(Device::Cpu), &test.labels_tensor(Device::Cpu)).unwrap();
    assert_eq!(test.len, 10_000);
    assert_eq!((accuracy * 10_000.0).round() as i64, nnlab_generative::classifier::SHIPPED_TEST_CORRECT, "test accuracy {accuracy}");
}
