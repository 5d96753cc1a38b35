//! The Fréchet distance against closed forms.

use nnlab_generative::frechet::{frechet_distance, frechet_distance_of, gaussian_stats};
use tch::{Device, Kind, Tensor};

fn t(v: &[f64]) -> Tensor {
    Tensor::from_slice(v).to_kind(Kind::Double)
}

#[test]
fn diagonal_covariances_match_the_closed_form() {
    // |m1 - m2|^2 + sum (sqrt(a) - sqrt(b))^2 for diagonal covariances a, b.
    let (m1, m2) = (t(&[0.0, 1.0, 2.0]), t(&[1.0, 1.0, 0.0]));
    let (a, b) = ([1.0, 4.0, 9.0], [4.0, 1.0, 9.0]);
    let want = 1.0 + 0.0 + 4.0 + (1.0f64 - 2.0).powi(2) + (2.0f64 - 1.0).powi(2) + 0.0;
    let got = frechet_distance(&m1, &t(&a).diag(0), &m2, &t(&b).diag(0)).unwrap();
    assert!((got - want).abs() < 1e-9, "{got} vs {want}");
}

#[test]
fn rotated_equal_covariances_give_the_mean_distance_only() {
    // S1 = S2 = R diag(3, 0.5) R^T: the trace terms cancel.
    let (c, s) = (0.6f64, 0.8f64);
    let r = t(&[c, -s, s, c]).view([2, 2]);
    let cov = r.matmul(&t(&[3.0, 0.5]).diag(0)).matmul(&r.transpose(0, 1));
    let got = frechet_distance(&t(&[0.0, 0.0]), &cov, &t(&[3.0, 4.0]), &cov).unwrap();
    assert!((got - 25.0).abs() < 1e-9, "{got}");
}

#[test]
fn samples_of_one_distribution_are_close_and_shifted_ones_are_not() {
    tch::manual_seed(0);
    let opts = (Kind::Double, Device::Cpu);
    let a = Tensor::randn([20_000, 4], opts);
    let b = Tensor::randn([20_000, 4], opts);
    let same = frechet_distance_of(&a, &b).unwrap();
    assert!(same.abs() < 0.01, "{same}");
    let shifted = frechet_distance_of(&a, &(&b + 2.0)).unwrap();
    assert!((shifted - 16.0).abs() < 0.1, "{shifted}");
    let (mean, cov) = gaussian_stats(&a).unwrap();
    assert_eq!(mean.size(), [4]);
    assert_eq!(cov.size(), [4, 4]);
    assert!(gaussian_stats(&Tensor::zeros([1, 4], opts)).is_err());
}
