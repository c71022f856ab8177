//! Reading a whole file into memory, gunzipping it when it starts with the gzip magic `1f 8b`.

use std::io::Read;
use std::path::Path;

use crate::DataError;

/// The gzip magic number (RFC 1952, section 2.3.1).
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// The bytes of `path`, decompressed when the file is gzip (detected by its magic, not its name).
pub(crate) fn read_maybe_gzip(path: &Path) -> Result<Vec<u8>, DataError> {
    let raw = std::fs::read(path).map_err(|e| DataError::io(path, e))?;
    if raw.starts_with(&GZIP_MAGIC) {
        let mut out = Vec::with_capacity(raw.len() * 4);
        flate2::read::MultiGzDecoder::new(raw.as_slice())
            .read_to_end(&mut out)
            .map_err(|e| {
                DataError::format(path, format!("corrupt or truncated gzip stream: {e}"))
            })?;
        Ok(out)
    } else {
        Ok(raw)
    }
}

/// The UTF-8 text of `path`.
pub(crate) fn read_text(path: &Path) -> Result<String, DataError> {
    let bytes = std::fs::read(path).map_err(|e| DataError::io(path, e))?;
    String::from_utf8(bytes).map_err(|e| {
        DataError::format(
            path,
            format!(
                "not UTF-8 text (invalid byte at offset {})",
                e.utf8_error().valid_up_to()
            ),
        )
    })
}
