//! The paper's prototype objectives as differentiable Burn tensor functions: Eq. 5 (uniformity)
//! and Eq. 6 (privileged information from word vectors).

use burn::tensor::{Device, Tensor};

use crate::tensor_io::normalise_last_axis;

/// Paper Eq. 5: L_HP = (1/K) sum_i max_{j != i} M_ij with M = P P^T - 2I, for a (K, D) matrix P
/// of unit rows (the -2I keeps a row's own entry, M_ii = -1, out of its maximum). Returns a
/// one-element tensor; differentiable, with only each row's closest pair receiving gradient.
pub fn uniformity_loss(prototypes: Tensor<2>) -> Tensor<1> {
    let [classes, _] = prototypes.dims();
    let device = prototypes.device();
    let m = prototypes
        .clone()
        .matmul(prototypes.transpose())
        .sub(Tensor::<2>::eye(classes, &device).mul_scalar(2.0));
    m.max_dim(1).mean()
}

/// The (K, K) matrix of cosine similarities cos(x_i, x_j) of the rows of `x`.
pub fn cosine_matrix(x: Tensor<2>) -> Tensor<2> {
    let unit = normalise_last_axis(x);
    unit.clone().matmul(unit.transpose())
}

/// Eq. 6 targets: S_ijk = 1 if cos(w_i, w_j) >= cos(w_i, w_k), else 0, as a (K, K, K) tensor
/// from (K, d_w) word vectors `w` (row i = class i).
pub fn triplet_targets(word_vectors: Tensor<2>) -> Tensor<3> {
    let [classes, _] = word_vectors.dims();
    let shape = [classes, classes, classes];
    let c = cosine_matrix(word_vectors);
    let first = c.clone().unsqueeze_dim::<3>(2).expand(shape);
    let second = c.unsqueeze_dim::<3>(1).expand(shape);
    first.greater_equal(second).float()
}

/// Weights of the Eq. 6 average: 1/T on every ordered triplet (i, j, k) of distinct classes,
/// T = K (K-1) (K-2), and 0 where two indices coincide. All zero when K < 3.
pub fn triplet_weights(classes: usize, device: &Device) -> Tensor<3> {
    let shape = [classes, classes, classes];
    let distinct = Tensor::<2>::eye(classes, device).neg().add_scalar(1.0);
    let ij = distinct.clone().unsqueeze_dim::<3>(2).expand(shape);
    let ik = distinct.clone().unsqueeze_dim::<3>(1).expand(shape);
    let jk = distinct.unsqueeze_dim::<3>(0).expand(shape);
    let triplets = classes * classes.saturating_sub(1) * classes.saturating_sub(2);
    ij.mul(ik).mul(jk).div_scalar(triplets.max(1) as f32)
}

/// Paper Eq. 6: the binary cross-entropy between sigmoid(o_ijk), o_ijk = cos(p_i, p_j) -
/// cos(p_i, p_k), and the word-vector ranking S_ijk = [cos(w_i, w_j) >= cos(w_i, w_k)],
/// averaged over all ordered triplets of distinct classes i, j, k.
///
/// `prototypes` is (K, D), `word_vectors` (K, d_w), row i = class i; rows need not be unit
/// (cosines are taken). Returns a one-element tensor, 0 when K < 3; differentiable in the
/// prototypes. Builds (K, K, K) tensors: K = 100 means 10^6 entries each.
pub fn privileged_loss(prototypes: Tensor<2>, word_vectors: Tensor<2>) -> Tensor<1> {
    let [classes, _] = prototypes.dims();
    let device = prototypes.device();
    privileged_loss_with(
        prototypes,
        triplet_targets(word_vectors),
        triplet_weights(classes, &device),
    )
}

/// [`privileged_loss`] with precomputed [`triplet_targets`] and [`triplet_weights`]:
/// sum_ijk weight_ijk (log(1 + e^o_ijk) - S_ijk o_ijk), the logits form of the binary
/// cross-entropy (stable here because |o_ijk| <= 2).
pub fn privileged_loss_with(
    prototypes: Tensor<2>,
    targets: Tensor<3>,
    weights: Tensor<3>,
) -> Tensor<1> {
    let [classes, _] = prototypes.dims();
    let shape = [classes, classes, classes];
    let c = cosine_matrix(prototypes);
    let logits = c
        .clone()
        .unsqueeze_dim::<3>(2)
        .expand(shape)
        .sub(c.unsqueeze_dim::<3>(1).expand(shape));
    let cross_entropy = logits.clone().exp().log1p().sub(targets.mul(logits));
    cross_entropy.mul(weights).sum()
}
