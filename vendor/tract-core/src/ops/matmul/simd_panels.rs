//! Vendored: what the wasm builds' SIMD packers of f32 activations share
//! (`pack_rows_of_three.rs` for the 3-row A panels, `pack_wide_panels.rs` for B panels a multiple
//! of 4 wide): which operands they take, the packed buffer, its zeroed last panel, the split of
//! panels across threads and the value tract's kernels read. Each packer only fills panels.

use crate::internal::*;
use tract_linalg::mmm::{EagerPackedInput, MMMInputValue, PackedExoticFact};
use tract_linalg::pack::PackedFormat;

/// An f32 operand with its K or its M/N axis contiguous (the two layouts 1x1 convolutions give
/// their activations): value (k, i) at `k * k_stride + i * mn_stride`, one of the strides 1.
#[derive(Clone, Copy)]
pub(crate) struct Operand {
    address: usize, // of value (0, 0); an address, so that the panel fills can share it across threads
    pub k: usize,
    pub mn: usize,
    pub k_stride: usize,
    pub mn_stride: usize,
}

impl Operand {
    pub fn ptr(&self) -> *const f32 {
        self.address as *const f32
    }

    pub fn k_contiguous(&self) -> bool {
        self.k_stride == 1
    }
}

/// Some of the packed panels, for one thread to fill: panels `first..`, back to back in
/// `values`, `panel_len` values each (a last partial panel's missing rows are zero already and
/// may be left as they are).
pub(crate) struct Panels<'a> {
    pub first: usize,
    pub values: &'a mut [f32],
    pub panel_len: usize,
}

/// The operand packed in `format` by `fill`, called on every `Panels` share. None when this path
/// does not apply: another type, neither the K nor the M/N axis contiguous, or a build without
/// SIMD128.
pub(crate) fn pack_with(
    format: &PackedFormat,
    input: &Tensor,
    k_axis: usize,
    mn_axis: usize,
    fill: impl Fn(&Operand, Panels) + Send + Sync,
) -> TractResult<Option<Box<dyn MMMInputValue>>> {
    if !cfg!(target_feature = "simd128")
        || format.dt != f32::datum_type()
        || input.datum_type() != f32::datum_type()
    {
        return Ok(None);
    }
    let (k_stride, mn_stride) = (input.strides()[k_axis], input.strides()[mn_axis]);
    if (k_stride != 1 && mn_stride != 1) || k_stride < 0 || mn_stride < 0 {
        return Ok(None);
    }
    let operand = Operand {
        address: input.as_ptr::<f32>()? as usize,
        k: input.shape()[k_axis],
        mn: input.shape()[mn_axis],
        k_stride: k_stride as usize,
        mn_stride: mn_stride as usize,
    };
    let panel_len = format.single_panel_len(operand.k);
    let packed_len = format.len(operand.k, operand.mn);
    if panel_len == 0 || packed_len == 0 {
        return Ok(None);
    }
    let mut packed = unsafe {
        Blob::new_for_size_and_align(packed_len * size_of::<f32>(), format.alignment_bytes)
    };
    // As tract does: the kernel computes on the last panel's missing rows before their
    // results are dropped, and garbage there could decode to slow denormals.
    if operand.mn % format.r != 0 {
        packed.as_bytes_mut()[(operand.mn / format.r) * panel_len * size_of::<f32>()..].fill(0);
    }
    let out = unsafe {
        std::slice::from_raw_parts_mut(packed.as_bytes_mut().as_mut_ptr() as *mut f32, packed_len)
    };
    tract_linalg::multithread::par_chunks_mut(out, panel_len, packed_len, |first, values| {
        fill(&operand, Panels { first, values, panel_len });
        Ok(())
    })?;
    Ok(Some(Box::new(EagerPackedInput {
        fact: PackedExoticFact {
            format: Box::new(format.clone()),
            mn: operand.mn.to_dim(),
            k: operand.k,
        },
        packed: packed.into(),
        panel_bytes: panel_len * size_of::<f32>(),
        mn: operand.mn,
    })))
}
