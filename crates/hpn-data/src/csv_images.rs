//! Image tables in CSV (OmniArt style): one row per image with an id, an optional numeric
//! value (a regression target such as a creation year) and an optional class (such as a style).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::cache::{CacheContent, Fingerprint, cached_or_build};
use crate::decode::{ImageEntry, decode_images};
use crate::file_bytes::read_text;
use crate::image_folder::into_image_set;
use crate::options::{add_read_options, stored_size};
use crate::{DataError, ImageSet, ReadOptions, ReadReport, Splits};

/// The (width, height) images are stored at when no size is given.
const DEFAULT_SIZE: (u32, u32) = (224, 224);

/// Which CSV columns (by header name) hold the image id, the regression value and the class.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CsvColumns {
    /// Column of the image id; the image is `<images_dir>/<id>.jpg`, `.jpeg` or `.png` (or
    /// `<images_dir>/<id>` when the id already names a file).
    pub id: String,
    /// Column of the regression value (parsed as a number) stored as the image's target.
    pub value: Option<String>,
    /// Column of the class name; classes are the distinct names sorted alphabetically.
    pub class: Option<String>,
}

/// A training and a test CSV table (such as OmniArt's `train.csv` and `test.csv`) whose images
/// lie in one folder, for [`read_csv_splits`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CsvTables {
    /// The training table.
    pub train: PathBuf,
    /// The test table.
    pub test: PathBuf,
    /// The folder of the images of both tables.
    pub images: PathBuf,
    /// The columns of both tables.
    pub columns: CsvColumns,
}

/// Splits CSV text into rows of fields (RFC 4180: commas, double-quoted fields with `""` for a
/// quote, CR LF or LF line ends). Each row carries its 1-based line number.
pub(crate) fn parse_csv(text: &str, path: &Path) -> Result<Vec<(usize, Vec<String>)>, DataError> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut in_quotes = false;
    let mut line = 1;
    let mut row_line = 1;
    let mut chars = text.chars().peekable();
    let mut row_has_content = false;
    while let Some(c) = chars.next() {
        if in_quotes {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                '"' => in_quotes = false,
                '\n' => {
                    line += 1;
                    field.push(c);
                }
                _ => field.push(c),
            }
            continue;
        }
        match c {
            '"' => {
                in_quotes = true;
                row_has_content = true;
            }
            ',' => {
                row.push(std::mem::take(&mut field));
                row_has_content = true;
            }
            '\r' if chars.peek() == Some(&'\n') => {}
            '\n' => {
                if row_has_content || !field.is_empty() {
                    row.push(std::mem::take(&mut field));
                    rows.push((row_line, std::mem::take(&mut row)));
                }
                row_has_content = false;
                line += 1;
                row_line = line;
            }
            _ => {
                field.push(c);
                row_has_content = true;
            }
        }
    }
    if in_quotes {
        return Err(DataError::entry(
            path,
            format!("line {row_line}"),
            "quoted field not closed before the end of the file",
        ));
    }
    if row_has_content || !field.is_empty() {
        row.push(field);
        rows.push((row_line, row));
    }
    Ok(rows)
}

/// The image file of `id`: `dir/id` when that is a file, else `dir/id.{jpg,jpeg,png,JPG,...}`.
fn image_path(dir: &Path, id: &str) -> Option<PathBuf> {
    let direct = dir.join(id);
    if direct.is_file() {
        return Some(direct);
    }
    ["jpg", "jpeg", "png", "JPG", "JPEG", "PNG"]
        .iter()
        .map(|ext| dir.join(format!("{id}.{ext}")))
        .find(|p| p.is_file())
}

/// Reads a CSV table with a header row naming its columns, with what was skipped; each row is
/// one image found by its id in `images_dir`, stored scaled to cover [`ReadOptions::size`]
/// `(width, height)` (224 x 224 with no size) and cut in the centre. The value column (when
/// named) becomes the target, the class column (when named) the label; without a class column
/// every image has label 0 of the single class `"all"`.
///
/// A missing column in the header, a row with a missing or empty id / value / class, a value
/// that is not a finite number, a missing image file or an undecodable image is an error naming
/// the CSV file and the line, or the image file; with [`ReadOptions::skip_bad`] such rows are
/// left out and listed in the [`ReadReport`]. [`ReadOptions::cache`] names the decoded-image
/// cache.
pub fn read_csv_images(
    csv: &Path,
    images_dir: &Path,
    columns: &CsvColumns,
    options: &ReadOptions,
) -> Result<(ImageSet, ReadReport), DataError> {
    read_csv_table(
        csv,
        images_dir,
        columns,
        options,
        options.cache_path(),
        None,
    )
}

/// Reads the training and the test table of `tables`, as [`read_csv_images`] reads one. The
/// classes are those of the training table (sorted); a test row with another class is an error
/// naming the file and line (or, with [`ReadOptions::skip_bad`], a skipped row), so labels mean
/// the same in both splits. With [`ReadOptions::cache`] `= Some(path)` the splits are cached in
/// `<path>.train` and `<path>.test`.
pub fn read_csv_splits(
    tables: &CsvTables,
    options: &ReadOptions,
) -> Result<(Splits, ReadReport), DataError> {
    let with_suffix = |suffix: &str| {
        options.cache.as_ref().map(|p| {
            let mut s = p.as_os_str().to_owned();
            s.push(suffix);
            PathBuf::from(s)
        })
    };
    let train_cache = with_suffix(".train");
    let test_cache = with_suffix(".test");
    let (train, train_report) = read_csv_table(
        &tables.train,
        &tables.images,
        &tables.columns,
        options,
        train_cache.as_deref(),
        None,
    )?;
    let (test, test_report) = read_csv_table(
        &tables.test,
        &tables.images,
        &tables.columns,
        options,
        test_cache.as_deref(),
        Some(train.class_names()),
    )?;
    let mut skipped = train_report.skipped;
    skipped.extend(test_report.skipped);
    let report = ReadReport {
        skipped,
        from_cache: train_report.from_cache && test_report.from_cache,
    };
    Ok((Splits { train, test }, report))
}

/// Reads one CSV table; with `known_classes`, those are the classes and a row naming another
/// class is a bad row, otherwise the classes are the table's distinct class names, sorted.
/// The cache file is `cache`, not `options.cache` (the splits have one each).
fn read_csv_table(
    csv: &Path,
    images_dir: &Path,
    columns: &CsvColumns,
    options: &ReadOptions,
    cache: Option<&Path>,
    known_classes: Option<&[String]>,
) -> Result<(ImageSet, ReadReport), DataError> {
    let size = stored_size(Some(options.size.unwrap_or(DEFAULT_SIZE)))?;
    let skip_bad = options.skip_bad;
    let text = read_text(csv)?;
    let rows = parse_csv(&text, csv)?;
    let Some(((_, header), body)) = rows.split_first() else {
        return Err(DataError::format(
            csv,
            "empty CSV file: expected a header row",
        ));
    };
    let column = |name: &str| {
        header.iter().position(|h| h.trim() == name).ok_or_else(|| {
            DataError::format(
                csv,
                format!(
                    "no column {name:?} in the header (columns: {})",
                    header.join(", ")
                ),
            )
        })
    };
    let id_col = column(&columns.id)?;
    let value_col = columns.value.as_deref().map(column).transpose()?;
    let class_col = columns.class.as_deref().map(column).transpose()?;

    let mut skipped: Vec<(PathBuf, String)> = Vec::new();
    // First pass: check the cells, collect (image path, value, class name).
    let mut good: Vec<(PathBuf, Option<f32>, Option<String>)> = Vec::new();
    for (line, fields) in body {
        let cell = |col: usize, name: &str| -> Result<&str, DataError> {
            match fields.get(col).map(|s| s.trim()) {
                Some(v) if !v.is_empty() => Ok(v),
                _ => Err(DataError::entry(
                    csv,
                    format!("line {line}"),
                    format!("missing value in column {name:?}"),
                )),
            }
        };
        let parsed = (|| -> Result<(PathBuf, Option<f32>, Option<String>), DataError> {
            let id = cell(id_col, &columns.id)?;
            let value = match (value_col, &columns.value) {
                (Some(col), Some(name)) => {
                    let raw = cell(col, name)?;
                    let v = raw
                        .parse::<f32>()
                        .ok()
                        .filter(|v| v.is_finite())
                        .ok_or_else(|| {
                            DataError::entry(
                                csv,
                                format!("line {line}"),
                                format!("value {raw:?} in column {name:?} is not a finite number"),
                            )
                        })?;
                    Some(v)
                }
                _ => None,
            };
            let class = match (class_col, &columns.class) {
                (Some(col), Some(name)) => {
                    let class = cell(col, name)?;
                    if let Some(known) = known_classes
                        && !known.iter().any(|k| k == class)
                    {
                        return Err(DataError::entry(
                            csv,
                            format!("line {line}"),
                            format!("class {class:?} in column {name:?} is not a training class"),
                        ));
                    }
                    Some(class.to_string())
                }
                _ => None,
            };
            let path = image_path(images_dir, id).ok_or_else(|| {
                DataError::entry(
                    csv,
                    format!("line {line}"),
                    format!(
                        "no image {id}, {id}.jpg, {id}.jpeg or {id}.png in {}",
                        images_dir.display()
                    ),
                )
            })?;
            Ok((path, value, class))
        })();
        match parsed {
            Ok(row) => good.push(row),
            Err(e) if skip_bad => skipped.push((csv.to_path_buf(), e.to_string())),
            Err(e) => return Err(e),
        }
    }
    let class_names: Vec<String> = if let Some(known) = known_classes {
        known.to_vec()
    } else if class_col.is_some() {
        good.iter()
            .filter_map(|(_, _, c)| c.clone())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect()
    } else {
        vec!["all".to_string()]
    };
    let entries: Vec<ImageEntry> = good
        .into_iter()
        .map(|(path, value, class)| ImageEntry {
            path,
            label: class
                .and_then(|c| class_names.iter().position(|n| *n == c))
                .unwrap_or(0),
            target: value,
        })
        .collect();

    let mut fingerprint = Fingerprint::new("csv-images");
    fingerprint.add_bytes(text.as_bytes());
    fingerprint.add_str(&format!("{columns:?}"));
    add_read_options(&mut fingerprint, size, skip_bad);
    for class in &class_names {
        fingerprint.add_str(class);
    }
    for entry in &entries {
        fingerprint.add_file(images_dir, &entry.path, skip_bad)?;
    }
    let (content, from_cache) = cached_or_build(cache, fingerprint.finish(), || {
        let decoded = decode_images(entries, size, skip_bad)?;
        let mut all_skipped = skipped;
        all_skipped.extend(decoded.skipped.iter().cloned());
        let set = into_image_set(decoded, class_names)?;
        Ok(CacheContent {
            sets: vec![("all".into(), set)],
            skipped: all_skipped,
        })
    })?;
    let CacheContent { mut sets, skipped } = content;
    let set = sets.pop().map(|(_, set)| set).ok_or_else(|| {
        DataError::format(
            cache.map_or_else(PathBuf::new, Path::to_path_buf),
            "cache holds no set",
        )
    })?;
    Ok((
        set,
        ReadReport {
            skipped,
            from_cache,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_commas_and_line_numbers() {
        let text = "id,year,style\r\na,1650,\"Baroque, late\"\n\n\"b\"\"c\",1900,x\n";
        let rows = parse_csv(text, Path::new("t.csv")).unwrap();
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[1].0, 2);
        assert_eq!(rows[1].1, vec!["a", "1650", "Baroque, late"]);
        assert_eq!(rows[2].0, 4);
        assert_eq!(rows[2].1, vec!["b\"c", "1900", "x"]);
        assert!(parse_csv("a,\"b\n", Path::new("t.csv")).is_err());
    }
}
