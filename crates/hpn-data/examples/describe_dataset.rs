//! Reads a dataset and prints its per-class counts and problems ([`hpn_data::describe`]).
//!
//! `cargo run --release -p hpn-data --example describe_dataset -- <kind> <path>` with kind one of
//! `mnist`, `cifar10`, `cifar100`, `image-folder`, `tiny-imagenet`, `cub200`.

use std::io::Write;
use std::path::Path;
use std::time::Instant;

use hpn_data::{
    describe, read_cifar10_bin, read_cifar100_bin, read_cub200, read_image_folder, read_mnist_dir,
    read_tiny_imagenet,
};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [kind, path] = args.as_slice() else {
        return Err("usage: describe_dataset <kind> <path>".into());
    };
    let path = Path::new(path);
    let start = Instant::now();
    let splits = match kind.as_str() {
        "mnist" => read_mnist_dir(path)?,
        "cifar10" => read_cifar10_bin(path)?,
        "cifar100" => read_cifar100_bin(path, true)?,
        "image-folder" => read_image_folder(path, None, None)?,
        "tiny-imagenet" => read_tiny_imagenet(path, None)?,
        "cub200" => read_cub200(path, 256, None)?,
        other => return Err(format!("unknown kind {other:?}").into()),
    };
    // Ignore a closed pipe (e.g. `| head`).
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "read in {:.2} s", start.elapsed().as_secs_f64());
    let _ = writeln!(out, "{}", describe(&splits));
    Ok(())
}
