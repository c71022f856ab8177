//! `reproduce`: every claim of the paper at CPU scale, and the results page.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use hpn_train::reproduce::{ReproduceOptions, reproduce, results_dir};
use hpn_train::{BackendKind, select_device};

#[derive(Args, Debug)]
pub struct ReproduceArgs {
    /// Smoke-sized version (one seed, one epoch, 20 images per class) into runs/reproduce-quick.
    #[arg(long)]
    quick: bool,
    /// Only these claims, e.g. --only claim1,claim5.
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
    /// Directory of the experiment files.
    #[arg(long, default_value = "configs/reproduce")]
    configs: PathBuf,
    /// No progress display.
    #[arg(long)]
    quiet: bool,
    /// Train nothing: rebuild the results page from the runs finished so far.
    #[arg(long)]
    report_only: bool,
}

pub fn run(args: ReproduceArgs) -> Result<()> {
    let out = PathBuf::from(if args.quick {
        "runs/reproduce-quick"
    } else {
        "runs/reproduce"
    });
    let options = ReproduceOptions {
        configs: args.configs,
        quick: args.quick,
        out: out.clone(),
        only: args.only,
        quiet: args.quiet,
        report_only: args.report_only,
    };
    let result = reproduce(&options).context("reproduction failed")?;
    let dir = results_dir(&PathBuf::from("."), args.quick, &out);
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    for (claim, results) in &result.claims {
        for (config, summary) in &results.summaries {
            if let Some(s) = summary {
                let runs = dir.join("runs");
                std::fs::create_dir_all(&runs)?;
                // The first seed's curves beside its table.
                let seed = s.seeds.first().map(|x| x.seed).unwrap_or_default();
                let curves = out
                    .join(config)
                    .join(format!("seed-{seed}"))
                    .join("curves.svg");
                let mut md = s.markdown();
                if curves.exists() {
                    std::fs::copy(&curves, runs.join(format!("{config}.svg")))
                        .with_context(|| format!("cannot copy {}", curves.display()))?;
                    md.push_str(&format!(
                        "\n![seed {seed}: test metric and training loss by epoch]({config}.svg)\n"
                    ));
                }
                std::fs::write(runs.join(format!("{config}.md")), md)?;
            }
        }
        if claim.id == "claim1" && results.summaries.iter().any(|(_, s)| s.is_some()) {
            let device = select_device(BackendKind::Flex)?;
            let run_dir = out.join("claim1-rotated-mnist-joint");
            let run = hpn_train::inference::load_run(&run_dir, None, &device)?;
            let o = hpn_train::inference::eval_outputs(&run, &run_dir, &device)?;
            if o.width == 3 {
                let png = dir.join("claim1-sphere.png");
                hpn_train::plot::sphere_figure(&png, &o.outputs, &o.labels, &o.targets)?;
                println!("wrote {}", png.display());
            }
        }
    }
    let page = dir.join("README.md");
    std::fs::write(&page, &result.markdown)
        .with_context(|| format!("cannot write {}", page.display()))?;
    println!("{}", result.markdown);
    println!("wrote {}", page.display());
    Ok(())
}
