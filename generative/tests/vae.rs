//! The VAE: training lowers the negative ELBO, runs repeat to the bit, and the
//! importance-weighted NLL estimate is a tighter bound than the ELBO.

use nnlab_generative::vae::VaeArch;
use nnlab_generative::vae_trainer::{VaeConfig, VaeTrainer};
use tch::{Device, Kind, Tensor};

fn data() -> Tensor {
    // 256 images of four noisy prototypes.
    let protos = Tensor::rand([4, 784], (Kind::Float, Device::Cpu)).gt(0.5).to_kind(Kind::Float);
    let idx = Tensor::arange(256, (Kind::Int64, Device::Cpu)).remainder(4);
    let x = protos.index_select(0, &idx);
    (x * 0.9 + 0.05).clamp(0.0, 1.0)
}

fn run(arch: VaeArch) -> (Vec<f64>, f64, f64) {
    tch::set_num_threads(1);
    tch::manual_seed(0);
    let x = data();
    let cfg = VaeConfig { arch, hidden: 64, latent_dim: 4, batch_size: 32, iw_samples: 64, ..Default::default() };
    let mut t = VaeTrainer::new(cfg, Device::Cpu).unwrap();
    let losses: Vec<f64> = (0..10).map(|_| t.train_epoch(&x).unwrap()).collect();
    let elbo = t.test_elbo(&x).unwrap().loss;
    let nll = t.test_nll_iw(&x).unwrap();
    (losses, elbo, nll)
}

#[test]
fn training_lowers_the_loss_and_repeats_exactly() {
    for arch in [VaeArch::Mlp, VaeArch::Conv] {
        let (a, elbo, nll) = run(arch);
        let (b, _, _) = run(arch);
        assert_eq!(a, b, "{arch:?}: same seed, same losses");
        assert!(a[9] < 0.85 * a[0], "{arch:?}: {a:?}");
        assert!(nll <= elbo + 1e-6 && nll > 0.5 * elbo, "{arch:?}: IW NLL {nll} vs negative ELBO {elbo}");
    }
}

#[test]
fn bad_settings_are_rejected() {
    for (cfg, key) in [
        (VaeConfig { epochs: 0, ..Default::default() }, "epochs"),
        (VaeConfig { learning_rate: f64::NAN, ..Default::default() }, "learning_rate"),
        (VaeConfig { beta: -1.0, ..Default::default() }, "beta"),
        (VaeConfig { latent_dim: 0, ..Default::default() }, "latent_dim"),
    ] {
        let e = cfg.validate().unwrap_err().to_string();
        assert!(e.contains(key), "{e}");
    }
}
