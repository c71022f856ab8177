//! `.npy` files: round trip, files numpy wrote, and bad files.

use std::path::{Path, PathBuf};

use hpn_prototypes::{PrototypeError, Prototypes};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// The rows every numpy fixture holds: angles 0, 60 and 180 degrees.
fn expected_rows() -> Vec<f32> {
    let a = [0.0f64, 60.0, 180.0].map(f64::to_radians);
    a.iter()
        .flat_map(|t| [t.cos() as f32, t.sin() as f32])
        .collect()
}

fn assert_close(a: &[f32], b: &[f32]) {
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(b) {
        assert!((x - y).abs() < 1e-7, "{a:?} vs {b:?}");
    }
}

#[test]
fn save_then_load_round_trips_exactly() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let p = Prototypes::new(expected_rows(), 3, 2).expect("unit rows");
    let path = dir.path().join(Prototypes::file_name(3, 2));
    p.save_npy(&path).expect("writable");
    assert_eq!(Prototypes::load_npy(&path).expect("readable"), p);
    // Only the file itself is left behind.
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .expect("listable")
        .filter_map(|e| e.ok().map(|e| e.file_name()))
        .collect();
    assert_eq!(names.len(), 1);
}

#[test]
fn saved_file_has_the_numpy_float32_c_order_header() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let p = Prototypes::new(expected_rows(), 3, 2).expect("unit rows");
    let path = dir.path().join("p.npy");
    p.save_npy(&path).expect("writable");
    let bytes = std::fs::read(&path).expect("readable");
    assert!(bytes.starts_with(b"\x93NUMPY"));
    let header = String::from_utf8_lossy(&bytes[..bytes.len() - 24]);
    assert!(header.contains("'descr': '<f4'"), "{header}");
    assert!(header.contains("'fortran_order': False"), "{header}");
    assert!(header.contains("'shape': (3, 2"), "{header}");
    // The data: 6 little-endian f32 at the end, row-major.
    let tail: Vec<f32> = bytes[bytes.len() - 24..]
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    assert_eq!(tail, p.as_slice());
}

#[test]
fn file_name_matches_the_authors() {
    assert_eq!(Prototypes::file_name(100, 50), "prototypes-50d-100c.npy");
}

#[test]
fn reads_files_numpy_wrote() {
    for name in [
        "numpy_f32_c.npy",
        "numpy_f64_fortran.npy",
        "numpy_f8_big_endian.npy",
    ] {
        let p = Prototypes::load_npy(&fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!((p.classes(), p.dims()), (3, 2), "{name}");
        assert_close(p.as_slice(), &expected_rows());
    }
}

#[test]
fn rejects_a_wrong_dtype() {
    let err = Prototypes::load_npy(&fixture("numpy_int64.npy")).expect_err("int64");
    assert!(matches!(err, PrototypeError::Npy { .. }), "{err}");
    assert!(err.to_string().contains("float32"), "{err}");
}

#[test]
fn rejects_a_wrong_shape() {
    let err = Prototypes::load_npy(&fixture("numpy_3d.npy")).expect_err("3-d");
    assert!(matches!(err, PrototypeError::Npy { .. }), "{err}");
    assert!(err.to_string().contains("2-d"), "{err}");
}

#[test]
fn rejects_non_unit_and_nan_rows() {
    let err = Prototypes::load_npy(&fixture("numpy_not_unit.npy")).expect_err("norm 2");
    let PrototypeError::InvalidFile { source, .. } = &err else {
        panic!("{err}")
    };
    assert!(
        matches!(**source, PrototypeError::NotUnitNorm { row: 1, .. }),
        "{err}"
    );

    let err = Prototypes::load_npy(&fixture("numpy_nan.npy")).expect_err("NaN");
    let PrototypeError::InvalidFile { source, .. } = &err else {
        panic!("{err}")
    };
    assert!(
        matches!(**source, PrototypeError::NonFinite { row: 2, .. }),
        "{err}"
    );
}

#[test]
fn rejects_a_truncated_file_and_garbage() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let bytes = std::fs::read(fixture("numpy_f32_c.npy")).expect("fixture");
    let truncated = dir.path().join("truncated.npy");
    std::fs::write(&truncated, &bytes[..bytes.len() - 5]).expect("writable");
    let err = Prototypes::load_npy(&truncated).expect_err("truncated");
    assert!(matches!(err, PrototypeError::Npy { .. }), "{err}");

    let header_only = dir.path().join("header.npy");
    std::fs::write(&header_only, &bytes[..20]).expect("writable");
    assert!(matches!(
        Prototypes::load_npy(&header_only),
        Err(PrototypeError::Npy { .. })
    ));

    let garbage = dir.path().join("garbage.npy");
    std::fs::write(&garbage, b"not a numpy file at all").expect("writable");
    assert!(matches!(
        Prototypes::load_npy(&garbage),
        Err(PrototypeError::Npy { .. })
    ));

    let missing = dir.path().join("missing.npy");
    assert!(matches!(
        Prototypes::load_npy(&missing),
        Err(PrototypeError::Io { action: "read", .. })
    ));
}
