//! GANs on the ring: training moves generated samples onto the modes, runs
//! repeat to the bit, and bad settings are refused.

use nnlab_generative::gan::{Gan, GanConfig};
use nnlab_generative::mixture::{evaluate, Mixture};
use tch::Device;

fn short(pack: usize) -> GanConfig {
    GanConfig { steps: 1500, pack, g_hidden: 64, d_hidden: 64, learning_rate: 1e-3, eval_samples: 1000, seed: 2, ..Default::default() }
}

fn train(cfg: GanConfig) -> (Vec<f64>, Vec<f32>) {
    tch::set_num_threads(1);
    let steps = cfg.steps;
    let mut gan = Gan::new(cfg, Device::Cpu).unwrap();
    let losses: Vec<f64> = (0..steps).map(|_| gan.step().d_loss).collect();
    (losses, gan.generate(1000).unwrap())
}

#[test]
fn training_brings_samples_to_the_ring_and_repeats() {
    for pack in [1, 4] {
        let untrained = Gan::new(short(pack), Device::Cpu).unwrap().generate(1000).unwrap();
        let (losses, samples) = train(short(pack));
        let (losses2, samples2) = train(short(pack));
        assert_eq!(losses, losses2, "pack {pack}");
        assert_eq!(samples, samples2, "pack {pack}");
        assert!(losses.iter().all(|l| l.is_finite()));
        // Mean distance to the unit circle shrinks.
        let off = |s: &[f32]| s.chunks(2).map(|p| ((p[0] * p[0] + p[1] * p[1]).sqrt() - 1.0).abs()).sum::<f32>() / (s.len() / 2) as f32;
        assert!(off(&samples) < 0.5 * off(&untrained), "pack {pack}: {} vs {}", off(&samples), off(&untrained));
        let m = evaluate(Mixture::Ring, &samples);
        assert!(m.modes_total == 8 && m.high_quality_fraction >= 0.0);
    }
}

#[test]
fn bad_settings_are_refused() {
    for (cfg, needle) in [
        (GanConfig { batch_size: 10, pack: 4, ..Default::default() }, "multiple of pack"),
        (GanConfig { pack: 0, ..Default::default() }, "at least 1"),
        (GanConfig { learning_rate: -1.0, ..Default::default() }, "learning_rate"),
    ] {
        assert!(cfg.validate().unwrap_err().to_string().contains(needle));
    }
}
