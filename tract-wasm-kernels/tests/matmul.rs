//! `wasm_f32_3x12` and its wider siblings (`wasm_f32_3x24`, `wasm_f32_3x48`) against a scalar
//! reference, op by op, and tract's matrix products on them against a naive product. Runs in Node
//! (wasm32, simd128, and relaxed SIMD in a second build): `make kernel-test`.
#![cfg(all(target_arch = "wasm32", target_feature = "simd128"))]

use tract_core::internal::*;
use tract_core::ops::einsum::EinSum;
use tract_core::ops::math;
use tract_linalg::mmm::{FusedKerSpec, OutputStoreKer, RoundingPolicy};
use tract_wasm_kernels::{
    kernel_3x12, kernel_3x12q, set_enabled, KERNEL_NAME, KERNEL_NAME_3X24, KERNEL_NAME_3X48, MR, NR, STRIDED_A,
    WIDE_MAX_K,
};
use wasm_bindgen_test::wasm_bindgen_test;

mod common;
use common::values;

type Kernel = unsafe fn(&[FusedKerSpec<f32>]) -> isize;

/// Each kernel with its tile width: 12, 24 and 48 columns.
fn kernels() -> [(Kernel, usize); 3] {
    [(kernel_3x12, NR), (kernel_3x12q::<2>, 2 * NR), (kernel_3x12q::<4>, 4 * NR)]
}

/// A 16-byte aligned copy (tract's packed panels are; the kernel loads whole vectors).
fn aligned(v: &[f32]) -> Vec<[f32; 4]> {
    let mut out = vec![[0.0; 4]; v.len().div_ceil(4)];
    for (i, x) in v.iter().enumerate() {
        out[i / 4][i % 4] = *x;
    }
    out
}

/// A tile of C: MR rows of `w` columns.
type Tile = Vec<Vec<f32>>;

/// What each fused op does to a tile `w` columns wide, written out element by element.
unsafe fn reference(w: usize, ops: &[FusedKerSpec<f32>]) -> Tile {
    let mut t: Tile = vec![vec![0.0; w]; MR];
    let apply = |t: &mut Tile, f: &dyn Fn(usize, usize, f32) -> f32| {
        for r in 0..MR {
            for c in 0..w {
                t[r][c] = f(r, c, t[r][c]);
            }
        }
    };
    for op in ops {
        match *op {
            FusedKerSpec::Done => break,
            FusedKerSpec::Clear => t = vec![vec![0.0; w]; MR],
            // tract hands over the tile in both layouts; read the column-major one, as its
            // generic kernel does (the wasm kernels read the row-major one).
            FusedKerSpec::LoadTile(col_major, _) => apply(&mut t, &|r, c, _| *col_major.add(c * MR + r)),
            FusedKerSpec::ScalarMin(a) => apply(&mut t, &|_, _, x| a.min(x)),
            FusedKerSpec::ScalarMax(a) => apply(&mut t, &|_, _, x| a.max(x)),
            FusedKerSpec::ScalarAdd(a) => apply(&mut t, &|_, _, x| a + x),
            FusedKerSpec::ScalarMul(a) => apply(&mut t, &|_, _, x| a * x),
            FusedKerSpec::ScalarSub(a) => apply(&mut t, &|_, _, x| a - x),
            FusedKerSpec::ScalarSubF(a) => apply(&mut t, &|_, _, x| x - a),
            FusedKerSpec::LeakyRelu(a) => apply(&mut t, &|_, _, x| if x > 0.0 { x } else { a * x }),
            FusedKerSpec::PerRowMin(p) => apply(&mut t, &|r, _, x| (*p.add(r)).min(x)),
            FusedKerSpec::PerRowMax(p) => apply(&mut t, &|r, _, x| (*p.add(r)).max(x)),
            FusedKerSpec::PerRowAdd(p) => apply(&mut t, &|r, _, x| *p.add(r) + x),
            FusedKerSpec::PerRowMul(p) => apply(&mut t, &|r, _, x| *p.add(r) * x),
            FusedKerSpec::PerRowSub(p) => apply(&mut t, &|r, _, x| *p.add(r) - x),
            FusedKerSpec::PerRowSubF(p) => apply(&mut t, &|r, _, x| x - *p.add(r)),
            FusedKerSpec::PerColMin(p) => apply(&mut t, &|_, c, x| (*p.add(c)).min(x)),
            FusedKerSpec::PerColMax(p) => apply(&mut t, &|_, c, x| (*p.add(c)).max(x)),
            FusedKerSpec::PerColAdd(p) => apply(&mut t, &|_, c, x| *p.add(c) + x),
            FusedKerSpec::PerColMul(p) => apply(&mut t, &|_, c, x| *p.add(c) * x),
            FusedKerSpec::PerColSub(p) => apply(&mut t, &|_, c, x| *p.add(c) - x),
            FusedKerSpec::PerColSubF(p) => apply(&mut t, &|_, c, x| x - *p.add(c)),
            FusedKerSpec::QScale(shift, policy, mult) => {
                let scale = tract_linalg::Scaler::from_fuse_params(shift, policy, mult).scale;
                apply(&mut t, &|_, _, x| x * scale)
            }
            FusedKerSpec::RoundingShiftRight(shift, _) => apply(&mut t, &|_, _, x| x / (1u32 << shift) as f32),
            FusedKerSpec::ShiftLeft(shift) => apply(&mut t, &|_, _, x| x * (1u32 << shift) as f32),
            FusedKerSpec::AddUnicast(s) => apply(&mut t, &|r, c, x| {
                x + *(s.ptr.offset(r as isize * s.row_byte_stride + c as isize * s.col_byte_stride) as *const f32)
            }),
            FusedKerSpec::AddRowColProducts(rows, cols) => apply(&mut t, &|r, c, x| x + *rows.add(r) * *cols.add(c)),
            FusedKerSpec::Store(s) => {
                for r in 0..MR {
                    for c in 0..w {
                        *(s.ptr.offset(r as isize * s.row_byte_stride + c as isize * s.col_byte_stride) as *mut f32) =
                            t[r][c];
                    }
                }
            }
            FusedKerSpec::AddMatMul { k, pa, pb, .. } => {
                let (a, b) = (pa as *const f32, pb as *const f32);
                apply(&mut t, &|r, c, x| x + (0..k).map(|i| *a.add(i * MR + r) * *b.add(i * w + c)).sum::<f32>())
            }
        }
    }
    t
}

/// Storage for a C tile `w` columns wide with the given strides (in f32s), and a way to read it
/// back.
struct CTile {
    buf: Vec<f32>,
    w: usize,
    row_stride: usize,
    col_stride: usize,
}

impl CTile {
    fn new(w: usize, row_stride: usize, col_stride: usize, seed: u32) -> CTile {
        let len = (MR - 1) * row_stride + (w - 1) * col_stride + 1;
        CTile { buf: values(len, seed), w, row_stride, col_stride }
    }
    fn ker(&mut self) -> OutputStoreKer {
        OutputStoreKer {
            ptr: self.buf.as_mut_ptr() as *mut u8,
            row_byte_stride: 4 * self.row_stride as isize,
            col_byte_stride: 4 * self.col_stride as isize,
            item_size: 4,
        }
    }
    fn tile(&self) -> Tile {
        (0..MR)
            .map(|r| (0..self.w).map(|c| self.buf[r * self.row_stride + c * self.col_stride]).collect())
            .collect()
    }
}

fn assert_close(got: &Tile, want: &Tile, what: &str) {
    for (r, (got, want)) in got.iter().zip(want).enumerate() {
        for (c, (g, w)) in got.iter().zip(want).enumerate() {
            // Relative to the value (products of k terms in [-2, 2]): fused and unfused
            // multiply-adds round differently, nothing else may differ.
            assert!((g - w).abs() <= 1e-5 * w.abs().max(1.0), "{what}: [{r}][{c}] kernel {g}, reference {w}");
        }
    }
}

/// Runs `ops` (each storing into its own tile of the given strides) through `kernel` (`w`
/// columns wide) and the reference; the stored tiles must agree, and nothing else in C changes.
fn check(
    what: &str,
    (kernel, w): (Kernel, usize),
    strides: (usize, usize),
    build: impl Fn(OutputStoreKer) -> Vec<FusedKerSpec<f32>>,
) {
    let mut ours = CTile::new(w, strides.0, strides.1, 99);
    let mut theirs = CTile::new(w, strides.0, strides.1, 99);
    unsafe {
        kernel(&build(ours.ker()));
        reference(w, &build(theirs.ker()));
    }
    let what = format!("{what}, {w} wide");
    assert_close(&ours.tile(), &theirs.tile(), &what);
    // Nothing between the tile's values was written (a block's columns at the wrong offset would).
    let before = CTile::new(w, strides.0, strides.1, 99).buf;
    let in_tile = |i: usize| (0..MR).any(|r| (0..w).any(|c| r * strides.0 + c * strides.1 == i));
    for (i, (now, was)) in ours.buf.iter().zip(&before).enumerate() {
        assert!(in_tile(i) || now.to_bits() == was.to_bits(), "{what}: C[{i}] outside the tile changed");
    }
}

#[wasm_bindgen_test]
fn matrix_product_with_fused_bias_and_clamp() {
    for kernel @ (_, w) in kernels() {
        for k in [0, 1, 2, 7, 64] {
            let a = aligned(&values(k * MR, 1));
            let b = aligned(&values(k * w, 2));
            let rows = values(MR, 3);
            let cols = aligned(&values(w, 4));
            // Rows of C contiguous (tract's usual layout), then columns contiguous, then neither.
            for strides in [(w, 1), (1, MR), (w + 40, 3)] {
                check(&format!("k={k} strides={strides:?}"), kernel, strides, |store| {
                    vec![
                        FusedKerSpec::Clear,
                        FusedKerSpec::AddMatMul { k, pa: a.as_ptr() as _, pb: b.as_ptr() as _, packing: 0 },
                        FusedKerSpec::PerRowAdd(rows.as_ptr()),
                        FusedKerSpec::PerColMul(cols.as_ptr() as _),
                        FusedKerSpec::ScalarMax(0.0),
                        FusedKerSpec::ScalarMin(6.0),
                        FusedKerSpec::Store(store),
                        FusedKerSpec::Done,
                    ]
                });
            }
        }
    }
}

#[wasm_bindgen_test]
fn every_other_fused_op() {
    for kernel @ (_, w) in kernels() {
        let tile_values = values(MR * w, 5);
        let row_major = aligned(&tile_values);
        let col_major: Vec<f32> = (0..MR * w).map(|i| tile_values[(i % MR) * w + i / MR]).collect();
        let load = FusedKerSpec::LoadTile(col_major.as_ptr(), row_major.as_ptr() as _);
        let rows = values(MR, 6);
        let cols = aligned(&values(w, 7));
        let mut residual = CTile::new(w, w + 5, 1, 8);
        let mut residual_strided = CTile::new(w, 1, 5, 9);
        let (residual, residual_strided) = (residual.ker(), residual_strided.ker());
        let row = rows.as_ptr();
        let col = cols.as_ptr() as *const f32;
        let steps: Vec<(&str, FusedKerSpec<f32>)> = vec![
            ("ScalarAdd", FusedKerSpec::ScalarAdd(0.5)),
            ("ScalarMul", FusedKerSpec::ScalarMul(-1.5)),
            ("ScalarSub", FusedKerSpec::ScalarSub(0.25)),
            ("ScalarSubF", FusedKerSpec::ScalarSubF(0.75)),
            ("ScalarMin", FusedKerSpec::ScalarMin(1.0)),
            ("ScalarMax", FusedKerSpec::ScalarMax(-1.0)),
            ("LeakyRelu", FusedKerSpec::LeakyRelu(0.1)),
            ("PerRowMin", FusedKerSpec::PerRowMin(row)),
            ("PerRowMax", FusedKerSpec::PerRowMax(row)),
            ("PerRowAdd", FusedKerSpec::PerRowAdd(row)),
            ("PerRowMul", FusedKerSpec::PerRowMul(row)),
            ("PerRowSub", FusedKerSpec::PerRowSub(row)),
            ("PerRowSubF", FusedKerSpec::PerRowSubF(row)),
            ("PerColMin", FusedKerSpec::PerColMin(col)),
            ("PerColMax", FusedKerSpec::PerColMax(col)),
            ("PerColAdd", FusedKerSpec::PerColAdd(col)),
            ("PerColMul", FusedKerSpec::PerColMul(col)),
            ("PerColSub", FusedKerSpec::PerColSub(col)),
            ("PerColSubF", FusedKerSpec::PerColSubF(col)),
            ("AddRowColProducts", FusedKerSpec::AddRowColProducts(row, col)),
            ("AddUnicast", FusedKerSpec::AddUnicast(residual)),
            ("AddUnicast (strided)", FusedKerSpec::AddUnicast(residual_strided)),
            ("QScale", FusedKerSpec::QScale(3, RoundingPolicy::Even, 1 << 30)),
            ("RoundingShiftRight", FusedKerSpec::RoundingShiftRight(2, RoundingPolicy::Even)),
            ("ShiftLeft", FusedKerSpec::ShiftLeft(3)),
        ];
        for (name, step) in &steps {
            check(name, kernel, (w, 1), |store| vec![load, *step, FusedKerSpec::Store(store), FusedKerSpec::Done]);
        }
        // And all of them in one list, as tract chains them.
        check("all in sequence", kernel, (w, 1), |store| {
            let mut ops = vec![load];
            ops.extend(steps.iter().map(|(_, s)| *s));
            ops.extend([FusedKerSpec::Store(store), FusedKerSpec::Done]);
            ops
        });
    }
}

/// A read in place (packing `STRIDED_A`): the kernel gets a descriptor of where the panel's rows
/// start, the bytes between one k and the next, and how many of its 3 rows exist. Rows past
/// those hold a poison value the kernel must not read; it gives what the packed A gives.
#[wasm_bindgen_test]
fn strided_a_read_in_place_equals_packed_a() {
    for (kernel, w) in kernels() {
        for k in [0, 1, 2, 7, 64] {
            for valid in 1..=MR {
                // A as [k][row_len] with the panel's rows at columns 2.., poison after the valid ones.
                let row_len = 11;
                let mut a_rows = values(k.max(1) * row_len, 21);
                for kk in 0..k {
                    for r in valid..MR {
                        a_rows[kk * row_len + 2 + r] = f32::NAN;
                    }
                }
                let packed: Vec<f32> = (0..k * MR)
                    .map(|i| if i % MR < valid { a_rows[(i / MR) * row_len + 2 + i % MR] } else { 0.0 })
                    .collect();
                let (a_packed, b) = (aligned(&packed), aligned(&values(k * w, 22)));
                let desc = [a_rows[2..].as_ptr() as usize, 4 * row_len, valid];
                let mut ours = CTile::new(w, w, 1, 99);
                let mut theirs = CTile::new(w, w, 1, 99);
                let ops = |pa: *const u8, packing: usize, store: OutputStoreKer| {
                    [
                        FusedKerSpec::Clear,
                        FusedKerSpec::AddMatMul { k, pa, pb: b.as_ptr() as _, packing },
                        FusedKerSpec::Store(store),
                        FusedKerSpec::Done,
                    ]
                };
                unsafe {
                    kernel(&ops(desc.as_ptr() as _, STRIDED_A, ours.ker()));
                    reference(w, &ops(a_packed.as_ptr() as _, 0, theirs.ker()));
                }
                // Rows past `valid` are tract's to discard; the others must agree.
                let (ours, theirs) = (ours.tile(), theirs.tile());
                assert_close(&ours[..valid].to_vec(), &theirs[..valid].to_vec(), &format!("k={k} valid={valid}, {w} wide"));
            }
        }
    }
}

/// `relu(x · w + bias)` as a tract network, optimised, and the kernel name its product got.
fn product_through_tract(m: usize, k: usize, n: usize) -> TractResult<(Vec<f32>, Vec<f32>, String)> {
    let x = values(m * k, 10);
    let w = values(k * n, 11);
    let bias = values(n, 12);
    let mut model = TypedModel::default();
    let input = model.add_source("x", f32::fact([m, k]))?;
    let weights = model.add_const("w", tensor1(&w).into_shape(&[k, n])?)?;
    let product = model.wire_node(
        "product",
        EinSum::new("mk,kn->mn".parse()?, f32::datum_type()),
        &[input, weights],
    )?[0];
    let bias_const = model.add_const("bias", tensor1(&bias).into_shape(&[1, n])?)?;
    let biased = model.wire_node("bias_add", math::add(), &[product, bias_const])?[0];
    let zero = model.add_const("zero", tensor0(0f32).into_shape(&[1, 1])?)?;
    let relu = model.wire_node("relu", math::max(), &[biased, zero])?[0];
    model.select_output_outlets(&[relu])?;
    let model = model.into_optimized()?;
    let kernels: Vec<String> = model.nodes().iter().flat_map(|node| node.op().info().unwrap_or_default()).collect();
    let plan = model.into_runnable()?;
    let output = plan.run(tvec!(tensor1(&x).into_shape(&[m, k])?.into_tvalue()))?;
    let got = output[0].to_plain_array_view::<f32>()?.iter().copied().collect();
    let want = (0..m * n)
        .map(|ix| {
            let (i, j) = (ix / n, ix % n);
            ((0..k).map(|l| x[i * k + l] * w[l * n + j]).sum::<f32>() + bias[j]).max(0.0)
        })
        .collect();
    Ok((got, want, kernels.join(" ")))
}

/// Whether `info` (the optimised nodes' descriptions) names one of this crate's kernels.
fn on_our_kernels(info: &str) -> bool {
    [KERNEL_NAME, KERNEL_NAME_3X24, KERNEL_NAME_3X48].iter().any(|name| info.contains(name))
}

/// tract's output against the naive product's, within 1e-5 of the largest value.
fn assert_agrees(got: &[f32], want: &[f32], what: &str) {
    let scale = want.iter().fold(1f32, |s, x| s.max(x.abs()));
    for (ix, (g, w)) in got.iter().zip(want).enumerate() {
        assert!((g - w).abs() <= 1e-5 * scale, "{what} at {ix}: tract {g}, naive {w}");
    }
}

#[wasm_bindgen_test]
fn tract_products_run_on_the_kernel_and_agree_with_a_naive_product() {
    set_enabled(true);
    // Edges of every kind: fewer rows or columns than a tile, partial tiles, k of 1. The last two
    // (M pixels by K channels, as a channel-last 1x1 convolution's input) make the activation A,
    // packed by vendored tract-core's SIMD copy of K-contiguous panels of 3 rows, with a last panel
    // of 1 and of 2 rows and a K that is not a multiple of 4.
    for (m, k, n) in [(37, 64, 50), (2, 5, 3), (5, 1, 13), (64, 9, 12), (3, 12, 100), (3136, 144, 24), (785, 67, 40)] {
        let (got, want, kernels) = product_through_tract(m, k, n).unwrap();
        assert!(on_our_kernels(&kernels), "{m}x{k}x{n} did not run on this crate's kernels: {kernels}");
        assert_agrees(&got, &want, &format!("{m}x{k}x{n}"));
    }
}

/// Products of a K of at most 64 go to the widest tile that wastes no more than it saves: 3x48
/// for 96 columns, 3x24 for 100 (four whole tiles and one of 4 columns), 3x12 past that K; the
/// partial tiles' columns are tract's scratch tile's, and the results agree with a naive product.
#[wasm_bindgen_test]
fn short_products_run_on_wider_tiles() {
    set_enabled(true);
    let cases = [
        (50, 16, 96, KERNEL_NAME_3X48),
        (29, 33, 140, KERNEL_NAME_3X48),
        (50, 16, 100, KERNEL_NAME_3X24),
        (17, 9, 61, KERNEL_NAME_3X24),
        (50, WIDE_MAX_K + 1, 96, KERNEL_NAME),
    ];
    for (m, k, n, kernel) in cases {
        let (got, want, kernels) = product_through_tract(m, k, n).unwrap();
        assert!(kernels.contains(kernel), "{m}x{k}x{n} did not run on {kernel}: {kernels}");
        assert_agrees(&got, &want, &format!("{m}x{k}x{n}"));
    }
}

/// `expr` over a constant `w` (`m` by `k`, as `w_shape` orders them) and a source `x` of
/// `x_shape`, optimised and run; returns the output and the optimised nodes' descriptions.
fn run_einsum(expr: &str, w: &[f32], w_shape: &[usize], x: &[f32], x_shape: &[usize]) -> (Tensor, String) {
    let mut model = TypedModel::default();
    let weights = model.add_const("w", tensor1(w).into_shape(w_shape).unwrap()).unwrap();
    let input = model.add_source("x", f32::fact(x_shape)).unwrap();
    let product =
        model.wire_node("product", EinSum::new(expr.parse().unwrap(), f32::datum_type()), &[weights, input]).unwrap()[0];
    model.select_output_outlets(&[product]).unwrap();
    let model = model.into_optimized().unwrap();
    let info: Vec<String> = model.nodes().iter().flat_map(|node| node.op().info().unwrap_or_default()).collect();
    let plan = model.into_runnable().unwrap();
    let output = plan.run(tvec!(tensor1(x).into_shape(x_shape).unwrap().into_tvalue())).unwrap();
    (output[0].clone().into_tensor(), info.join(" "))
}

/// Activations as B (a 1x1 convolution whose output channels are fewer than its pixels), packed
/// by vendored tract-core's SIMD copy into panels 12, 24 or 48 wide, from both layouts: channel
/// first (`[k, n]`, N contiguous: a copy of each k's row) and channel last (`[n, k]`, K
/// contiguous: 4x4 transposes). Partial last panels (of 4, 6 and 13 rows), K not a multiple of 4.
#[wasm_bindgen_test]
fn activations_packed_into_wide_panels_agree_with_a_naive_product() {
    set_enabled(true);
    let cases = [
        (16, 32, 100, KERNEL_NAME_3X24),
        (20, 7, 96, KERNEL_NAME_3X48),
        (13, 70, 30, KERNEL_NAME),
        (15, 9, 61, KERNEL_NAME_3X24),
    ];
    for (m, k, n, kernel) in cases {
        let w = values(m * k, 40);
        let x = values(k * n, 41);
        let want = |i: usize, j: usize, x_at: &dyn Fn(usize, usize) -> f32| (0..k).map(|l| w[i * k + l] * x_at(l, j)).sum::<f32>();
        for channel_last in [false, true] {
            let (expr, x_shape) = if channel_last { ("mk,nk->mn", [n, k]) } else { ("mk,kn->mn", [k, n]) };
            let x_at = |l: usize, j: usize| if channel_last { x[j * k + l] } else { x[l * n + j] };
            let (got, info) = run_einsum(expr, &w, &[m, k], &x, &x_shape);
            let what = format!("{m}x{k}x{n} {expr}");
            assert!(info.contains(kernel), "{what} did not run on {kernel}: {info}");
            let got = got.to_plain_array_view::<f32>().unwrap();
            for i in 0..m {
                for j in 0..n {
                    let (g, want) = (got[[i, j]], want(i, j, &x_at));
                    assert!((g - want).abs() <= 1e-5 * 4.0 * k as f32, "{what} at [{i}][{j}]: tract {g}, naive {want}");
                }
            }
        }
    }
}

/// In the wasm builds a product is oriented so that its N axis is C's innermost one (the
/// kernels store rows of N), where the release makes M the larger: here M (200) is C's innermost
/// axis, so the product runs transposed, its 40 as M, and the result agrees with a naive product.
#[wasm_bindgen_test]
fn products_are_oriented_to_store_rows_of_n() {
    set_enabled(true);
    let (m, k, n) = (200, 16, 40);
    let w = values(m * k, 50);
    let x = values(k * n, 51);
    let (got, info) = run_einsum("mk,kn->nm", &w, &[m, k], &x, &[k, n]);
    assert!(info.contains("c_n_axis:Some(1)") && info.contains("m:40 n:200"), "not oriented by C's layout: {info}");
    let got = got.to_plain_array_view::<f32>().unwrap();
    for i in 0..m {
        for j in 0..n {
            let want: f32 = (0..k).map(|l| w[i * k + l] * x[l * n + j]).sum();
            let g = got[[j, i]];
            assert!((g - want).abs() <= 1e-5 * 4.0 * k as f32, "[{j}][{i}]: tract {g}, naive {want}");
        }
    }
}

/// A product whose left operand is an activation laid out k-major (`[k, m]`, the M axis
/// contiguous, as a 1x1 convolution's CHW input is): tract hands it to the kernel in place
/// (`StridedKMajor { r: 3 }`, packing `STRIDED_A`) instead of copying it into panels, and the result
/// agrees with a naive product, partial panels included. Past a K of 64 (vendored tract-core's
/// STRIDED_A_MAX_K) A is copied into panels instead (read in place, a long K costs more than the
/// copy), by vendored tract-core's SIMD gather in blocks of 128 k: the last cases span several
/// blocks with a K that is not a multiple of 4, end on partial panels of 2 and 1 rows, and (300)
/// on a full panel whose 4-value loads would pass the row's end (it goes value by value).
#[wasm_bindgen_test]
fn k_major_activations_with_a_short_k_are_read_in_place() {
    set_enabled(true);
    let cases = [(200, 64, 50), (50, 5, 3), (13, 1, 5), (3136, 24, 12), (64, 9, 12), (200, 65, 50), (400, 96, 24)];
    for (m, k, n) in cases.into_iter().chain([(301, 301, 20), (300, 259, 16), (1764, 1080, 12)]) {
        let x = values(k * m, 30);
        let w = values(k * n, 31);
        let mut model = TypedModel::default();
        let input = model.add_source("x", f32::fact([k, m])).unwrap();
        let weights = model.add_const("w", tensor1(&w).into_shape(&[k, n]).unwrap()).unwrap();
        let product = model
            .wire_node("product", EinSum::new("km,kn->mn".parse().unwrap(), f32::datum_type()), &[input, weights])
            .unwrap()[0];
        model.select_output_outlets(&[product]).unwrap();
        let model = model.into_optimized().unwrap();
        let info: Vec<String> = model.nodes().iter().flat_map(|node| node.op().info().unwrap_or_default()).collect();
        let info = info.join(" ");
        assert!(info.contains(KERNEL_NAME), "{m}x{k}x{n} not on {KERNEL_NAME}: {info}");
        let in_place = info.contains("StridedKMajor { r: 3 }");
        assert_eq!(in_place, k <= 64, "{m}x{k}x{n}: A read in place: {in_place}: {info}");
        let plan = model.into_runnable().unwrap();
        let output = plan.run(tvec!(tensor1(&x).into_shape(&[k, m]).unwrap().into_tvalue())).unwrap();
        let got = output[0].to_plain_array_view::<f32>().unwrap();
        let scale = 2.0 * 2.0 * k as f32;
        for i in 0..m {
            for j in 0..n {
                let want: f32 = (0..k).map(|l| x[l * m + i] * w[l * n + j]).sum();
                let g = got[[i, j]];
                assert!((g - want).abs() <= 1e-5 * scale, "{m}x{k}x{n} at [{i}][{j}]: tract {g}, naive {want}");
            }
        }
    }
}

#[wasm_bindgen_test]
fn switched_off_tract_chooses_its_own_kernel() {
    set_enabled(false);
    let (got, want, kernels) = product_through_tract(37, 64, 50).unwrap();
    set_enabled(true);
    assert!(!kernels.contains(KERNEL_NAME), "still on {KERNEL_NAME}: {kernels}");
    assert!(kernels.contains("wasm_f32_"), "no wasm kernel named: {kernels}");
    let scale = want.iter().fold(1f32, |s, x| s.max(x.abs()));
    assert!(got.iter().zip(&want).all(|(g, w)| (g - w).abs() <= 1e-5 * scale));
}
