//! `bench prototypes`: Markdown tables comparing the default `uniform` placer with the authors'
//! update.
//!
//! Grid: K = 100 with D = 3, 5, 10, 25, 50, 100 and K = 200 with D = 25, 50, 100, 200 (the
//! paper's settings), then the Tammes problem on S^2 for K = 4..24, then `privileged` with the
//! committed GloVe class-name vectors (MNIST and CIFAR-10 at D = 2, 3, 5; CIFAR-100 at D = 3, 5,
//! 10). Times are medians of `--runs` runs on `Device::flex()`.

use anyhow::Result;
use clap::Args;

#[derive(Args, Debug)]
pub struct PrototypesArgs {
    /// Runs per figure; the median time is printed.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u64).range(1..))]
    runs: u64,
    /// Leave out the authors' update at 10,000 steps (the slowest column).
    #[arg(long)]
    skip_10k: bool,
    /// Only the `privileged` table.
    #[arg(long)]
    privileged_only: bool,
    /// Folder of the class-name word vectors.
    #[arg(long, default_value = "datasets/word-vectors")]
    words: PathBuf,
}

use std::path::{Path, PathBuf};
use std::time::Instant;

use burn::tensor::Device;
use hpn_prototypes::{
    PlacementOptions, PrototypeError, Prototypes, WordVectors, place_privileged, place_uniform,
    place_uniform_authors, ranking_agreement, separation_stats,
};

/// Best known smallest angles (degrees) of K points on S^2, K = 4..24 (Sloane's tables).
const TAMMES_DEGREES: [f64; 21] = [
    109.4712, 90.0, 90.0, 77.8695, 74.8585, 70.5288, 66.1468, 63.4349, 63.4349, 57.1367, 55.6706,
    53.6579, 52.2444, 51.0903, 49.5567, 47.6919, 47.4310, 45.6132, 44.7402, 43.7100, 43.6908,
];

type Placer<'a> = dyn Fn(usize, usize) -> Result<Prototypes, PrototypeError> + 'a;

/// Runs `placer` `runs` times; returns the max cosine of the last run and the median seconds.
fn measure(placer: &Placer<'_>, classes: usize, dims: usize, runs: usize) -> (f32, f64) {
    let mut seconds = Vec::with_capacity(runs);
    let mut max_cosine = f32::NAN;
    for _ in 0..runs {
        let start = Instant::now();
        match placer(classes, dims) {
            Ok(p) => max_cosine = separation_stats(&p).max_cosine,
            Err(e) => {
                eprintln!("K = {classes}, D = {dims}: {e}");
                return (f32::NAN, f64::NAN);
            }
        }
        seconds.push(start.elapsed().as_secs_f64());
    }
    seconds.sort_by(f64::total_cmp);
    (max_cosine, seconds[seconds.len() / 2])
}

/// The best possible max cosine where it is known (docs/paper-facts.md, section 5).
fn best_possible(classes: usize, dims: usize) -> String {
    if classes <= dims + 1 {
        format!("{:+.4}", -1.0 / (classes as f64 - 1.0))
    } else if classes <= 2 * dims {
        "0".into()
    } else {
        "(open)".into()
    }
}

pub fn run(args: PrototypesArgs) -> Result<()> {
    let runs = args.runs as usize;
    let skip_long = args.skip_10k;
    let device = Device::flex();
    if args.privileged_only {
        privileged_table(runs, &args.words, &device);
        return Ok(());
    }
    let options = PlacementOptions::default();
    let uniform = |k: usize, d: usize| place_uniform(k, d, &options, &mut |_| {}, &device);
    let authors = |steps: usize| {
        let options = PlacementOptions {
            steps: Some(steps),
            ..PlacementOptions::default()
        };
        let device = device.clone();
        move |k: usize, d: usize| place_uniform_authors(k, d, &options, &mut |_| {}, &device)
    };
    let authors_1k = authors(1_000);
    let authors_10k = authors(10_000);

    println!("Max cosine (lower is better) and seconds (median of {runs} runs, Device::flex()).\n");
    println!(
        "| K | D | uniform (default) | s | authors 1,000 steps | s | authors 10,000 steps | s | best possible |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    let grid = [
        (100, 3),
        (100, 5),
        (100, 10),
        (100, 25),
        (100, 50),
        (100, 100),
        (200, 25),
        (200, 50),
        (200, 100),
        (200, 200),
    ];
    for (classes, dims) in grid {
        let (ours, ours_s) = measure(&uniform, classes, dims, runs);
        let (short, short_s) = measure(&authors_1k, classes, dims, runs);
        let (long, long_s) = if skip_long {
            (f32::NAN, f64::NAN)
        } else {
            measure(&authors_10k, classes, dims, runs)
        };
        println!(
            "| {classes} | {dims} | {ours:+.4} | {ours_s:.3} | {short:+.4} | {short_s:.3} | {long:+.4} | {long_s:.2} | {} |",
            best_possible(classes, dims)
        );
    }

    println!(
        "\nSmallest angle (degrees, higher is better) of K points on S^2, default `uniform` placer.\n"
    );
    println!("| K | uniform | s | best known | gap |");
    println!("|---|---|---|---|---|");
    let mut worst: f64 = 0.0;
    for (index, best) in TAMMES_DEGREES.iter().enumerate() {
        let classes = index + 4;
        let (max_cosine, seconds) = measure(&uniform, classes, 3, runs);
        let angle = f64::from(max_cosine).clamp(-1.0, 1.0).acos().to_degrees();
        worst = worst.max(best - angle);
        println!(
            "| {classes} | {angle:.4} | {seconds:.3} | {best:.4} | {:.4} |",
            best - angle
        );
    }
    println!("\nLargest gap to the best known angle: {worst:.4} degrees.");
    privileged_table(runs, &args.words, &device);
    Ok(())
}

/// Smallest angle and word-ranking agreement of `privileged` against `uniform`.
fn privileged_table(runs: usize, words_dir: &Path, device: &Device) {
    println!(
        "\n`privileged` with GloVe 6B 50-d class names: smallest angle (degrees), its floor (half of \
         `uniform`'s), and the fraction of word-vector triplet orders kept (`ranking_agreement`).\n"
    );
    println!(
        "| classes | K | D | privileged angle | floor | uniform angle | ranking privileged | ranking uniform | s |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    let options = PlacementOptions::default();
    for (name, grid) in [
        ("mnist", &[2, 3, 5][..]),
        ("cifar10", &[2, 3, 5][..]),
        ("cifar100", &[3, 5, 10][..]),
    ] {
        let words = match WordVectors::load(&words_dir.join(format!("{name}.txt"))) {
            Ok(w) => w,
            Err(e) => {
                eprintln!("{name}: {e}");
                continue;
            }
        };
        let classes = words.len();
        for &dims in grid {
            let uniform = match place_uniform(classes, dims, &options, &mut |_| {}, device) {
                Ok(p) => p,
                Err(e) => {
                    eprintln!("{name} D = {dims}: {e}");
                    continue;
                }
            };
            let mut seconds = Vec::with_capacity(runs);
            let mut placed = None;
            for _ in 0..runs {
                let start = Instant::now();
                placed = Some(place_privileged(
                    classes,
                    dims,
                    &words,
                    &options,
                    &mut |_| {},
                    device,
                ));
                seconds.push(start.elapsed().as_secs_f64());
            }
            seconds.sort_by(f64::total_cmp);
            let p = match placed {
                Some(Ok(p)) => p,
                Some(Err(e)) => {
                    eprintln!("{name} D = {dims}: {e}");
                    continue;
                }
                None => continue,
            };
            let (ours, theirs) = (separation_stats(&p), separation_stats(&uniform));
            println!(
                "| {name} | {classes} | {dims} | {:.1} | {:.1} | {:.1} | {:.3} | {:.3} | {:.2} |",
                ours.min_angle_degrees,
                theirs.min_angle_degrees / 2.0,
                theirs.min_angle_degrees,
                ranking_agreement(&p, &words),
                ranking_agreement(&uniform, &words),
                seconds[seconds.len() / 2]
            );
        }
    }
}
