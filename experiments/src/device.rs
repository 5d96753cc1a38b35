//! Choosing the compute device.

use anyhow::{bail, Result};
use clap::ValueEnum;
use tch::Device;

/// The `--device` flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DeviceChoice {
    /// CUDA when tch sees a GPU, else the CPU.
    Auto,
    /// The CPU.
    Cpu,
    /// The first CUDA GPU (an error when there is none).
    Cuda,
}

/// Resolves the flag to a device; `cuda` without CUDA is an error.
pub fn resolve(choice: DeviceChoice) -> Result<Device> {
    let cuda = tch::Cuda::is_available();
    Ok(match choice {
        DeviceChoice::Cpu => Device::Cpu,
        DeviceChoice::Auto if cuda => Device::Cuda(0),
        DeviceChoice::Auto => Device::Cpu,
        DeviceChoice::Cuda if cuda => Device::Cuda(0),
        DeviceChoice::Cuda => bail!("--device cuda: CUDA is not available here (tch sees no GPU); use --device cpu or auto"),
    })
}

/// A short name for the summary: `cpu` or `cuda:0`.
pub fn name(device: Device) -> String {
    match device {
        Device::Cpu => "cpu".into(),
        Device::Cuda(i) => format!("cuda:{i}"),
        other => format!("{other:?}").to_lowercase(),
    }
}
