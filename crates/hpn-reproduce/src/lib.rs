//! # hpn-reproduce: the paper's claims, run at CPU scale and judged
//!
//! The claims of Mettes et al. (NeurIPS 2019) that hpn checks live as data in
//! `configs/reproduce/claims.toml` ([`Manifest`]): each claim's statement, the rows of its
//! table (an experiment file each, written by `configs/reproduce/generate.py` from the same
//! manifest) and the [`Rule`] that decides it. [`reproduce`] trains the rows (or reuses
//! finished runs), [`judge`] turns their summaries into a [`Verdict`] (held, did not hold, a
//! tie, not decided, with the figures behind it; runs that collapsed are never evidence),
//! [`reference::attach`] puts the PyTorch reference beside hpn, and [`publish`] writes the
//! results page.
//!
//! ```no_run
//! use hpn_reproduce::{ReproduceOptions, reproduce, render};
//!
//! let reproduction = reproduce(&ReproduceOptions {
//!     configs: "configs/reproduce".into(),
//!     quick: true,
//!     out: "runs/reproduce-quick".into(),
//!     only: vec!["claim4".into()],
//!     quiet: false,
//!     report_only: false,
//!     published: None,
//! })?;
//! for claim in &reproduction.claims {
//!     println!("{}: {}", claim.claim.id, claim.verdict.outcome().label());
//! }
//! println!("{}", render(&reproduction));
//! # Ok::<(), hpn_reproduce::ReproduceError>(())
//! ```

mod error;
mod manifest;
mod page;
mod plot;
mod publish;
mod record;
pub mod reference;
mod results;
mod rules;
mod run;
mod verdict;

pub use error::ReproduceError;
pub use manifest::{Claim, Experiment, Imbalance, MANIFEST_FILE, Manifest, Metric, PlotSpec, Row};
pub use page::{fidelity_markdown, render, verdict_markdown};
pub use plot::{claim_figure, has_figure};
pub use publish::{publish, results_dir};
pub use record::{Record, ReferenceRecord, ReferenceSeed, combine, missing_seeds};
pub use results::Results;
pub use rules::{ROTATED_ACCURACY_BAR, ROTATED_MAE_BAR, Rule, TEN_CLASS_BAR};
pub use run::{ClaimOutcome, ReproduceOptions, Reproduction, quick_version, reproduce};
pub use verdict::{Finding, Outcome, Verdict, judge};
