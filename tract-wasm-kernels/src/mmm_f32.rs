//! `wasm_f32_3x12`: an f32 matrix-product kernel on a 3-row by 12-column tile, and `wasm_f32_3x24`
//! and `wasm_f32_3x48`, the same on 2 and 4 such blocks side by side (`kernel_3x12q`).
//!
//! Per k step: three B vectors, then for each row one broadcast of A and three multiply-adds,
//! nine accumulators in all (13 live v128 values, under V8's 15 on x86-64). The kernel speaks
//! tract's fused-kernel protocol (`FusedKerSpec`), so tract's products with their fused bias,
//! activations and residual additions run on it unchanged.

use std::arch::wasm32::*;

use tract_linalg::mmm::{DynKernel, FusedKerSpec, OutputStoreKer};
use tract_linalg::mmm_routines::MmmRoutine;
use tract_linalg::pack::Packing;
use tract_linalg::strided_panel::StridedKMajor;

use crate::madd::madd;

/// Rows of the tile (A packed `MR` wide).
pub const MR: usize = 3;
/// Columns of the tile (B packed `NR` wide): three v128 vectors.
pub const NR: usize = 12;
const NV: usize = NR / 4;
pub const KERNEL_NAME: &str = "wasm_f32_3x12";

type Tile = [[v128; NV]; MR];

/// `acc = op(operand, acc)` for every accumulator.
#[inline(always)]
fn each(acc: &mut Tile, operand: v128, op: impl Fn(v128, v128) -> v128) {
    // Nested loops over the fixed sizes, not `flatten()`: LLVM unrolls these completely, so the
    // accumulators stay values (registers) instead of an array in memory.
    for row in acc.iter_mut() {
        for v in row.iter_mut() {
            *v = op(operand, *v);
        }
    }
}

/// `acc = op(splat(rows[r]), acc)` for the accumulators of row r.
#[inline(always)]
unsafe fn per_row(acc: &mut Tile, rows: *const f32, op: impl Fn(v128, v128) -> v128) {
    for (r, row) in acc.iter_mut().enumerate() {
        let s = v128_load32_splat(rows.add(r) as *const u32);
        for v in row.iter_mut() {
            *v = op(s, *v);
        }
    }
}

/// `acc = op(cols[4j..4j+4], acc)` for the accumulators of column vector j.
#[inline(always)]
unsafe fn per_col(acc: &mut Tile, cols: *const f32, op: impl Fn(v128, v128) -> v128) {
    let c: [v128; NV] = std::array::from_fn(|j| v128_load(cols.add(4 * j) as *const v128));
    for row in acc.iter_mut() {
        for (v, c) in row.iter_mut().zip(c) {
            *v = op(c, *v);
        }
    }
}

/// One tile row of C at `ptr`: whole vectors when its columns are contiguous f32s.
#[inline(always)]
unsafe fn read_row(ptr: *const u8, col_stride: isize) -> [v128; NV] {
    if col_stride == 4 {
        std::array::from_fn(|j| v128_load(ptr.add(16 * j) as *const v128))
    } else {
        let at = |c: usize| *(ptr.offset(c as isize * col_stride) as *const f32);
        std::array::from_fn(|j| f32x4(at(4 * j), at(4 * j + 1), at(4 * j + 2), at(4 * j + 3)))
    }
}

#[inline(always)]
unsafe fn write_row(ptr: *mut u8, col_stride: isize, row: [v128; NV]) {
    if col_stride == 4 {
        for (j, v) in row.into_iter().enumerate() {
            v128_store(ptr.add(16 * j) as *mut v128, v);
        }
    } else {
        let at = |c: usize| ptr.offset(c as isize * col_stride) as *mut f32;
        for (j, v) in row.into_iter().enumerate() {
            *at(4 * j) = f32x4_extract_lane::<0>(v);
            *at(4 * j + 1) = f32x4_extract_lane::<1>(v);
            *at(4 * j + 2) = f32x4_extract_lane::<2>(v);
            *at(4 * j + 3) = f32x4_extract_lane::<3>(v);
        }
    }
}

/// Runs tract's fused-op list on one 3x12 tile, up to `Done`; returns 0 (tract's "no error").
///
/// # Safety
/// `ops` and the pointers its entries carry come from tract's matrix-product driver, sized for
/// this tile: A packed 3 wide, B packed 12 wide, per-row and per-column operands of 3 and 12
/// values, C tiles of 3 rows by 12 columns.
pub unsafe fn kernel_3x12(ops: &[FusedKerSpec<f32>]) -> isize {
    kernel_3x12q::<1>(ops)
}

/// The same for a tile of 3 rows by `12 * Q` columns: the list runs once per block of 12
/// columns, each on its own 9 accumulators (more would not stay in registers). What it saves is
/// tract's per-tile work around the kernel (the tile's pointers, panel lookups, this list's
/// dispatch), which on a short K costs as much as the arithmetic.
///
/// # Safety
/// As `kernel_3x12`, with B packed `12 * Q` wide and tiles and per-column operands `12 * Q` wide.
pub unsafe fn kernel_3x12q<const Q: usize>(ops: &[FusedKerSpec<f32>]) -> isize {
    for block in 0..Q {
        columns_3x12::<Q>(ops, block);
    }
    0
}

/// The fused-op list on columns `12 * block..12 * block + 12` of a 3 by `12 * Q` tile.
#[inline(always)]
unsafe fn columns_3x12<const Q: usize>(ops: &[FusedKerSpec<f32>], block: usize) {
    let first_col = NR * block; // this block's first column, in f32s
    let zero = f32x4_splat(0.0);
    let mut acc: Tile = [[zero; NV]; MR];
    for op in ops {
        match *op {
            FusedKerSpec::Done => break,
            FusedKerSpec::Clear => acc = [[zero; NV]; MR],
            FusedKerSpec::LoadTile(_cols, rows) => {
                // The accumulators as they were stored, row by row (rows of 12 * Q).
                let p = (rows as *const v128).add(NV * block);
                for (r, row) in acc.iter_mut().enumerate() {
                    *row = std::array::from_fn(|j| v128_load(p.add(NV * Q * r + j)));
                }
            }
            FusedKerSpec::ScalarMin(a) => each(&mut acc, f32x4_splat(a), |s, x| f32x4_min(s, x)),
            FusedKerSpec::ScalarMax(a) => each(&mut acc, f32x4_splat(a), |s, x| f32x4_max(s, x)),
            FusedKerSpec::ScalarAdd(a) => each(&mut acc, f32x4_splat(a), |s, x| f32x4_add(s, x)),
            FusedKerSpec::ScalarMul(a) => each(&mut acc, f32x4_splat(a), |s, x| f32x4_mul(s, x)),
            FusedKerSpec::ScalarSub(a) => each(&mut acc, f32x4_splat(a), |s, x| f32x4_sub(s, x)),
            FusedKerSpec::ScalarSubF(a) => each(&mut acc, f32x4_splat(a), |s, x| f32x4_sub(x, s)),
            FusedKerSpec::LeakyRelu(a) => each(&mut acc, f32x4_splat(a), |s, x| {
                v128_bitselect(x, f32x4_mul(s, x), f32x4_gt(x, f32x4_splat(0.0)))
            }),
            FusedKerSpec::PerRowMin(p) => per_row(&mut acc, p, |s, x| f32x4_min(s, x)),
            FusedKerSpec::PerRowMax(p) => per_row(&mut acc, p, |s, x| f32x4_max(s, x)),
            FusedKerSpec::PerRowAdd(p) => per_row(&mut acc, p, |s, x| f32x4_add(s, x)),
            FusedKerSpec::PerRowMul(p) => per_row(&mut acc, p, |s, x| f32x4_mul(s, x)),
            FusedKerSpec::PerRowSub(p) => per_row(&mut acc, p, |s, x| f32x4_sub(s, x)),
            FusedKerSpec::PerRowSubF(p) => per_row(&mut acc, p, |s, x| f32x4_sub(x, s)),
            FusedKerSpec::PerColMin(p) => per_col(&mut acc, p.add(first_col), |s, x| f32x4_min(s, x)),
            FusedKerSpec::PerColMax(p) => per_col(&mut acc, p.add(first_col), |s, x| f32x4_max(s, x)),
            FusedKerSpec::PerColAdd(p) => per_col(&mut acc, p.add(first_col), |s, x| f32x4_add(s, x)),
            FusedKerSpec::PerColMul(p) => per_col(&mut acc, p.add(first_col), |s, x| f32x4_mul(s, x)),
            FusedKerSpec::PerColSub(p) => per_col(&mut acc, p.add(first_col), |s, x| f32x4_sub(s, x)),
            FusedKerSpec::PerColSubF(p) => per_col(&mut acc, p.add(first_col), |s, x| f32x4_sub(x, s)),
            // On an f32 accumulator the quantisation steps are the scalings they stand for, as
            // in tract's own wasm f32 kernels.
            FusedKerSpec::QScale(shift, policy, mult) => {
                let scale = tract_linalg::Scaler::from_fuse_params(shift, policy, mult).scale;
                each(&mut acc, f32x4_splat(scale), |s, x| f32x4_mul(s, x))
            }
            FusedKerSpec::RoundingShiftRight(shift, _) => {
                each(&mut acc, f32x4_splat(2f32.powi(-(shift as i32))), |s, x| f32x4_mul(s, x))
            }
            FusedKerSpec::ShiftLeft(shift) => {
                each(&mut acc, f32x4_splat(2f32.powi(shift as i32)), |s, x| f32x4_mul(s, x))
            }
            FusedKerSpec::AddUnicast(OutputStoreKer { ptr, row_byte_stride, col_byte_stride, .. }) => {
                let ptr = ptr.offset(first_col as isize * col_byte_stride);
                for (r, row) in acc.iter_mut().enumerate() {
                    let c = read_row(ptr.offset(r as isize * row_byte_stride), col_byte_stride);
                    for (v, c) in row.iter_mut().zip(c) {
                        *v = f32x4_add(*v, c);
                    }
                }
            }
            FusedKerSpec::AddRowColProducts(rows, cols) => {
                let cols = cols.add(first_col);
                let c: [v128; NV] = std::array::from_fn(|j| v128_load(cols.add(4 * j) as *const v128));
                for (r, row) in acc.iter_mut().enumerate() {
                    let s = v128_load32_splat(rows.add(r) as *const u32);
                    for (v, c) in row.iter_mut().zip(c) {
                        *v = madd(*v, s, c);
                    }
                }
            }
            FusedKerSpec::Store(OutputStoreKer { ptr, row_byte_stride, col_byte_stride, .. }) => {
                let ptr = ptr.offset(first_col as isize * col_byte_stride);
                for (r, row) in acc.iter().enumerate() {
                    write_row(ptr.offset(r as isize * row_byte_stride), col_byte_stride, *row);
                }
            }
            FusedKerSpec::AddMatMul { k, pa, pb, packing } => {
                // B panels are 12 * Q wide: this block's 12 columns at each k.
                let b = (pb as *const v128).add(NV * block);
                if packing == STRIDED_A {
                    add_mat_mul_strided::<Q>(&mut acc, k, pa as *const usize, b);
                    continue;
                }
                // A packed [k][3], B packed [k][12 * Q]. Unrolling k by two measured slower: V8
                // then runs out of registers again.
                let mut a = pa as *const f32;
                let mut b = b;
                for _ in 0..k {
                    let c: [v128; NV] = std::array::from_fn(|j| v128_load(b.add(j)));
                    for (r, row) in acc.iter_mut().enumerate() {
                        let s = v128_load32_splat(a.add(r) as *const u32);
                        for (v, c) in row.iter_mut().zip(c) {
                            *v = madd(*v, s, c);
                        }
                    }
                    a = a.add(MR);
                    b = b.add(NV * Q);
                }
            }
        }
    }
}

/// `acc += A · B` with A read where it lies (`StridedKMajor`, packing `STRIDED_A`): `desc` is
/// tract's panel descriptor, three words: the address of the panel's first row at k = 0, the
/// bytes from one k to the next, and how many of the 3 rows exist (the last panel of A may have
/// fewer; the missing rows count as zeros and are never read).
///
/// # Safety
/// As tract's strided-panel contract: rows `0..valid` readable at every k in `0..k`.
#[inline(always)]
unsafe fn add_mat_mul_strided<const Q: usize>(acc: &mut Tile, k: usize, desc: *const usize, mut b: *const v128) {
    let (mut a, stride, valid) = (*desc as *const u8, *desc.add(1) as isize, *desc.add(2));
    if valid == MR {
        for _ in 0..k {
            let c: [v128; NV] = std::array::from_fn(|j| v128_load(b.add(j)));
            for (r, row) in acc.iter_mut().enumerate() {
                let s = v128_load32_splat(a.add(4 * r) as *const u32);
                for (v, c) in row.iter_mut().zip(c) {
                    *v = madd(*v, s, c);
                }
            }
            a = a.offset(stride);
            b = b.add(NV * Q);
        }
    } else {
        for _ in 0..k {
            let c: [v128; NV] = std::array::from_fn(|j| v128_load(b.add(j)));
            for (r, row) in acc.iter_mut().enumerate().take(valid) {
                let s = v128_load32_splat(a.add(4 * r) as *const u32);
                for (v, c) in row.iter_mut().zip(c) {
                    *v = madd(*v, s, c);
                }
            }
            a = a.offset(stride);
            b = b.add(NV * Q);
        }
    }
}

/// The packing (index into the kernel's list) in which A is not packed: vendored tract-core hands
/// an activation whose M axis is contiguous (a 1x1 convolution's CHW input) and whose K is at
/// most 64 to the kernel in place, instead of copying it into 3-row panels first: tract-linalg
/// has no fast copy for panels of 3 f32s, so that copy went value by value (vendor/README.md).
pub const STRIDED_A: usize = 1;

/// Names of the wider tiles (3x12 blocks side by side): `wasm_f32_3x24`, `wasm_f32_3x48`.
pub const KERNEL_NAME_3X24: &str = "wasm_f32_3x24";
pub const KERNEL_NAME_3X48: &str = "wasm_f32_3x48";

/// A kernel as tract-linalg's pool holds it: name, tile, packings, written for wasm.
fn registered<const W: usize>(name: &str, kernel: unsafe fn(&[FusedKerSpec<f32>]) -> isize) -> Box<dyn tract_linalg::mmm::MatMatMul> {
    let mut kernel = DynKernel::<MR, W, f32>::new(name, kernel, f32::packing(MR), f32::packing(W))
        // Packing STRIDED_A: the same B panels, so B packed once (the weights) serves both.
        .with_packing(StridedKMajor::new(MR), f32::packing(W));
    kernel.arch = Some(tract_linalg::isa::Arch::Wasm32Simd128);
    Box::new(kernel)
}

pub(crate) fn make() -> Box<dyn tract_linalg::mmm::MatMatMul> {
    registered::<NR>(KERNEL_NAME, kernel_3x12)
}
pub(crate) fn make_3x24() -> Box<dyn tract_linalg::mmm::MatMatMul> {
    registered::<{ 2 * NR }>(KERNEL_NAME_3X24, kernel_3x12q::<2>)
}
pub(crate) fn make_3x48() -> Box<dyn tract_linalg::mmm::MatMatMul> {
    registered::<{ 4 * NR }>(KERNEL_NAME_3X48, kernel_3x12q::<4>)
}

inventory::submit! { MmmRoutine { make } }
inventory::submit! { MmmRoutine { make: make_3x24 } }
inventory::submit! { MmmRoutine { make: make_3x48 } }
