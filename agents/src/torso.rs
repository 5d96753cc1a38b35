//! The network in front of a value or policy head: an MLP for vector
//! observations, or convolutions for pictures (`[C, H, W]`, channels first,
//! as MinAtar's games give them). [`Network`] is the config value;
//! [`ConvTorso`] places the convolutions in a [`FlatBuilder`] and runs them.

use crate::flat::{FlatBuilder, FlatParams, LayerInit};
use anyhow::{bail, Result};
use serde::{Deserialize, Serialize};
use tch::Tensor;

/// Which network reads the observation (its dense layers are `hidden_sizes`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Network {
    /// Dense layers on a vector observation.
    #[default]
    Mlp,
    /// MinAtar's DQN network (Young & Tian 2019): one 3x3 convolution with 16
    /// channels, stride 1, ReLU, then the dense layers (the paper: one of 128).
    Minatar,
    /// Nature-DQN-style for small pictures: three 3x3 convolutions (32, 64,
    /// 64 channels, stride 1, ReLU), then the dense layers (Nature: one of 512).
    Nature,
}

impl Network {
    /// The output channels of the convolutions, in order (3x3, stride 1, no padding).
    pub fn conv_channels(self) -> &'static [usize] {
        match self {
            Network::Mlp => &[],
            Network::Minatar => &[16],
            Network::Nature => &[32, 64, 64],
        }
    }

    /// The config spelling (`mlp`, `minatar`, `nature`).
    pub fn name(self) -> &'static str {
        match self {
            Network::Mlp => "mlp",
            Network::Minatar => "minatar",
            Network::Nature => "nature",
        }
    }

    /// Whether this network fits observations of `shape` (from
    /// `Env::observation_shape`): dense layers take vectors, convolutions
    /// pictures large enough for their 3x3 kernels. The error is one line.
    pub fn check(self, env_id: &str, shape: &[usize]) -> Result<()> {
        let convs = self.conv_channels().len();
        match (self, shape) {
            (Network::Mlp, [_]) => Ok(()),
            (Network::Mlp, _) => bail!(
                "network: {env_id} gives pictures {shape:?} (channels, height, width), which network = \"mlp\" cannot read: set network = \"minatar\" or \"nature\" (convolutional)"
            ),
            (_, [_, h, w]) if *h > 2 * convs && *w > 2 * convs => Ok(()),
            (_, [_, _, _]) => bail!("network: {env_id}'s pictures {shape:?} are too small for network = \"{}\" ({convs} 3x3 convolutions)", self.name()),
            _ => bail!("network: network = \"{}\" is convolutional and needs pictures [C, H, W], but {env_id} gives vectors {shape:?}: set network = \"mlp\"", self.name()),
        }
    }
}

/// One 3x3 convolution's place in the flat parameters (its weight is a
/// linear slot `[out, in * 9]`, viewed as `[out, in, 3, 3]`; PyTorch's
/// `nn.Conv2d` initialisation is `nn.Linear`'s with that fan-in).
#[derive(Debug, Clone)]
struct ConvLayer {
    slot: usize,
    in_channels: i64,
    out_channels: i64,
}

/// The convolutions of a [`Network`] on `[C, H, W]` observations, their
/// weights in a [`FlatParams`]; observations arrive flattened (`[B, C*H*W]`).
#[derive(Debug, Clone)]
pub struct ConvTorso {
    layers: Vec<ConvLayer>,
    shape: [i64; 3],
    features: usize,
}

const KERNEL: i64 = 3;

impl ConvTorso {
    /// Adds `network`'s convolutions for `shape` to `b`; `None` for an MLP.
    pub fn new(b: &mut FlatBuilder, network: Network, shape: &[usize]) -> Option<Self> {
        let [c, h, w] = shape else { return None };
        if network.conv_channels().is_empty() {
            return None;
        }
        let (mut c, mut h, mut w) = (*c, *h, *w);
        let mut layers = Vec::new();
        for (i, &out) in network.conv_channels().iter().enumerate() {
            let slot = b.linear(format!("conv{i}"), c * (KERNEL * KERNEL) as usize, out, LayerInit::TorchDefault);
            layers.push(ConvLayer { slot, in_channels: c as i64, out_channels: out as i64 });
            (c, h, w) = (out, h - 2, w - 2);
        }
        Some(Self { layers, shape: [shape[0] as i64, shape[1] as i64, shape[2] as i64], features: c * h * w })
    }

    /// Width of the flattened output.
    pub fn features(&self) -> usize {
        self.features
    }

    /// `[B, C*H*W]` observations through the convolutions and ReLUs, flattened to `[B, features]`.
    pub fn forward(&self, params: &FlatParams, x: &Tensor) -> Tensor {
        let [c, h, w] = self.shape;
        let mut x = x.view([-1, c, h, w]);
        for layer in &self.layers {
            let view = params.linear(layer.slot);
            let weight = view.weight.view([layer.out_channels, layer.in_channels, KERNEL, KERNEL]);
            x = x.conv2d(&weight, Some(&view.bias), [1, 1], [0, 0], [1, 1], 1).relu();
        }
        x.flatten(1, -1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_network_takes_its_kind_of_observation_in_one_line() {
        assert!(Network::Mlp.check("CartPole-v1", &[4]).is_ok());
        assert!(Network::Minatar.check("MinAtar/Breakout-v1", &[4, 10, 10]).is_ok());
        assert!(Network::Nature.check("MinAtar/Breakout-v1", &[4, 10, 10]).is_ok());
        for (network, shape, needle) in [
            (Network::Mlp, vec![4, 10, 10], "network = \"minatar\""),
            (Network::Minatar, vec![4], "needs pictures"),
            (Network::Nature, vec![4, 6, 6], "too small"),
        ] {
            let e = network.check("X-v0", &shape).unwrap_err().to_string();
            assert!(e.contains(needle) && !e.contains('\n'), "{e}");
        }
    }

    #[test]
    fn the_minatar_torso_is_a_3x3_convolution_as_pytorch_computes_it() {
        tch::manual_seed(0);
        let vs = tch::nn::VarStore::new(tch::Device::Cpu);
        let mut b = FlatBuilder::new();
        let torso = ConvTorso::new(&mut b, Network::Minatar, &[4, 10, 10]).unwrap();
        assert_eq!(torso.features(), 16 * 8 * 8);
        let params = b.build(&vs.root());
        let x = Tensor::rand([5, 400], (tch::Kind::Float, tch::Device::Cpu));
        let got = torso.forward(&params, &x);
        // The same convolution written out as unfold + matrix product.
        let view = params.linear(0);
        let cols = x.view([5, 4, 10, 10]).im2col([3, 3], [1, 1], [0, 0], [1, 1]); // [5, 36, 64]
        let want = (view.weight.matmul(&cols) + view.bias.view([1, 16, 1])).relu().flatten(1, -1);
        assert!(got.allclose(&want, 1e-5, 1e-5, false));
        // PyTorch's Conv2d initialisation bound: 1 / sqrt(in_channels * 9).
        let bound = 1.0 / 36f64.sqrt();
        assert!(f64::try_from(view.weight.abs().max()).unwrap() <= bound);
    }
}
