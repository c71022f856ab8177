//! `reproduce`: every claim of the paper at CPU scale, and the results page (hpn-reproduce).

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use hpn_reproduce::reference::{Reference, attach, attach_published};
use hpn_reproduce::{ReproduceOptions, publish, render, reproduce, results_dir};
use hpn_train::{BackendKind, select_device};

#[derive(Args, Debug)]
pub struct ReproduceArgs {
    /// Smoke-sized version (one seed, one epoch, 20 images per class) into runs/reproduce-quick.
    #[arg(long)]
    quick: bool,
    /// Train only these claims, e.g. --only claim1,claim5 (the page still shows the others
    /// from their published records).
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
    /// Folder of the claims manifest (claims.toml) and the experiment files.
    #[arg(long, default_value = "configs/reproduce")]
    configs: PathBuf,
    /// No progress display.
    #[arg(long)]
    quiet: bool,
    /// Train nothing: rebuild the results page from the published records
    /// (docs/results/runs/*.json) and the runs finished so far.
    #[arg(long)]
    report_only: bool,
    /// Train every seed again, even those the published records hold.
    #[arg(long, conflicts_with = "report_only")]
    retrain: bool,
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
    let dir = results_dir(&PathBuf::from("."), args.quick, &out);
    let options = ReproduceOptions {
        configs: args.configs,
        quick: args.quick,
        out: out.clone(),
        only: args.only,
        quiet: args.quiet,
        report_only: args.report_only,
        published: (!args.quick && !args.retrain).then(|| dir.join("runs")),
    };
    let mut reproduction = reproduce(&options).context("reproduction failed")?;
    match &reference {
        Some(reference) => attach(reference, &mut reproduction, &out)
            .context("the reference implementation failed")?,
        None => attach_published(&mut reproduction),
    }
    let device = select_device(BackendKind::Flex)?;
    let page = publish(&reproduction, &out, &dir, &device)
        .with_context(|| format!("cannot write the results under {}", dir.display()))?;
    println!("{}", render(&reproduction));
    println!("wrote {}", page.display());
    Ok(())
}
