//! `prototypes`: place K prototypes on S^{D-1}, or extend a saved layout by K new classes, save
//! them, print their separation.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use clap::Args;
use hpn_prototypes::{Placement, PlacementMethod, PlacementOptions, Prototypes, WordVectors};
use hpn_train::{BackendKind, select_device};
use indicatif::{ProgressBar, ProgressStyle};

#[derive(Args, Debug)]
pub struct PrototypesArgs {
    /// Number of classes K (with --extend: the number of classes added).
    #[arg(long)]
    classes: usize,
    /// Output dimension D (with --extend: the file's, which it must equal when given).
    #[arg(long)]
    dims: Option<usize>,
    /// Extend this layout (.npy, K0 x D): its rows are kept bit for bit and --classes new
    /// prototypes are placed as far as possible from all others.
    #[arg(long, conflicts_with_all = ["method", "word_vectors"])]
    extend: Option<PathBuf>,
    /// uniform, uniform-authors, privileged, circle, one-hot or word-vectors.
    #[arg(long, default_value = "uniform")]
    method: PlacementMethod,
    /// Class-name word vectors (.npy (K, d) or text `name v1 .. vd`), for privileged / word-vectors.
    #[arg(long)]
    word_vectors: Option<PathBuf>,
    /// Seed of the placement.
    #[arg(long, default_value_t = 300)]
    seed: u64,
    /// Optimisation steps (default: the method's own).
    #[arg(long)]
    steps: Option<usize>,
    /// Directory the .npy is written to.
    #[arg(long, default_value = ".")]
    out: PathBuf,
    /// Backend the optimisation runs on.
    #[arg(long, default_value = "flex")]
    backend: BackendKind,
}

pub fn run(args: PrototypesArgs) -> Result<()> {
    if let Some(file) = &args.extend {
        return extend(&args, file);
    }
    let dims = args
        .dims
        .context("--dims is required (unless --extend names a layout to extend)")?;
    let device = select_device(args.backend)?;
    let words = match &args.word_vectors {
        Some(p) => Some(
            WordVectors::load(p)
                .with_context(|| format!("cannot read word vectors {}", p.display()))?,
        ),
        None => None,
    };
    let options = PlacementOptions {
        seed: args.seed,
        steps: args.steps,
        ..PlacementOptions::default()
    };
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template("placing [{bar:30}] {pos}/{len} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let start = Instant::now();
    let mut placement = Placement::new(args.method, args.classes, dims).with_options(options);
    if let Some(words) = &words {
        placement = placement.with_word_vectors(words);
    }
    let prototypes = placement.place_with_progress(&device, &mut |p| {
        bar.set_length(p.total as u64);
        bar.set_position(p.step as u64 + 1);
        bar.set_message(format!("max cos {:.4}", p.max_cosine));
    })?;
    bar.finish_and_clear();
    let seconds = start.elapsed().as_secs_f64();
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;
    let path = args.out.join(Prototypes::file_name(args.classes, dims));
    prototypes.save_npy(&path)?;
    let s = hpn_prototypes::separation_stats(&prototypes);
    println!("wrote {}", path.display());
    println!(
        "{} prototypes in {} dims ({}), {seconds:.2} s",
        args.classes, dims, args.method
    );
    println!(
        "cosine distance min / mean / max: {:.4} / {:.4} / {:.4}",
        s.min_distance, s.mean_distance, s.max_distance
    );
    println!(
        "max cosine {:.6}, smallest angle {:.4} deg",
        s.max_cosine, s.min_angle_degrees
    );
    if let Some(w) = &words {
        println!(
            "word-vector ranking agreement: {:.4}",
            hpn_prototypes::ranking_agreement(&prototypes, w)
        );
    }
    Ok(())
}

/// `--extend FILE --classes M`: the layout of FILE plus M new prototypes.
fn extend(args: &PrototypesArgs, file: &std::path::Path) -> Result<()> {
    let existing = Prototypes::load_npy(file)
        .with_context(|| format!("cannot read the layout to extend, {}", file.display()))?;
    let (old, dims) = (existing.classes(), existing.dims());
    if let Some(d) = args.dims
        && d != dims
    {
        bail!(
            "--dims {d} does not match {}, which holds {old} prototypes in {dims} dimensions",
            file.display()
        );
    }
    let device = select_device(args.backend)?;
    let options = PlacementOptions {
        seed: args.seed,
        steps: args.steps,
        ..PlacementOptions::default()
    };
    let start = Instant::now();
    let extended =
        hpn_prototypes::extend_layout(&existing, args.classes, &options, &mut |_| {}, &device)
            .with_context(|| format!("cannot extend {}", file.display()))?;
    let seconds = start.elapsed().as_secs_f64();
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;
    let path = args
        .out
        .join(Prototypes::file_name(extended.classes(), dims));
    extended.save_npy(&path)?;
    let s = hpn_prototypes::extension_stats(&extended, old);
    println!("wrote {}", path.display());
    println!(
        "{old} + {} prototypes in {dims} dims, {seconds:.2} s; the first {old} rows are those of {}",
        args.classes,
        file.display()
    );
    println!(
        "smallest angle (deg): old-old {:.4}, new-old {:.4}, new-new {:.4}; max cosine {:.6}",
        s.old_to_old_degrees, s.new_to_old_degrees, s.new_to_new_degrees, s.max_cosine
    );
    Ok(())
}
