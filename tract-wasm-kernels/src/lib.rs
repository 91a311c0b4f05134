//! Faster kernels for tract-linalg's wasm SIMD tree, plugged in from outside: an f32 matrix
//! product (`wasm_f32_3x12`, below, and `wasm_f32_3x24` / `wasm_f32_3x48`, the same code on 2
//! or 4 blocks of 12 columns per call, for short K), the depthwise-convolution row kernel
//! (`wasm_depthwise_w_f32`, see `depthwise.rs`: stride 2 vectorised, no scalar row tails) and the
//! channel-inner depthwise kernel (`wasm_depthwise_c_f32`, see `depthwise_c.rs`: four points at
//! a time).
//!
//! tract-linalg 0.23.9 runs every f32 matrix product in wasm on its 8x8 tile (`wasm_f32_8x8`):
//! 16 v128 accumulators, two B vectors and the broadcast A values live in the inner loop. V8
//! on x86-64 allocates at most 15 XMM registers to wasm code (one is its scratch), so that loop
//! spills every k step. `wasm_f32_3x12` keeps 9 accumulators, three B vectors and one broadcast
//! in registers. Measured in Chromium (2-core x86-64, relaxed SIMD build, one thread), whole
//! networks: EfficientNet-Lite0 about 30 ms per image against 36, PNASNet-5 large 1.51 s against
//! 1.8-2.0 s; tiles of 4x8, 5x8, 6x8, 2x16, 3x16, 4x12 and 4x16 measured no better (README).
//!
//! Nothing here patches tract: tract-linalg collects its matrix-product kernels (`MmmRoutine`),
//! their dispatch tiers (`MmmTier`) and its other kernels (`Routine`) with `inventory`, so this
//! crate submits three matrix-product kernels with a tier above tract's own wasm tier, and two
//! depthwise routines ranked above tract's. `set_enabled(true)` must be called before a network is
//! optimised: it switches them on (the depthwise routines otherwise hand every call to tract's),
//! and referencing it keeps the linker from dropping this crate's registrations. Upstream, the kernel would sit in `tract-linalg/src/wasm/` beside
//! `mmm_f32_gemm.rs` and the tier's rule would replace the 8x8 one.
//!
//! The matrix-product kernel also reads A where it lies (packing `STRIDED_A`, tract's
//! `StridedKMajor`), which vendored tract-core uses for activations with a contiguous M axis and a
//! K of at most 64 instead of copying them into 3-row panels (vendor/README.md).
//!
//! Only compiled for wasm32 with `simd128`; on other targets the crate is empty.

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod depthwise;
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod depthwise_c;
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod madd;
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod mmm_f32;
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod tier;

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
pub use depthwise::{depthwise_w_f32, ROUTINE_NAME as DEPTHWISE_ROUTINE_NAME};
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
pub use depthwise_c::{depthwise_c_f32, ROUTINE_NAME as DEPTHWISE_C_ROUTINE_NAME};
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
pub use mmm_f32::{kernel_3x12, kernel_3x12q, KERNEL_NAME, KERNEL_NAME_3X24, KERNEL_NAME_3X48, MR, NR, STRIDED_A};
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
pub use tier::{enabled, set_enabled, WIDE_MAX_K};
