//! Output layouts of classification, regression and the joint task (paper Sec. 2.1-2.3).

use hpn_prototypes::{OutputLayout, PrototypeError, Prototypes, place_circle};

#[test]
fn classification_layout_is_the_prototypes() {
    let p = place_circle(5, 2).expect("D = 2");
    let layout = OutputLayout::classification(p.clone());
    assert_eq!(layout.dims(), 2);
    assert_eq!(layout.class_prototypes(), Some(&p));
    assert_eq!(layout.class_subspace_prototypes(), Some(&p));
    assert_eq!(layout.upper_pole(), None);
}

#[test]
fn regression_layout_has_the_pole_on_axis_zero() {
    let layout = OutputLayout::regression(3).expect("D >= 1");
    assert_eq!(layout.dims(), 3);
    assert_eq!(layout.upper_pole(), Some(&[1.0, 0.0, 0.0][..]));
    assert!(layout.class_prototypes().is_none());
    assert!(matches!(
        OutputLayout::regression(0),
        Err(PrototypeError::LayoutDims { dims: 0, .. })
    ));
}

#[test]
fn joint_layout_embeds_classes_orthogonal_to_the_poles() {
    let p = place_circle(4, 2).expect("D = 2");
    let layout = OutputLayout::joint(p.clone());
    assert_eq!(layout.dims(), 3);
    assert_eq!(layout.upper_pole(), Some(&[1.0, 0.0, 0.0][..]));
    assert_eq!(layout.class_subspace_prototypes(), Some(&p));
    let embedded = layout.class_prototypes().expect("joint has classes");
    assert_eq!((embedded.classes(), embedded.dims()), (4, 3));
    for k in 0..4 {
        assert_eq!(embedded.row(k)[0], 0.0);
        assert_eq!(&embedded.row(k)[1..], p.row(k));
    }
}

#[test]
fn joint_layout_rejects_dims_that_do_not_fit() {
    let p = place_circle(4, 2).expect("D = 2");
    assert!(OutputLayout::joint_with_dims(3, p.clone()).is_ok());
    for dims in [0, 1, 2, 4] {
        assert!(
            matches!(
                OutputLayout::joint_with_dims(dims, p.clone()),
                Err(PrototypeError::LayoutDims {
                    layout: "joint",
                    ..
                })
            ),
            "D = {dims}"
        );
    }
    // 1-d class prototypes (K = 2 on S^0) give the smallest joint layout, D = 2.
    let line = Prototypes::new(vec![1.0, -1.0], 2, 1).expect("unit");
    assert_eq!(
        OutputLayout::joint_with_dims(2, line)
            .map(|l| l.dims())
            .ok(),
        Some(2)
    );
}
