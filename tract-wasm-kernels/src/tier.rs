//! The dispatch tier naming `wasm_f32_3x12` for f32 matrix products.

use std::sync::atomic::{AtomicBool, Ordering};

use tract_linalg::isa::{Arch, IsaSet};
use tract_linalg::mmm::{Query, Suitable};
use tract_linalg::mmm_tiers::MmmTier;
use tract_data::prelude::DatumType;

use crate::mmm_f32::KERNEL_NAME;

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
    (enabled() && accumulator == DatumType::F32 && query.n != Some(1)).then_some(KERNEL_NAME)
}

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
