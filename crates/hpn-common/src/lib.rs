//! # hpn-common: what every hpn crate needs the same way
//!
//! - [`derive_seed`] and [`stream`]: the one way a seed is mixed with other numbers (an epoch,
//!   an image index, a restart) into a new seed or a random stream, so that every random choice
//!   of hpn is a pure function of its inputs, whatever the thread count or call order.
//! - [`write_atomic`]: the one way a file is written, so a killed run never leaves a
//!   half-written file behind.
//!
//! ```
//! use hpn_common::{derive_seed, stream};
//! use rand::Rng;
//!
//! // The shuffle seed of epoch 3 of training seed 7 is the same on every call and machine.
//! assert_eq!(derive_seed(&[7, 3]), derive_seed(&[7, 3]));
//! assert_ne!(derive_seed(&[7, 3]), derive_seed(&[3, 7]));
//! let mut rng = stream(&[7, 3, 12]);
//! let _ = rng.next_u64();
//! ```

mod atomic_file;
mod seed;

pub use atomic_file::write_atomic;
pub use seed::{derive_seed, stream};
