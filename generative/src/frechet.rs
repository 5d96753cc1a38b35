//! The Fréchet distance between two sets of feature vectors, each summarised
//! by a Gaussian: `|mu1 - mu2|^2 + Tr(S1 + S2 - 2 (S1 S2)^(1/2))` (Heusel et
//! al. 2017). With Inception-v3 features this is the FID; nnlab computes it on
//! the features of its own Fashion-MNIST classifier ([`crate::classifier`]),
//! so its values are not comparable with published FIDs.

use anyhow::{bail, Result};
use tch::{Kind, Tensor};

/// Mean and covariance (unbiased, float64) of `[N, D]` features.
pub fn gaussian_stats(features: &Tensor) -> Result<(Tensor, Tensor)> {
    let f = features.to_kind(Kind::Double);
    if f.dim() != 2 || f.size()[0] < 2 {
        bail!("need a [N, D] feature matrix with N >= 2, got shape {:?}", f.size());
    }
    let mean = f.mean_dim(0, false, Kind::Double);
    let cov = f.transpose(0, 1).cov(1, None::<Tensor>, None::<Tensor>);
    Ok((mean, cov))
}

/// The Fréchet distance between Gaussians `(mean1, cov1)` and `(mean2, cov2)`.
///
/// `Tr((S1 S2)^(1/2))` is the sum of the square roots of the eigenvalues of
/// the symmetric `S1^(1/2) S2 S1^(1/2)` (negative round-off clamped to 0).
pub fn frechet_distance(mean1: &Tensor, cov1: &Tensor, mean2: &Tensor, cov2: &Tensor) -> Result<f64> {
    let _guard = tch::no_grad_guard();
    let sqrt_psd = |m: &Tensor| {
        let (w, v) = m.linalg_eigh("L");
        v.matmul(&nnlab_torch::optim::portable_sqrt(&w.clamp_min(0.0)).diag_embed(0, -2, -1)).matmul(&v.transpose(0, 1))
    };
    let s1 = sqrt_psd(cov1);
    let middle = s1.matmul(cov2).matmul(&s1);
    let middle = (&middle + middle.transpose(0, 1)) / 2.0;
    let tr_sqrt = nnlab_torch::optim::portable_sqrt(&middle.linalg_eigvalsh("L").clamp_min(0.0)).sum(Kind::Double);
    let diff = mean1 - mean2;
    let d = diff.dot(&diff) + cov1.trace() + cov2.trace() - 2.0 * tr_sqrt;
    Ok(f64::try_from(d)?)
}

/// The Fréchet distance between two feature sets.
pub fn frechet_distance_of(a: &Tensor, b: &Tensor) -> Result<f64> {
    let (m1, c1) = gaussian_stats(a)?;
    let (m2, c2) = gaussian_stats(b)?;
    frechet_distance(&m1, &c1, &m2, &c2)
}
