//! Checks on a weights file before it is loaded: a safetensors file whose
//! tensors are floating point and finite. A NaN or infinite weight (a run
//! saved after it diverged, a damaged or edited file) or an integer tensor
//! where a weight belongs is named in one line, instead of loading silently
//! and producing NaN outputs.

use anyhow::{anyhow, bail, Context, Result};
use safetensors::{Dtype, SafeTensors};
use std::path::Path;

/// Checks that `path` is a safetensors file of finite floating-point tensors.
pub fn check_file(path: &Path) -> Result<()> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read weights {}", path.display()))?;
    check_bytes(&bytes).map_err(|e| anyhow!("{}: {e}", path.display()))
}

/// Loads `path` into `vs` after [`check_file`]: a run's `model.safetensors`
/// into the model that saved it (a missing or mis-shaped tensor is one line).
pub fn load(vs: &mut tch::nn::VarStore, path: &Path) -> Result<()> {
    check_file(path)?;
    vs.load(path).map_err(|e| anyhow!("cannot load {}: {e}", path.display()))
}

/// [`check_file`] on the file's bytes.
pub fn check_bytes(bytes: &[u8]) -> Result<()> {
    let tensors = SafeTensors::deserialize(bytes).map_err(|e| anyhow!("not a valid safetensors file ({e:?})"))?;
    let mut names = tensors.names();
    names.sort();
    for name in names {
        let view = tensors.tensor(name).map_err(|e| anyhow!("tensor {name}: {e:?}"))?;
        let data = view.data();
        let finite = match view.dtype() {
            Dtype::F32 => data.chunks_exact(4).all(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]).is_finite()),
            Dtype::F64 => data.chunks_exact(8).all(|c| f64::from_le_bytes(c.try_into().expect("8 bytes")).is_finite()),
            // Half precision: finite unless the exponent bits are all ones.
            Dtype::F16 => data.chunks_exact(2).all(|c| u16::from_le_bytes([c[0], c[1]]) & 0x7c00 != 0x7c00),
            Dtype::BF16 => data.chunks_exact(2).all(|c| u16::from_le_bytes([c[0], c[1]]) & 0x7f80 != 0x7f80),
            other => bail!("tensor {name} holds {other:?} values; weights are floating point"),
        };
        if !finite {
            bail!("tensor {name} holds NaN or infinite values (weights saved after a divergence, or a damaged file)");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::Tensor;

    fn file_with(t: &Tensor) -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.safetensors");
        Tensor::write_safetensors(&[("layer.weight", t)], &path).unwrap();
        (dir, path)
    }

    #[test]
    fn finite_float_weights_pass_and_bad_ones_are_named() {
        let (_d, ok) = file_with(&Tensor::from_slice(&[1.0f32, -2.0]));
        check_file(&ok).unwrap();
        let (_d, nan) = file_with(&Tensor::from_slice(&[1.0f32, f32::NAN]));
        let e = check_file(&nan).unwrap_err().to_string();
        assert!(e.contains("layer.weight") && e.contains("NaN"), "{e}");
        let (_d, inf) = file_with(&Tensor::from_slice(&[f64::INFINITY]));
        assert!(check_file(&inf).unwrap_err().to_string().contains("infinite"));
        let (_d, int) = file_with(&Tensor::from_slice(&[1i64, 2]));
        let e = check_file(&int).unwrap_err().to_string();
        assert!(e.contains("layer.weight") && e.contains("I64"), "{e}");
        assert!(check_bytes(b"not a file").is_err());
    }
}
