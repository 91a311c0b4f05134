//! Shared by the kernel tests.

/// Deterministic values in [-2, 2), none of them zero.
pub fn values(n: usize, seed: u32) -> Vec<f32> {
    let mut state = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
    (0..n)
        .map(|_| {
            state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            ((state >> 8) as f32 / (1 << 24) as f32) * 4.0 - 2.0 + 1e-3
        })
        .collect()
}
