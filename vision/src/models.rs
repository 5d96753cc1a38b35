//! The image classifiers: the seed's CNN, exactly as nnlab's founding
//! document writes it in PyTorch, and a small ResNet (He et al. 2016) with
//! batch norm, residual blocks and dropout before the classifier.

use anyhow::{bail, Result};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use tch::nn::{self, ModuleT};
use tch::{Kind, Tensor};

/// Which network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Architecture {
    /// The seed's CNN: conv 3x3 (32, padding 1) - ReLU - max pool 2 - conv 3x3
    /// (64, padding 1) - ReLU - max pool 2 - fc 120 - ReLU - fc 84 - ReLU - fc classes.
    Seed,
    /// A ResNet: a 3x3 stem, stages of basic residual blocks (the first of
    /// each later stage halves the resolution), global average pooling,
    /// dropout, one linear layer.
    Resnet,
}

/// The shape of one image: channels, height, width.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageShape {
    /// Channels (1 greyscale, 3 colour).
    pub channels: i64,
    /// Rows.
    pub height: i64,
    /// Columns.
    pub width: i64,
}

impl std::fmt::Display for ImageShape {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}x{}x{}", self.channels, self.height, self.width)
    }
}

/// The width and depth of the ResNet.
#[derive(Debug, Clone, PartialEq)]
pub struct ResnetShape {
    /// Channels of each stage (the stem has the first stage's).
    pub widths: Vec<i64>,
    /// Residual blocks per stage.
    pub blocks_per_stage: usize,
    /// Dropout before the linear classifier.
    pub dropout: f64,
    /// Mixed precision: convolutions and batch norm compute in bfloat16 on
    /// bfloat16 casts of the float32 weights (the weights, their gradients,
    /// the batch-norm statistics, the classifier and the loss stay float32),
    /// as `torch.autocast("cpu", dtype=torch.bfloat16)` does.
    pub bfloat16: bool,
    /// Channels-last (NHWC) activations, as PyTorch's
    /// `memory_format=torch.channels_last`: the input is laid out NHWC and
    /// oneDNN's convolutions keep that layout through the network, which
    /// spares them a reorder per layer (about 1.2x faster on CPU).
    pub channels_last: bool,
}

/// A built network: call [`Network::logits`].
#[derive(Debug)]
pub enum Network {
    /// See [`Architecture::Seed`].
    Seed(SeedCnn),
    /// See [`Architecture::Resnet`].
    Resnet(ResNet),
}

impl Network {
    /// Builds `architecture` for images of `shape` and `classes` classes under `path`.
    pub fn new(path: &nn::Path, architecture: Architecture, shape: ImageShape, classes: i64, resnet: &ResnetShape) -> Result<Self> {
        Ok(match architecture {
            Architecture::Seed => Network::Seed(SeedCnn::new(path, shape, classes)?),
            Architecture::Resnet => Network::Resnet(ResNet::new(path, shape, classes, resnet)?),
        })
    }

    /// Class logits of a `[N, C, H, W]` batch; `train` turns on batch
    /// statistics and dropout.
    pub fn logits(&self, x: &Tensor, train: bool) -> Tensor {
        match self {
            Network::Seed(m) => m.forward_t(x, train),
            Network::Resnet(m) => m.forward_t(x, train),
        }
    }
}

/// See [`Architecture::Seed`], initialised as PyTorch initialises it; it flattens 64x7x7 features on 28x28 inputs
/// and 64x8x8 on 32x32.
#[derive(Debug)]
pub struct SeedCnn {
    conv1: nn::Conv2D,
    conv2: nn::Conv2D,
    fc1: nn::Linear,
    fc2: nn::Linear,
    fc3: nn::Linear,
}

/// PyTorch's default initialisation of `nn.Conv2d` and `nn.Linear`
/// (`kaiming_uniform_(a=sqrt(5))` for the weights, the same bound for the
/// biases): uniform in `±1/sqrt(fan_in)`. tch's defaults draw the weights
/// from a range 2.45 times wider (Kaiming for ReLU), which trains the seed
/// CNN much faster than the PyTorch original it must reproduce.
fn pytorch_uniform(fan_in: i64) -> nn::Init {
    let bound = 1.0 / (fan_in as f64).sqrt();
    nn::Init::Uniform { lo: -bound, up: bound }
}

fn pytorch_conv(p: nn::Path, cin: i64, cout: i64, k: i64, padding: i64) -> nn::Conv2D {
    let init = pytorch_uniform(cin * k * k);
    nn::conv2d(p, cin, cout, k, nn::ConvConfig { padding, ws_init: init, bs_init: init, ..Default::default() })
}

fn pytorch_linear(p: nn::Path, inputs: i64, outputs: i64) -> nn::Linear {
    let init = pytorch_uniform(inputs);
    nn::linear(p, inputs, outputs, nn::LinearConfig { ws_init: init, bs_init: Some(init), bias: true })
}

impl SeedCnn {
    fn new(p: &nn::Path, shape: ImageShape, classes: i64) -> Result<Self> {
        if shape.height < 4 || shape.width < 4 {
            bail!("the seed CNN needs images of at least 4x4 pixels, got {shape}");
        }
        let flat = 64 * (shape.height / 4) * (shape.width / 4);
        Ok(Self {
            conv1: pytorch_conv(p / "conv1", shape.channels, 32, 3, 1),
            conv2: pytorch_conv(p / "conv2", 32, 64, 3, 1),
            fc1: pytorch_linear(p / "fc1", flat, 120),
            fc2: pytorch_linear(p / "fc2", 120, 84),
            fc3: pytorch_linear(p / "fc3", 84, classes),
        })
    }
}

impl ModuleT for SeedCnn {
    fn forward_t(&self, x: &Tensor, _train: bool) -> Tensor {
        let h = x.apply(&self.conv1).relu().max_pool2d_default(2);
        let h = h.apply(&self.conv2).relu().max_pool2d_default(2);
        h.flatten(1, -1).apply(&self.fc1).relu().apply(&self.fc2).relu().apply(&self.fc3)
    }
}

/// A bias-free convolution that remembers its stride and padding, so that it
/// can run on a cast of its weight (tch keeps a `Conv2D`'s config private).
#[derive(Debug)]
struct Conv {
    conv: nn::Conv2D,
    stride: i64,
    padding: i64,
}

impl Conv {
    fn new(p: nn::Path, cin: i64, cout: i64, kernel: i64, stride: i64, padding: i64) -> Self {
        let conv = nn::conv2d(p, cin, cout, kernel, nn::ConvConfig { stride, padding, bias: false, ..Default::default() });
        Self { conv, stride, padding }
    }

    /// The convolution of `x` (float32 or bfloat16) with the weight in `x`'s
    /// kind (`to_kind` returns the weight itself when the kinds agree).
    fn forward(&self, x: &Tensor) -> Tensor {
        x.conv2d(&self.conv.ws.to_kind(x.kind()), None::<Tensor>, [self.stride; 2], [self.padding; 2], [1; 2], 1)
    }
}

fn conv3x3(p: nn::Path, cin: i64, cout: i64, stride: i64) -> Conv {
    Conv::new(p, cin, cout, 3, stride, 1)
}

/// Two 3x3 convolutions with batch norm and a shortcut (a strided 1x1
/// convolution with batch norm where the shape changes).
#[derive(Debug)]
struct BasicBlock {
    conv1: Conv,
    bn1: nn::BatchNorm,
    conv2: Conv,
    bn2: nn::BatchNorm,
    shortcut: Option<(Conv, nn::BatchNorm)>,
}

impl BasicBlock {
    fn new(p: &nn::Path, cin: i64, cout: i64, stride: i64) -> Self {
        let shortcut = (stride != 1 || cin != cout).then(|| {
            let conv = Conv::new(p / "shortcut", cin, cout, 1, stride, 0);
            (conv, nn::batch_norm2d(p / "shortcut_bn", cout, Default::default()))
        });
        Self {
            conv1: conv3x3(p / "conv1", cin, cout, stride),
            bn1: nn::batch_norm2d(p / "bn1", cout, Default::default()),
            conv2: conv3x3(p / "conv2", cout, cout, 1),
            bn2: nn::batch_norm2d(p / "bn2", cout, Default::default()),
            shortcut,
        }
    }
}

impl ModuleT for BasicBlock {
    fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        let h = self.conv1.forward(x).apply_t(&self.bn1, train).relu();
        let h = self.conv2.forward(&h).apply_t(&self.bn2, train);
        let skip = match &self.shortcut {
            Some((conv, bn)) => conv.forward(x).apply_t(bn, train),
            None => x.shallow_clone(),
        };
        (h + skip).relu()
    }
}

/// `x` (`[N, C, H, W]`) stored NHWC: what PyTorch's
/// `x.contiguous(memory_format=torch.channels_last)` returns. The strides are
/// set explicitly because a permuted copy of a one-channel image would keep
/// NCHW strides, which convolutions read as the default layout.
fn to_channels_last(x: &Tensor) -> Tensor {
    let (n, c, h, w) = x.size4().expect("a [N, C, H, W] batch");
    x.permute([0, 2, 3, 1]).contiguous().as_strided([n, c, h, w], [h * w * c, 1, w * c, c], None)
}

/// See [`Architecture::Resnet`].
#[derive(Debug)]
pub struct ResNet {
    stem: Conv,
    stem_bn: nn::BatchNorm,
    blocks: Vec<BasicBlock>,
    dropout: f64,
    head: nn::Linear,
    bfloat16: bool,
    channels_last: bool,
}

impl ResNet {
    fn new(p: &nn::Path, shape: ImageShape, classes: i64, s: &ResnetShape) -> Result<Self> {
        let Some(&first) = s.widths.first() else { bail!("widths must list at least one stage's channels") };
        let mut blocks = Vec::new();
        let mut cin = first;
        for (stage, &width) in s.widths.iter().enumerate() {
            for b in 0..s.blocks_per_stage {
                let stride = if stage > 0 && b == 0 { 2 } else { 1 };
                blocks.push(BasicBlock::new(&(p / format!("stage{stage}") / format!("block{b}")), cin, width, stride));
                cin = width;
            }
        }
        Ok(Self {
            stem: conv3x3(p / "stem", shape.channels, first, 1),
            stem_bn: nn::batch_norm2d(p / "stem_bn", first, Default::default()),
            blocks,
            dropout: s.dropout,
            head: nn::linear(p / "head", cin, classes, Default::default()),
            bfloat16: s.bfloat16,
            channels_last: s.channels_last,
        })
    }
}

impl ModuleT for ResNet {
    fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        let x = if self.bfloat16 { x.to_kind(Kind::BFloat16) } else { x.shallow_clone() };
        let x = if self.channels_last { to_channels_last(&x) } else { x };
        let mut h = self.stem.forward(&x).apply_t(&self.stem_bn, train).relu();
        for block in &self.blocks {
            h = block.forward_t(&h, train);
        }
        let features = h.adaptive_avg_pool2d([1, 1]).flatten(1, -1).to_kind(Kind::Float);
        features.dropout(self.dropout, train).apply(&self.head)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::{Device, Kind};

    fn parameters(vs: &nn::VarStore) -> i64 {
        vs.trainable_variables().iter().map(|t| t.numel() as i64).sum()
    }

    /// The ResNet shape a seed CNN is built with (unused by it).
    fn no_resnet() -> ResnetShape {
        ResnetShape { widths: vec![], blocks_per_stage: 0, dropout: 0.0, bfloat16: false, channels_last: false }
    }

    /// A two-stage ResNet (8, 16 channels) for 28x28 greyscale images and 5 classes.
    fn small_resnet(bfloat16: bool, channels_last: bool) -> (nn::VarStore, Network) {
        let vs = nn::VarStore::new(Device::Cpu);
        let s = ResnetShape { widths: vec![8, 16], blocks_per_stage: 1, dropout: 0.0, bfloat16, channels_last };
        let net = Network::new(&vs.root(), Architecture::Resnet, ImageShape { channels: 1, height: 28, width: 28 }, 5, &s).unwrap();
        (vs, net)
    }

    #[test]
    fn the_seed_cnn_has_pytorchs_shapes_on_28x28_and_32x32() {
        // PyTorch: 320 + 18,496 + 3136*120+120 + 120*84+84 + 84*10+10 = 406,270 parameters.
        let vs = nn::VarStore::new(Device::Cpu);
        let shape = ImageShape { channels: 1, height: 28, width: 28 };
        let net = Network::new(&vs.root(), Architecture::Seed, shape, 10, &no_resnet()).unwrap();
        assert_eq!(parameters(&vs), 406_270);
        assert_eq!(net.logits(&Tensor::zeros([2, 1, 28, 28], (Kind::Float, Device::Cpu)), false).size(), [2, 10]);
        let vs = nn::VarStore::new(Device::Cpu);
        let shape = ImageShape { channels: 3, height: 32, width: 32 };
        let net = Network::new(&vs.root(), Architecture::Seed, shape, 10, &no_resnet()).unwrap();
        // conv1 on 3 channels: 896; fc1 on 64x8x8 = 4096 inputs.
        assert_eq!(parameters(&vs), 896 + 18_496 + 4096 * 120 + 120 + 120 * 84 + 84 + 850);
        assert_eq!(net.logits(&Tensor::zeros([1, 3, 32, 32], (Kind::Float, Device::Cpu)), false).size(), [1, 10]);
    }

    #[test]
    fn the_resnet_halves_the_resolution_per_stage_and_ends_in_the_classes() {
        let vs = nn::VarStore::new(Device::Cpu);
        let shape = ImageShape { channels: 1, height: 28, width: 28 };
        let s = ResnetShape { widths: vec![8, 16, 32], blocks_per_stage: 2, dropout: 0.5, bfloat16: false, channels_last: false };
        let net = Network::new(&vs.root(), Architecture::Resnet, shape, 7, &s).unwrap();
        let x = Tensor::randn([4, 1, 28, 28], (Kind::Float, Device::Cpu));
        assert_eq!(net.logits(&x, true).size(), [4, 7]);
        assert_eq!(net.logits(&x, false).size(), [4, 7]);
        // Evaluation is deterministic (running statistics, no dropout).
        assert!(net.logits(&x, false).equal(&net.logits(&x, false)));
    }

    #[test]
    fn bfloat16_mixed_precision_keeps_float32_weights_and_logits_and_trains_them() {
        let (vs32, net32) = small_resnet(false, false);
        let (mut vs16, net16) = small_resnet(true, false);
        // The same weights (copied: tests in other threads draw from torch's global generator).
        vs16.copy(&vs32).unwrap();
        let x = Tensor::randn([6, 1, 28, 28], (Kind::Float, Device::Cpu));
        let (l32, l16) = (net32.logits(&x, true), net16.logits(&x, true));
        assert_eq!(l16.kind(), Kind::Float);
        // bfloat16 keeps about 3 significant digits.
        let gap = (&l32 - &l16).abs().max().double_value(&[]);
        let scale = l32.abs().max().double_value(&[]);
        assert!(gap < 0.05 * scale.max(1.0), "bfloat16 logits {gap} away from float32's (scale {scale})");
        l16.sum(Kind::Float).backward();
        for (name, var) in vs16.variables() {
            assert_eq!(var.kind(), Kind::Float, "{name}");
            if var.requires_grad() {
                assert!(var.grad().defined() && var.grad().kind() == Kind::Float, "{name} has no float32 gradient");
            }
        }
        assert_eq!(vs32.len(), vs16.len());
    }

    #[test]
    fn channels_last_computes_the_same_logits_and_gradients_in_nhwc() {
        let (vs_nchw, nchw) = small_resnet(false, false);
        let (mut vs_nhwc, nhwc) = small_resnet(false, true);
        vs_nhwc.copy(&vs_nchw).unwrap();
        let x = Tensor::randn([6, 1, 28, 28], (Kind::Float, Device::Cpu));
        let (a, b) = (nchw.logits(&x, true), nhwc.logits(&x, true));
        assert!(a.allclose(&b, 1e-4, 1e-5, false), "logits differ: {}", (&a - &b).abs().max().double_value(&[]));
        a.sum(Kind::Float).backward();
        b.sum(Kind::Float).backward();
        let nchw_vars = vs_nchw.variables();
        for (name, var) in vs_nhwc.variables() {
            if var.requires_grad() {
                let (g, h) = (nchw_vars[&name].grad(), var.grad());
                assert!(g.allclose(&h, 1e-3, 1e-4, false), "{name}: gradients differ by {}", (&g - &h).abs().max().double_value(&[]));
            }
        }
        // A stem activation of an NHWC input keeps NHWC strides: channels vary fastest.
        let Network::Resnet(resnet) = &nhwc else { unreachable!() };
        let input = to_channels_last(&x);
        assert!(input.equal(&x) && input.stride() == [784, 1, 28, 1]);
        assert_eq!(resnet.stem.forward(&input).stride(), [28 * 28 * 8, 1, 28 * 8, 8]);
    }
}
