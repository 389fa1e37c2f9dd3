//! Choosing the compute device from the command line.

use burn::tensor::Device;
use perturb::{Error, Result};

/// The backends the CLI can run on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DeviceArg {
    /// Burn's pure-Rust CPU backend (flex).
    Cpu,
    /// wgpu on the best adapter found (Vulkan, Metal, DX12).
    Wgpu,
}

impl DeviceArg {
    /// Initialise the device.
    pub fn init(self) -> Result<Device> {
        match self {
            DeviceArg::Cpu => Ok(Device::flex()),
            DeviceArg::Wgpu => Device::wgpu_options()
                .init()
                .map_err(|e| Error::Device(format!("no usable wgpu adapter: {e}"))),
        }
    }
}
