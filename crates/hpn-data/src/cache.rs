//! A compact binary cache of decoded image sets, so that later runs skip image decoding.
//!
//! Layout (little-endian): magic `HPNCACHE`, format version `u32`, source fingerprint `u64`,
//! set count `u32`, then per set: name, channels/height/width `u32`, image count `u64`, class
//! names, labels `u32` each, a target flag `u8` and targets `f32` each, pixels; then the skipped
//! entries (path, reason); then a `u64` checksum of everything before it. Strings are a `u32`
//! length and UTF-8 bytes. A cache whose magic, version, fingerprint or checksum does not match
//! is rebuilt from the source files.

use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use crate::{DataError, ImageSet};

const MAGIC: &[u8; 8] = b"HPNCACHE";
const VERSION: u32 = 1;

/// 64-bit FNV-1a offset basis and prime.
const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

/// An incremental 64-bit fingerprint: FNV-1a over bytes, used for the source description.
#[derive(Clone, Debug)]
pub(crate) struct Fingerprint(u64);

impl Fingerprint {
    pub(crate) fn new(kind: &str) -> Self {
        let mut f = Fingerprint(FNV_OFFSET);
        f.add_str(kind);
        f
    }

    pub(crate) fn add_bytes(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ b as u64).wrapping_mul(FNV_PRIME);
        }
    }

    pub(crate) fn add_str(&mut self, s: &str) {
        self.add_bytes(&(s.len() as u64).to_le_bytes());
        self.add_bytes(s.as_bytes());
    }

    pub(crate) fn add_u64(&mut self, v: u64) {
        self.add_bytes(&v.to_le_bytes());
    }

    /// Adds a file's path (relative to `root`), size and modification time. A file whose
    /// metadata cannot be read is an error naming it, unless `missing_ok`, in which case it is
    /// added as missing (the decoder then fails on it, or skips it).
    pub(crate) fn add_file(
        &mut self,
        root: &Path,
        path: &Path,
        missing_ok: bool,
    ) -> Result<(), DataError> {
        let relative = path.strip_prefix(root).unwrap_or(path);
        self.add_str(&relative.to_string_lossy());
        let meta = match std::fs::metadata(path) {
            Ok(meta) => meta,
            Err(_) if missing_ok => {
                self.add_str("missing");
                return Ok(());
            }
            Err(e) => return Err(DataError::io(path, e)),
        };
        self.add_u64(meta.len());
        let modified = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos() as u64);
        self.add_u64(modified);
        Ok(())
    }

    pub(crate) fn finish(&self) -> u64 {
        self.0
    }
}

/// Checksum of a byte buffer: multiply-xor over 8-byte words (fast enough for hundreds of MB).
fn checksum(bytes: &[u8]) -> u64 {
    let mut h = FNV_OFFSET ^ bytes.len() as u64;
    let mut chunks = bytes.chunks_exact(8);
    for c in &mut chunks {
        let word = u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
        h = (h ^ word).wrapping_mul(FNV_PRIME).rotate_left(29);
    }
    for &b in chunks.remainder() {
        h = (h ^ b as u64).wrapping_mul(FNV_PRIME);
    }
    h
}

/// What a cache file holds: named image sets and the entries skipped while building them.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct CacheContent {
    pub sets: Vec<(String, ImageSet)>,
    pub skipped: Vec<(PathBuf, String)>,
}

fn put_u32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_le_bytes());
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    put_u32(out, s.len() as u32);
    out.extend_from_slice(s.as_bytes());
}

/// Serialises `content` with the source `fingerprint`.
pub(crate) fn encode(content: &CacheContent, fingerprint: u64) -> Vec<u8> {
    let total_pixels: usize = content.sets.iter().map(|(_, s)| s.pixels().len()).sum();
    let mut out = Vec::with_capacity(total_pixels + 4096);
    out.extend_from_slice(MAGIC);
    put_u32(&mut out, VERSION);
    out.extend_from_slice(&fingerprint.to_le_bytes());
    put_u32(&mut out, content.sets.len() as u32);
    for (name, set) in &content.sets {
        put_str(&mut out, name);
        put_u32(&mut out, set.channels() as u32);
        put_u32(&mut out, set.height() as u32);
        put_u32(&mut out, set.width() as u32);
        out.extend_from_slice(&(set.len() as u64).to_le_bytes());
        put_u32(&mut out, set.classes() as u32);
        for class in set.class_names() {
            put_str(&mut out, class);
        }
        for &label in set.labels() {
            put_u32(&mut out, label as u32);
        }
        match set.targets() {
            Some(targets) => {
                out.push(1);
                for t in targets {
                    out.extend_from_slice(&t.to_le_bytes());
                }
            }
            None => out.push(0),
        }
        out.extend_from_slice(set.pixels());
    }
    put_u32(&mut out, content.skipped.len() as u32);
    for (path, reason) in &content.skipped {
        put_str(&mut out, &path.to_string_lossy());
        put_str(&mut out, reason);
    }
    let sum = checksum(&out);
    out.extend_from_slice(&sum.to_le_bytes());
    out
}

/// A cursor over cache bytes whose reads fail, instead of panicking, past the end.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
    path: &'a Path,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], DataError> {
        let end = self.at.checked_add(n).filter(|&e| e <= self.bytes.len());
        match end {
            Some(end) => {
                let s = &self.bytes[self.at..end];
                self.at = end;
                Ok(s)
            }
            None => Err(DataError::format(
                self.path,
                format!("cache truncated at byte {} (wanted {n} more)", self.at),
            )),
        }
    }

    fn u32(&mut self) -> Result<u32, DataError> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn u64(&mut self) -> Result<u64, DataError> {
        let b = self.take(8)?;
        Ok(u64::from_le_bytes([
            b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7],
        ]))
    }

    fn string(&mut self) -> Result<String, DataError> {
        let n = self.u32()? as usize;
        let b = self.take(n)?;
        String::from_utf8(b.to_vec())
            .map_err(|_| DataError::format(self.path, "cache string is not UTF-8"))
    }

    fn usize_from_u64(&mut self) -> Result<usize, DataError> {
        let v = self.u64()?;
        usize::try_from(v).map_err(|_| DataError::format(self.path, format!("count {v} too large")))
    }
}

/// Parses cache bytes; `Ok(None)` when the cache is for another source or another format version.
pub(crate) fn decode(
    bytes: &[u8],
    fingerprint: u64,
    path: &Path,
) -> Result<Option<CacheContent>, DataError> {
    if bytes.len() < MAGIC.len() + 12 + 8 || &bytes[..MAGIC.len()] != MAGIC {
        return Err(DataError::format(
            path,
            "not an hpn-data cache file (magic HPNCACHE)",
        ));
    }
    let (body, sum) = bytes.split_at(bytes.len() - 8);
    let mut r = Reader {
        bytes: body,
        at: MAGIC.len(),
        path,
    };
    if r.u32()? != VERSION || r.u64()? != fingerprint {
        return Ok(None);
    }
    let stored_sum = u64::from_le_bytes([
        sum[0], sum[1], sum[2], sum[3], sum[4], sum[5], sum[6], sum[7],
    ]);
    if checksum(body) != stored_sum {
        return Err(DataError::format(
            path,
            "cache checksum mismatch (corrupt file)",
        ));
    }
    let set_count = r.u32()?;
    let mut sets = Vec::new();
    for _ in 0..set_count {
        let name = r.string()?;
        let channels = r.u32()? as usize;
        let height = r.u32()? as usize;
        let width = r.u32()? as usize;
        let n = r.usize_from_u64()?;
        let classes = r.u32()?;
        let mut class_names = Vec::new();
        for _ in 0..classes {
            class_names.push(r.string()?);
        }
        let label_bytes = r.take(
            n.checked_mul(4)
                .ok_or_else(|| DataError::format(path, format!("image count {n} too large")))?,
        )?;
        let labels = label_bytes
            .chunks_exact(4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
            .collect();
        let targets = match r.take(1)?[0] {
            0 => None,
            _ => Some(
                r.take(n * 4)?
                    .chunks_exact(4)
                    .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                    .collect(),
            ),
        };
        let pixel_count = n
            .checked_mul(channels)
            .and_then(|v| v.checked_mul(height))
            .and_then(|v| v.checked_mul(width))
            .ok_or_else(|| DataError::format(path, "cached image sizes overflow"))?;
        let pixels = r.take(pixel_count)?.to_vec();
        let set = ImageSet::new(
            pixels,
            channels,
            height,
            width,
            labels,
            targets,
            class_names,
        )
        .map_err(|e| DataError::format(path, format!("cached set {name}: {e}")))?;
        sets.push((name, set));
    }
    let skipped_count = r.u32()?;
    let mut skipped = Vec::new();
    for _ in 0..skipped_count {
        let p = PathBuf::from(r.string()?);
        skipped.push((p, r.string()?));
    }
    if r.at != body.len() {
        return Err(DataError::format(
            path,
            "trailing bytes after the cache content",
        ));
    }
    Ok(Some(CacheContent { sets, skipped }))
}

/// Loads `path` if it exists and matches `fingerprint`; `None` when absent, stale or unreadable
/// as a cache (the caller then rebuilds it).
pub(crate) fn load(path: &Path, fingerprint: u64) -> Option<CacheContent> {
    let bytes = std::fs::read(path).ok()?;
    decode(&bytes, fingerprint, path).ok().flatten()
}

/// Writes the cache atomically ([`hpn_common::write_atomic`], which also creates the folder).
pub(crate) fn store(
    path: &Path,
    content: &CacheContent,
    fingerprint: u64,
) -> Result<(), DataError> {
    hpn_common::write_atomic(path, &encode(content, fingerprint))
        .map_err(|e| DataError::io(path, e))
}

/// Returns the cached content for `fingerprint` at `cache` if present, else builds it with
/// `build`, stores it (when a cache path is given) and returns it, with whether it came from
/// the cache.
pub(crate) fn cached_or_build(
    cache: Option<&Path>,
    fingerprint: u64,
    build: impl FnOnce() -> Result<CacheContent, DataError>,
) -> Result<(CacheContent, bool), DataError> {
    if let Some(path) = cache
        && let Some(content) = load(path, fingerprint)
    {
        return Ok((content, true));
    }
    let content = build()?;
    if let Some(path) = cache {
        store(path, &content, fingerprint)?;
    }
    Ok((content, false))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn content() -> CacheContent {
        let set = ImageSet::new(
            (0..24).collect(),
            3,
            2,
            2,
            vec![1, 0],
            Some(vec![1.5, -2.0]),
            vec!["cat".into(), "dog".into()],
        )
        .unwrap();
        CacheContent {
            sets: vec![
                ("train".into(), set.clone()),
                ("test".into(), set.subset(&[1])),
            ],
            skipped: vec![(PathBuf::from("a/b.jpg"), "bad".into())],
        }
    }

    #[test]
    fn round_trip_restores_everything() {
        let c = content();
        let bytes = encode(&c, 42);
        assert_eq!(decode(&bytes, 42, Path::new("x")).unwrap(), Some(c));
    }

    #[test]
    fn other_fingerprint_is_stale_and_corruption_is_an_error() {
        let bytes = encode(&content(), 42);
        assert_eq!(decode(&bytes, 43, Path::new("x")).unwrap(), None);
        let mut flipped = bytes.clone();
        let at = flipped.len() - 20;
        flipped[at] ^= 1;
        assert!(decode(&flipped, 42, Path::new("x")).is_err());
        for cut in [0, 10, 30, bytes.len() - 1] {
            assert!(decode(&bytes[..cut], 42, Path::new("x")).is_err());
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]

        #[test]
        fn truncated_or_corrupted_caches_never_panic(cut in 0usize..2000, at in 0usize..2000, value in 1u8..=255) {
            let bytes = encode(&content(), 42);
            let _ = decode(&bytes[..cut % bytes.len()], 42, Path::new("x"));
            let mut flipped = bytes.clone();
            let i = at % bytes.len();
            flipped[i] ^= value;
            // Any single-byte change is detected (checksum, magic, version or fingerprint).
            let result = decode(&flipped, 42, Path::new("x"));
            proptest::prop_assert!(!matches!(result, Ok(Some(_))));
        }

        #[test]
        fn random_bytes_after_a_valid_header_never_panic(tail in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300)) {
            let mut bytes = MAGIC.to_vec();
            bytes.extend_from_slice(&VERSION.to_le_bytes());
            bytes.extend_from_slice(&42u64.to_le_bytes());
            bytes.extend_from_slice(&tail);
            // A correct checksum, so that the parser itself meets the random content.
            let sum = checksum(&bytes);
            bytes.extend_from_slice(&sum.to_le_bytes());
            let _ = decode(&bytes, 42, Path::new("x"));
        }
    }
}
