//! Choosing a placement: the method names, the options, progress reports and [`place`].

use std::fmt;
use std::str::FromStr;

use burn::tensor::Device;

use crate::error::PrototypeError;
use crate::prototypes::Prototypes;
use crate::word_vectors::WordVectors;

/// How class prototypes are placed on S^{D-1}.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PlacementMethod {
    /// Maximal separation (paper Eq. 5), done well: the regular simplex for K <= D + 1, the
    /// cross-polytope for K <= 2D, the circle for D = 2, otherwise an annealed smooth max-cosine
    /// optimisation with restarts (see [`place_uniform`](crate::place_uniform)).
    Uniform,
    /// Eq. 5 optimised with the authors' exact update (Gaussian start, projected gradient descent,
    /// lr 0.1, 10,000 steps), for comparison (see [`place_uniform_authors`](crate::place_uniform_authors)).
    UniformAuthors,
    /// Eq. 5 + Eq. 6: separation plus the word-vector ranking of privileged information, with
    /// no pair closer than half the `uniform` layout's smallest angle
    /// (see [`place_privileged`](crate::place_privileged)).
    Privileged,
    /// D = 2 only: angles 2 pi k / K.
    Circle,
    /// D >= K: class k gets the basis vector e_k (the paper's one-hot baseline).
    OneHot,
    /// The normalised word vectors themselves, projected to D dimensions when needed (the
    /// paper's word2vec baseline).
    WordVectors,
}

impl PlacementMethod {
    /// Every method, in declaration order.
    pub const ALL: [PlacementMethod; 6] = [
        PlacementMethod::Uniform,
        PlacementMethod::UniformAuthors,
        PlacementMethod::Privileged,
        PlacementMethod::Circle,
        PlacementMethod::OneHot,
        PlacementMethod::WordVectors,
    ];

    /// The kebab-case name used in configs, file names and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            PlacementMethod::Uniform => "uniform",
            PlacementMethod::UniformAuthors => "uniform-authors",
            PlacementMethod::Privileged => "privileged",
            PlacementMethod::Circle => "circle",
            PlacementMethod::OneHot => "one-hot",
            PlacementMethod::WordVectors => "word-vectors",
        }
    }

    /// Whether the method reads word vectors.
    pub fn needs_word_vectors(self) -> bool {
        matches!(
            self,
            PlacementMethod::Privileged | PlacementMethod::WordVectors
        )
    }
}

impl fmt::Display for PlacementMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for PlacementMethod {
    type Err = PrototypeError;

    /// Parses the kebab-case name written by `Display` (and by serde).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        PlacementMethod::ALL
            .into_iter()
            .find(|m| m.name() == s)
            .ok_or_else(|| PrototypeError::UnknownMethod {
                name: s.to_string(),
                expected: PlacementMethod::ALL.map(|m| m.name()).join(", "),
            })
    }
}

/// Knobs of the placers. Every field has a default; `None` means "the method's own default".
#[derive(Clone, Debug, PartialEq)]
pub struct PlacementOptions {
    /// Seed of every random choice (initial rows, restarts, rotations, projections).
    /// Default 300, the authors' seed.
    pub seed: u64,
    /// Optimisation steps. Defaults: `uniform` 500 (annealed, per restart batch),
    /// `uniform-authors` 10,000, `privileged` 1,000. Ignored by closed forms.
    pub steps: Option<usize>,
    /// Step size. Defaults: `uniform` 0.2 (start of its decaying schedule),
    /// `uniform-authors` 0.1 (the authors' value), `privileged` 0.01 (Adam).
    pub learning_rate: Option<f32>,
    /// `uniform` and `privileged`: independent starts, the best kept (`uniform`: optimised
    /// together as one batch, best by max cosine, default about 8,000 / K^2 in 1..=64;
    /// `privileged`: one after another, best by Eq. 5 + Eq. 6 among those that keep the
    /// separation floor, default about 1,000 / K^2 in 1..=16).
    pub restarts: Option<usize>,
    /// `uniform` only: put closed-form layouts (simplex, cross-polytope) in a seeded random
    /// orientation instead of along the coordinate axes. Default true.
    pub random_rotation: bool,
    /// How often (in steps) an optimising placer reports progress. Default 100.
    pub progress_every: usize,
}

impl Default for PlacementOptions {
    fn default() -> Self {
        Self {
            seed: 300,
            steps: None,
            learning_rate: None,
            restarts: None,
            random_rotation: true,
            progress_every: 100,
        }
    }
}

impl PlacementOptions {
    /// The number of steps and the learning rate, each the option when set, else the placer's
    /// default.
    pub(crate) fn steps_and_rate(&self, steps: usize, learning_rate: f32) -> (usize, f32) {
        (
            self.steps.unwrap_or(steps),
            self.learning_rate.unwrap_or(learning_rate),
        )
    }

    /// Checks every value: steps, restarts and progress interval >= 1, learning rate finite > 0.
    pub fn validate(&self) -> Result<(), PrototypeError> {
        if self.steps == Some(0) {
            return Err(PrototypeError::InvalidOption {
                option: "steps",
                value: "0".into(),
                expected: "at least 1 step".into(),
            });
        }
        if let Some(lr) = self.learning_rate
            && !(lr.is_finite() && lr > 0.0)
        {
            return Err(PrototypeError::InvalidOption {
                option: "learning_rate",
                value: lr.to_string(),
                expected: "a finite number > 0".into(),
            });
        }
        if self.restarts == Some(0) {
            return Err(PrototypeError::InvalidOption {
                option: "restarts",
                value: "0".into(),
                expected: "at least 1 restart".into(),
            });
        }
        if self.progress_every == 0 {
            return Err(PrototypeError::InvalidOption {
                option: "progress_every",
                value: "0".into(),
                expected: "at least 1 step".into(),
            });
        }
        Ok(())
    }
}

/// A progress report of an optimising placer: after step `step` (0-based) of `total`, the
/// largest cosine between two prototypes is `max_cosine`. Closed forms report once, with
/// `step = 0`, `total = 1`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PlacementProgress {
    /// The step just done, 0-based.
    pub step: usize,
    /// The number of steps of the whole placement.
    pub total: usize,
    /// The largest pairwise cosine now (the best restart's, for `uniform`).
    pub max_cosine: f32,
}

/// Checks K >= 2 and D >= 1, which every placer needs.
pub(crate) fn check_shape(classes: usize, dims: usize) -> Result<(), PrototypeError> {
    if classes < 2 {
        return Err(PrototypeError::TooFewClasses {
            classes,
            minimum: 2,
        });
    }
    if dims < 1 {
        return Err(PrototypeError::TooFewDims { dims });
    }
    Ok(())
}

/// Reports a finished closed-form layout as one step of one.
pub(crate) fn report_closed_form(p: &Prototypes, progress: &mut dyn FnMut(PlacementProgress)) {
    progress(PlacementProgress {
        step: 0,
        total: 1,
        max_cosine: crate::separation::separation_stats(p).max_cosine,
    });
}

/// What to place: `classes` prototypes on S^(dims - 1) with `method`, the word vectors
/// `privileged` and `word-vectors` read (one row per class, in class order), and the placers'
/// knobs. The one entry point a training program needs; deterministic for a fixed
/// `options.seed`.
///
/// ```
/// use burn::tensor::Device;
/// use hpn_prototypes::{Placement, PlacementMethod};
///
/// let p = Placement::new(PlacementMethod::Uniform, 4, 3).place(&Device::flex())?;
/// assert_eq!((p.classes(), p.dims()), (4, 3));
/// # Ok::<(), hpn_prototypes::PrototypeError>(())
/// ```
#[derive(Clone, Debug)]
pub struct Placement<'a> {
    /// The placer.
    pub method: PlacementMethod,
    /// K, the number of classes.
    pub classes: usize,
    /// D, the dimension of the space the prototypes live in (on S^(D-1)).
    pub dims: usize,
    /// Class-name word vectors, for `privileged` and `word-vectors`; ignored by the others.
    pub word_vectors: Option<&'a WordVectors>,
    /// Seed, steps, learning rate, restarts and the other knobs.
    pub options: PlacementOptions,
}

impl<'a> Placement<'a> {
    /// `classes` prototypes in `dims` dimensions with `method` and default options.
    pub fn new(method: PlacementMethod, classes: usize, dims: usize) -> Self {
        Placement {
            method,
            classes,
            dims,
            word_vectors: None,
            options: PlacementOptions::default(),
        }
    }

    /// The same placement reading these word vectors.
    pub fn with_word_vectors(mut self, words: &'a WordVectors) -> Self {
        self.word_vectors = Some(words);
        self
    }

    /// The same placement with these options.
    pub fn with_options(mut self, options: PlacementOptions) -> Self {
        self.options = options;
        self
    }

    /// The same placement with this seed.
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.options.seed = seed;
        self
    }

    /// Places the prototypes on `device` without reporting progress.
    pub fn place(&self, device: &Device) -> Result<Prototypes, PrototypeError> {
        self.place_with_progress(device, &mut |_| {})
    }

    /// Places the prototypes on `device`; an optimising placer calls `progress` every
    /// `options.progress_every` steps, a closed form once.
    pub fn place_with_progress(
        &self,
        device: &Device,
        progress: &mut dyn FnMut(PlacementProgress),
    ) -> Result<Prototypes, PrototypeError> {
        let (method, classes, dims, options) =
            (self.method, self.classes, self.dims, &self.options);
        let words = || {
            self.word_vectors
                .ok_or_else(|| PrototypeError::MissingWordVectors {
                    method: method.name().to_string(),
                })
        };
        match method {
            PlacementMethod::Uniform => {
                crate::uniform::place_uniform(classes, dims, options, progress, device)
            }
            PlacementMethod::UniformAuthors => {
                crate::authors::place_uniform_authors(classes, dims, options, progress, device)
            }
            PlacementMethod::Privileged => crate::privileged::place_privileged(
                classes,
                dims,
                words()?,
                options,
                progress,
                device,
            ),
            PlacementMethod::Circle => {
                let p = crate::baselines::place_circle(classes, dims)?;
                report_closed_form(&p, progress);
                Ok(p)
            }
            PlacementMethod::OneHot => {
                let p = crate::baselines::place_one_hot(classes, dims)?;
                report_closed_form(&p, progress);
                Ok(p)
            }
            PlacementMethod::WordVectors => {
                let p = crate::word_vectors::place_word_vectors(classes, dims, words()?, options)?;
                report_closed_form(&p, progress);
                Ok(p)
            }
        }
    }
}
