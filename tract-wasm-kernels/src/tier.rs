//! The dispatch tier naming `wasm_f32_3x12` for f32 matrix products.

use std::sync::atomic::{AtomicBool, Ordering};

use tract_linalg::isa::{Arch, IsaSet};
use tract_linalg::mmm::{Query, Suitable};
use tract_linalg::mmm_tiers::MmmTier;
use tract_data::prelude::DatumType;

use crate::mmm_f32::{KERNEL_NAME, KERNEL_NAME_3X24, KERNEL_NAME_3X48, NR};

static ENABLED: AtomicBool = AtomicBool::new(false);

/// Whether tract's f32 matrix products (not its matrix-vector products) go to `wasm_f32_3x12`
/// from now on (when off, tract's own wasm tier chooses as before; plans already optimised keep
/// the kernels they were given), and whether depthwise convolutions run on `wasm_depthwise_w_f32` and
/// `wasm_depthwise_c_f32` (read as each row runs).
pub fn set_enabled(on: bool) {
    // wasm-ld links an object file of this crate only if something refers to it, and with it go
    // the inventory registrations it holds: name them here, from the one function callers need.
    std::hint::black_box((
        crate::mmm_f32::make as *const (),
        crate::mmm_f32::make_3x24 as *const (),
        crate::mmm_f32::make_3x48 as *const (),
        preferred as *const (),
        crate::depthwise::depthwise_w_f32 as *const (),
        crate::depthwise_c::depthwise_c_f32 as *const (),
    ));
    ENABLED.store(on, Ordering::Relaxed);
}

pub fn enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

fn preferred(_: &IsaSet, accumulator: DatumType, query: &Query, _: &[Suitable]) -> Option<&'static str> {
    // n == 1 is a matrix-vector product: tract's wasm tier has GEMV kernels for those.
    (enabled() && accumulator == DatumType::F32 && query.n != Some(1)).then(|| widest_fit(query.n, query.k))
}

/// The tile for a product of `n` columns and depth `k`: 3x12, or for a K of at most 64, whichever
/// of 3x12, 3x24 and 3x48 (blocks of 12 columns side by side) costs least, counting each 3x12
/// block computed (partial tiles are computed whole) and each call. On a short K tract's work
/// around each call costs about as much as the arithmetic, so fewer, wider calls pay: measured
/// per node in Chromium (one thread, alternated builds, before products were oriented by C's
/// layout), EfficientNet-Lite0's products of K 16 to 40 took 0.74-0.81 of their 3x12 time. Past
/// that they gained nothing, and 3x48 made its K 112 ones 2-5% slower (not analysed). The
/// weights below are rough guesses that reproduce those choices, not fitted.
fn widest_fit(n: Option<usize>, k: Option<usize>) -> &'static str {
    let (Some(n), Some(k)) = (n, k) else { return KERNEL_NAME };
    if k > WIDE_MAX_K {
        return KERNEL_NAME;
    }
    // In k steps: a block's products plus its fused ops and store; a call's work in tract.
    let block = k + 10;
    let call = 20;
    let cost = |q: usize| n.div_ceil(NR * q) * (q * block + call);
    [(4, KERNEL_NAME_3X48), (2, KERNEL_NAME_3X24), (1, KERNEL_NAME)]
        .into_iter()
        .min_by_key(|(q, _)| cost(*q))
        .map(|(_, name)| name)
        .unwrap()
}

/// The longest K the wider tiles take.
pub const WIDE_MAX_K: usize = 64;

// Above tract's own wasm tier (precedence 1): asked first, and when it has no opinion (or is
// not enabled) tract's tier answers as before.
inventory::submit! {
    MmmTier {
        arch: Some(Arch::Wasm32Simd128),
        precedence: 2,
        name: "tract-wasm-kernels",
        applies: |_| true,
        preferred,
    }
}
