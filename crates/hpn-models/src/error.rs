//! Errors of backbone configurations and inputs.

use thiserror::Error;

/// What can be wrong with a [`BackboneConfig`](crate::BackboneConfig) or an input batch.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ModelError {
    /// A CIFAR ResNet depth that is not `6n + 2` with `n >= 1` (8, 14, 20, 32, 44, 56, 110, ...).
    #[error("backbone depth: expected 6n + 2 with n >= 1 (8, 14, 20, 32, 56, ...), got {depth}")]
    InvalidDepth {
        /// The depth that was asked for.
        depth: usize,
    },
    /// A size of the configuration that must be at least 1 is 0.
    #[error("backbone {field}: expected at least 1, got 0")]
    Zero {
        /// The configuration field (`outputs`, `in_channels` or `width`).
        field: &'static str,
    },
    /// An input batch whose number of channels differs from the network's.
    #[error("input images: expected {expected} channels, got {actual}")]
    ChannelMismatch {
        /// The network's input channels.
        expected: usize,
        /// The batch's channels.
        actual: usize,
    },
    /// An input batch smaller than the network's down-sampling can handle.
    #[error("input images: {backbone} needs at least {min}x{min} pixels, got {height}x{width}")]
    InputTooSmall {
        /// The network.
        backbone: &'static str,
        /// The smallest height and width it accepts.
        min: usize,
        /// The batch's height.
        height: usize,
        /// The batch's width.
        width: usize,
    },
    /// An output layer grown into one that is not wider, or of another network.
    #[error("growing the output layer: {from} cannot become {to} (same network, more outputs)")]
    Growth {
        /// The network being grown.
        from: String,
        /// The network it was to take its new outputs from.
        to: String,
    },
}
