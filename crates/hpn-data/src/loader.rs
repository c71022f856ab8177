//! Loading batches in a fixed order: the batches of an epoch are a pure function of the data,
//! the seed and the epoch, whatever the number of worker threads and however the threads are
//! scheduled.
//!
//! The order is a shuffle of the indices drawn from `hpn_common::stream`, cut into
//! consecutive batches. Workers build the items of whole batches (decoding, augmentation,
//! normalisation: a pure function of (seed, epoch, index)) ahead of the consumer, at most
//! `2 * workers` batches ahead, and a reorder buffer hands them out in batch order. Tensors are
//! made on the consumer's thread, on its device.

use std::collections::BTreeMap;
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use burn::data::dataloader::batcher::Batcher;
use burn::tensor::Device;
use rand::seq::SliceRandom;

use crate::{AugmentedDataset, DataError, ImageBatch, ImageBatcher, ImageItem};

/// The batches of one [`AugmentedDataset`] (one epoch of it) in a fixed order, built by
/// `workers` background threads (0: on the calling thread) and delivered on `device`.
#[derive(Clone, Debug)]
pub struct BatchLoader {
    dataset: AugmentedDataset,
    order: Arc<Vec<usize>>,
    batch_size: usize,
    workers: usize,
    device: Device,
}

/// The indices `0..len` shuffled (rand's Fisher-Yates) with the stream of `seed`.
fn shuffled(len: usize, seed: u64) -> Vec<usize> {
    let mut order: Vec<usize> = (0..len).collect();
    order.shuffle(&mut hpn_common::stream(&[seed]));
    order
}

impl BatchLoader {
    /// Batches of `batch_size` items of `dataset` (the last may be smaller; 0 is taken as 1), in
    /// the set's order, or shuffled with `shuffle_seed`.
    pub fn new(
        dataset: AugmentedDataset,
        batch_size: usize,
        shuffle_seed: Option<u64>,
        workers: usize,
        device: &Device,
    ) -> Self {
        let len = dataset.set().len();
        let order = match shuffle_seed {
            Some(seed) => shuffled(len, seed),
            None => (0..len).collect(),
        };
        BatchLoader {
            dataset,
            order: Arc::new(order),
            batch_size: batch_size.max(1),
            workers,
            device: device.clone(),
        }
    }

    /// Number of batches.
    pub fn len(&self) -> usize {
        self.order.len().div_ceil(self.batch_size)
    }

    /// Whether there are no batches (an empty set).
    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }

    /// The dataset indices of every batch, in order.
    pub fn batch_indices(&self) -> impl Iterator<Item = &[usize]> {
        self.order.chunks(self.batch_size)
    }

    /// The batches, in order. Each call starts the epoch's batches again (the same ones).
    pub fn iter(&self) -> Batches {
        Batches::new(self)
    }
}

/// The items of batch `b` of `order`.
fn build_items(
    dataset: &AugmentedDataset,
    order: &[usize],
    batch_size: usize,
    b: usize,
) -> Result<Vec<ImageItem>, DataError> {
    let start = b * batch_size;
    let end = (start + batch_size).min(order.len());
    order[start..end].iter().map(|&i| dataset.item(i)).collect()
}

/// Worker threads and the channels to them.
struct Pool {
    jobs: Option<Sender<usize>>,
    results: Receiver<(usize, Result<Vec<ImageItem>, DataError>)>,
    handles: Vec<JoinHandle<()>>,
}

/// The batches of a [`BatchLoader`], in order; see [`BatchLoader::iter`].
pub struct Batches {
    dataset: AugmentedDataset,
    order: Arc<Vec<usize>>,
    batch_size: usize,
    device: Device,
    count: usize,
    next: usize,
    queued: usize,
    ready: BTreeMap<usize, Result<Vec<ImageItem>, DataError>>,
    pool: Option<Pool>,
}

impl Batches {
    fn new(loader: &BatchLoader) -> Self {
        let count = loader.len();
        let mut batches = Batches {
            dataset: loader.dataset.clone(),
            order: loader.order.clone(),
            batch_size: loader.batch_size,
            device: loader.device.clone(),
            count,
            next: 0,
            queued: 0,
            ready: BTreeMap::new(),
            pool: None,
        };
        if loader.workers > 0 && count > 1 {
            let (job_sender, job_receiver) = channel::<usize>();
            let job_receiver = Arc::new(Mutex::new(job_receiver));
            let (result_sender, results) = channel();
            let handles = (0..loader.workers)
                .map(|_| {
                    let jobs = job_receiver.clone();
                    let results = result_sender.clone();
                    let dataset = loader.dataset.clone();
                    let order = loader.order.clone();
                    let batch_size = loader.batch_size;
                    std::thread::spawn(move || {
                        loop {
                            let job = match jobs.lock() {
                                Ok(receiver) => receiver.recv(),
                                Err(_) => return,
                            };
                            let Ok(b) = job else { return };
                            let items = build_items(&dataset, &order, batch_size, b);
                            if results.send((b, items)).is_err() {
                                return;
                            }
                        }
                    })
                })
                .collect();
            batches.pool = Some(Pool {
                jobs: Some(job_sender),
                results,
                handles,
            });
            let ahead = 2 * loader.workers;
            while batches.queued < count.min(ahead) {
                batches.queue_next();
            }
        }
        batches
    }

    /// Hands the next batch number to the workers.
    fn queue_next(&mut self) {
        if self.queued < self.count
            && let Some(jobs) = self.pool.as_ref().and_then(|p| p.jobs.as_ref())
            && jobs.send(self.queued).is_ok()
        {
            self.queued += 1;
        }
    }

    /// The items of batch `b`, from the workers (waiting for them) or built here.
    fn items(&mut self, b: usize) -> Result<Vec<ImageItem>, DataError> {
        let Some(pool) = &self.pool else {
            return build_items(&self.dataset, &self.order, self.batch_size, b);
        };
        while !self.ready.contains_key(&b) {
            match pool.results.recv() {
                Ok((index, items)) => {
                    self.ready.insert(index, items);
                }
                Err(_) => {
                    return Err(DataError::invalid(
                        "loader",
                        "a loader thread stopped before its batch was done",
                    ));
                }
            }
        }
        self.ready
            .remove(&b)
            .unwrap_or_else(|| build_items(&self.dataset, &self.order, self.batch_size, b))
    }
}

impl Iterator for Batches {
    type Item = Result<ImageBatch, DataError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.next >= self.count {
            return None;
        }
        let b = self.next;
        self.next += 1;
        let items = self.items(b);
        self.queue_next();
        Some(items.map(|items| ImageBatcher.batch(items, &self.device)))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.count - self.next;
        (left, Some(left))
    }
}

impl Drop for Batches {
    fn drop(&mut self) {
        if let Some(mut pool) = self.pool.take() {
            // Closing the job channel ends each worker after its batch in progress.
            pool.jobs.take();
            drop(pool.results);
            for handle in pool.handles {
                let _ = handle.join();
            }
        }
    }
}

/// A [`BatchLoader`] of `dataset` as it is (its epoch fixed); see [`epoch_loader`] to move to
/// an epoch. `shuffle_seed = Some(s)` shuffles the order with the stream of `s`, `None` keeps
/// the set's order; `workers = 0` builds the batches on the calling thread, `n > 0` on `n`
/// background threads: the batches are the same either way.
pub fn loader(
    dataset: AugmentedDataset,
    batch_size: usize,
    shuffle_seed: Option<u64>,
    workers: usize,
    device: &Device,
) -> BatchLoader {
    BatchLoader::new(dataset, batch_size, shuffle_seed, workers, device)
}

/// The loader of epoch `epoch`: the dataset moved to that epoch (new augmentations) and, when
/// `shuffle_seed` is given, an order shuffled with the seed
/// `hpn_common::derive_seed(&[shuffle_seed, epoch])`.
pub fn epoch_loader(
    dataset: &AugmentedDataset,
    epoch: usize,
    batch_size: usize,
    shuffle_seed: Option<u64>,
    workers: usize,
    device: &Device,
) -> BatchLoader {
    let seed = shuffle_seed.map(|s| hpn_common::derive_seed(&[s, epoch as u64]));
    loader(dataset.for_epoch(epoch), batch_size, seed, workers, device)
}
