//! The one place that maps a backend name to a Burn [`Device`].
//!
//! Everything else in hpn takes a `&Device` and never names a backend.

use burn::tensor::Device;
use serde::{Deserialize, Serialize};

use crate::error::TrainError;

/// A Burn backend that hpn can run on. Which of them exist depends on the cargo features
/// the binary was built with (`flex` by default; `ndarray`, `wgpu`, `cuda` opt-in).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BackendKind {
    /// Burn's pure-Rust CPU backend (im2col + gemm); the fast CPU choice.
    #[default]
    Flex,
    /// Burn's ndarray CPU backend (slow convolutions; kept for comparison).
    Ndarray,
    /// Any GPU through wgpu (Vulkan, Metal, DX12, GL).
    Wgpu,
    /// NVIDIA GPUs through CUDA.
    Cuda,
}

impl BackendKind {
    /// Every backend name, in the order the command line lists them.
    pub const ALL: [BackendKind; 4] = [
        BackendKind::Flex,
        BackendKind::Ndarray,
        BackendKind::Wgpu,
        BackendKind::Cuda,
    ];

    /// The name used in configs, on the command line and as the cargo feature.
    pub fn name(self) -> &'static str {
        match self {
            BackendKind::Flex => "flex",
            BackendKind::Ndarray => "ndarray",
            BackendKind::Wgpu => "wgpu",
            BackendKind::Cuda => "cuda",
        }
    }

    /// Whether this binary was built with the cargo feature of this backend.
    pub fn is_compiled(self) -> bool {
        match self {
            BackendKind::Flex => cfg!(feature = "flex"),
            BackendKind::Ndarray => cfg!(feature = "ndarray"),
            BackendKind::Wgpu => cfg!(feature = "wgpu"),
            BackendKind::Cuda => cfg!(feature = "cuda"),
        }
    }

    /// The backends compiled into this binary.
    pub fn compiled() -> Vec<BackendKind> {
        Self::ALL.into_iter().filter(|b| b.is_compiled()).collect()
    }
}

impl std::fmt::Display for BackendKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for BackendKind {
    type Err = TrainError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|b| b.name() == s)
            .ok_or_else(|| TrainError::UnknownBackend(s.to_string()))
    }
}

/// The device for `backend`: a clear error, never a panic, when the backend was not compiled
/// in or when no GPU is there.
pub fn select_device(backend: BackendKind) -> Result<Device, TrainError> {
    if !backend.is_compiled() {
        return Err(TrainError::BackendNotCompiled {
            backend,
            compiled: BackendKind::compiled(),
        });
    }
    match backend {
        #[cfg(feature = "flex")]
        BackendKind::Flex => Ok(Device::flex()),
        #[cfg(feature = "ndarray")]
        #[allow(deprecated)]
        BackendKind::Ndarray => Ok(Device::ndarray()),
        #[cfg(feature = "wgpu")]
        BackendKind::Wgpu => wgpu_device(),
        #[cfg(feature = "cuda")]
        BackendKind::Cuda => first_gpu(burn::tensor::DeviceType::Cuda, backend),
        #[allow(unreachable_patterns)]
        _ => Err(TrainError::BackendNotCompiled {
            backend,
            compiled: BackendKind::compiled(),
        }),
    }
}

/// The wgpu device of this process, set up on its first call and shared by every later one
/// (Burn sets up a wgpu runtime once per process; a second set-up is an error).
///
/// Vulkan first: where it shows an adapter (a GPU, or Mesa's software device on a machine
/// without one) that adapter is taken, the most powerful one unless
/// `CUBECL_WGPU_DEFAULT_DEVICE` names another. Only where Vulkan shows none does cubecl
/// choose among the other graphics APIs (Metal, DX12, OpenGL). Set-up failures come back as
/// errors from the runtime, not as panics.
#[cfg(feature = "wgpu")]
fn wgpu_device() -> Result<Device, TrainError> {
    use burn::tensor::wgpu::WgpuBackend;
    static DEVICE: std::sync::OnceLock<Result<Device, String>> = std::sync::OnceLock::new();
    DEVICE
        .get_or_init(|| {
            Device::wgpu_options()
                .graphics_api(WgpuBackend::Vulkan)
                .init()
                .or_else(|vulkan| {
                    Device::wgpu_options()
                        .init()
                        .map_err(|other| format!("Vulkan: {vulkan}; other graphics APIs: {other}"))
                })
        })
        .clone()
        .map_err(|message| TrainError::NoDevice {
            backend: BackendKind::Wgpu,
            detail: format!(": {message}"),
        })
}

/// The first device of a GPU backend, probed without letting a worker thread panic.
#[cfg(feature = "cuda")]
fn first_gpu(kind: burn::tensor::DeviceType, backend: BackendKind) -> Result<Device, TrainError> {
    let no_device = || TrainError::NoDevice {
        backend,
        detail: String::new(),
    };
    let probe = std::panic::catch_unwind(|| Device::enumerate(kind).into_vec());
    match probe {
        Ok(devices) => devices.into_iter().next().ok_or_else(no_device),
        Err(_) => Err(no_device()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for b in BackendKind::ALL {
            assert_eq!(b.name().parse::<BackendKind>().unwrap(), b);
        }
        assert!("tpu".parse::<BackendKind>().is_err());
    }

    #[test]
    fn missing_backend_is_an_error_naming_the_feature() {
        for b in BackendKind::ALL.into_iter().filter(|b| !b.is_compiled()) {
            let err = select_device(b).unwrap_err().to_string();
            assert!(err.contains(&format!("--features {}", b.name())), "{err}");
        }
        assert!(select_device(BackendKind::Flex).is_ok());
    }
}
