//! `reproduce`: every claim of the paper at CPU scale, and the results page.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use hpn_train::reproduce::{ReproduceOptions, page, reproduce, results_dir};
use hpn_train::{BackendKind, select_device};

use crate::reference::Reference;

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
    /// Also train the key settings of each claim with reference/hpn_torch.py (PyTorch) and
    /// give a fidelity verdict per setting.
    #[arg(long)]
    reference: bool,
    /// Python interpreter for --reference (one that can import torch and numpy).
    #[arg(long, env = "HPN_PYTHON", default_value = "python3")]
    python: String,
    /// Threads the reference's torch may use.
    #[arg(long, default_value_t = 2)]
    reference_threads: usize,
}

pub fn run(args: ReproduceArgs) -> Result<()> {
    let out = PathBuf::from(if args.quick {
        "runs/reproduce-quick"
    } else {
        "runs/reproduce"
    });
    let reference = args.reference.then(|| Reference {
        python: args.python.clone(),
        script: PathBuf::from("reference/hpn_torch.py"),
        threads: args.reference_threads.max(1),
        report_only: args.report_only,
    });
    // Before any training: a missing PyTorch is found now, not after hours of hpn runs.
    if let Some(reference) = &reference {
        reference.check()?;
    }
    let options = ReproduceOptions {
        configs: args.configs,
        quick: args.quick,
        out: out.clone(),
        only: args.only,
        quiet: args.quiet,
        report_only: args.report_only,
    };
    let mut result = reproduce(&options).context("reproduction failed")?;
    if let Some(reference) = &reference {
        let sections = crate::reference::sections(reference, &result.claims, &out)
            .context("the reference implementation failed")?;
        result.markdown = page(&result.claims, &result.notes, &options, &sections);
    }
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
