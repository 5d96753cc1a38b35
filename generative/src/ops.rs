//! Small tensor functions that tch does not offer with the needed arguments.

use tch::Tensor;

/// LeakyReLU with negative slope `slope` in (0, 1): `max(x, slope * x)`.
/// (tch's `leaky_relu` has PyTorch's default slope 0.01 fixed.)
pub fn leaky_relu(x: &Tensor, slope: f64) -> Tensor {
    x.maximum(&(x * slope))
}
