//! Class prototypes and regression poles on the unit hypersphere S^{D-1}, as in
//! *Hyperspherical Prototype Networks* (Mettes, van der Pol, Snoek, NeurIPS 2019).
//!
//! Every class k gets a fixed unit vector p_k chosen before training; a network is then trained
//! to point its output at its class's prototype. This crate places the prototypes:
//!
//! - [`place_uniform`]: as far apart as possible (the aim of paper Eq. 5): exact optima where a
//!   closed form exists (regular simplex for K <= D + 1, circle for D = 2, cross-polytope for
//!   K <= 2D), an annealed smooth max-cosine optimisation with restarts otherwise;
//! - [`place_uniform_authors`]: Eq. 5 with the authors' exact update, for comparison;
//! - [`place_privileged`]: Eq. 5 + Eq. 6, keeping the similarity ranking of word vectors;
//! - [`place_circle`], [`place_one_hot`], [`place_word_vectors`]: the paper's fixed layouts
//!   and baselines;
//! - [`extend_layout`]: new prototypes for classes that arrive later, the old rows kept bit for
//!   bit ([`extension_stats`] measures new-to-old and new-to-new separation);
//!
//! and measures them ([`separation_stats`], the paper's Table 2; [`ranking_agreement`]), saves
//! and loads them in the authors' `.npy` format ([`Prototypes::save_npy`],
//! [`Prototypes::load_npy`]) and builds the output layouts of regression and the joint task
//! ([`OutputLayout`], Sec. 2.2-2.3). [`Placement`] is the single entry point by [`PlacementMethod`].
//!
//! Optimising placers run as Burn tensor operations on the [`Device`](burn::tensor::Device)
//! they are given; every random choice is seeded ([`PlacementOptions::seed`]).
//!
//! ```
//! use burn::tensor::Device;
//! use hpn_prototypes::{Placement, PlacementMethod, separation_stats};
//!
//! let device = Device::flex();
//! // 10 classes in 9 dimensions: the regular simplex, every cosine exactly -1/9.
//! let p = Placement::new(PlacementMethod::Uniform, 10, 9).place(&device)?;
//! assert_eq!((p.classes(), p.dims()), (10, 9));
//! assert!((separation_stats(&p).max_cosine + 1.0 / 9.0).abs() < 1e-6);
//!
//! // 20 classes on S^2 (K > 2D): optimised; every pair at least 45 degrees apart.
//! let p = Placement::new(PlacementMethod::Uniform, 20, 3).place(&device)?;
//! assert!(separation_stats(&p).min_angle_degrees > 45.0);
//! # Ok::<(), hpn_prototypes::PrototypeError>(())
//! ```

mod authors;
mod baselines;
mod closed_form;
mod error;
mod extend;
mod layout;
mod npy;
mod objectives;
mod placement;
mod privileged;
mod prototypes;
mod random;
mod separation;
mod tensor_io;
mod uniform;
mod word_vectors;

pub use authors::{AUTHORS_DEFAULT_LEARNING_RATE, AUTHORS_DEFAULT_STEPS, place_uniform_authors};
pub use baselines::{place_circle, place_one_hot};
pub use error::PrototypeError;
pub use extend::{EXTENSION_MIN_ANGLE_FRACTION, ExtensionStats, extend_layout, extension_stats};
pub use layout::OutputLayout;
pub use objectives::{
    cosine_matrix, privileged_loss, privileged_loss_with, triplet_targets, triplet_weights,
    uniformity_loss,
};
pub use placement::{Placement, PlacementMethod, PlacementOptions, PlacementProgress};
pub use privileged::{
    PRIVILEGED_DEFAULT_LEARNING_RATE, PRIVILEGED_DEFAULT_STEPS, PRIVILEGED_MAX_CLASSES,
    place_privileged, ranking_agreement,
};
pub use prototypes::{Prototypes, UNIT_NORM_TOLERANCE};
pub use separation::{SeparationStats, separation_stats};
pub use uniform::{UNIFORM_DEFAULT_LEARNING_RATE, UNIFORM_DEFAULT_STEPS, place_uniform};
pub use word_vectors::{WordVectors, place_word_vectors};
