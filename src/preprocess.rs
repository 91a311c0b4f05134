//! Photo pixels (RGBA, any size, as a canvas gives them) to the network's input tensor:
//! centre crop, resize with the manifest's filter, composite transparency over white,
//! normalise, and lay out as NCHW or NHWC.

use fast_image_resize::images::{Image, ImageRef};
use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};

use crate::error::{Error, Result};
use crate::manifest::{ChannelOrder, Filter, InputSpec, Layout};

/// Largest photo accepted, in pixels (a 16k x 16k canvas; guards against absurd allocations).
pub const MAX_PIXELS: u64 = 16384 * 16384;

/// The region of the photo (left, top, width, height) in source pixels that becomes the input:
/// the largest centred rectangle with the input's aspect ratio, scaled by `crop_fraction`.
pub fn crop_box(width: u32, height: u32, spec: &InputSpec) -> (f64, f64, f64, f64) {
    let (w, h) = (width as f64, height as f64);
    let scale = (w / spec.width as f64).min(h / spec.height as f64) * spec.resize.crop_fraction;
    let (cw, ch) = (spec.width as f64 * scale, spec.height as f64 * scale);
    ((w - cw) / 2.0, (h - ch) / 2.0, cw, ch)
}

/// Check that `rgba` really holds `width` x `height` RGBA pixels.
pub fn check_rgba(rgba: &[u8], width: u32, height: u32) -> Result<()> {
    if width == 0 || height == 0 {
        return Err(Error::Image(format!("the image is empty ({width}x{height} pixels)")));
    }
    let pixels = width as u64 * height as u64;
    if pixels > MAX_PIXELS {
        return Err(Error::Image(format!(
            "the image is too large ({width}x{height}); the limit is {MAX_PIXELS} pixels"
        )));
    }
    if rgba.len() as u64 != pixels * 4 {
        return Err(Error::Image(format!(
            "expected {} bytes of RGBA for {width}x{height}, got {}",
            pixels * 4,
            rgba.len()
        )));
    }
    Ok(())
}

fn resize_alg(filter: Filter, antialias: bool) -> ResizeAlg {
    let filter = match filter {
        Filter::Nearest => return ResizeAlg::Nearest,
        Filter::Bilinear => FilterType::Bilinear,
        Filter::Bicubic => FilterType::CatmullRom,
        Filter::Lanczos3 => FilterType::Lanczos3,
    };
    if antialias {
        ResizeAlg::Convolution(filter)
    } else {
        ResizeAlg::Interpolation(filter)
    }
}

/// Crop and resize to the input size. Returns packed RGB bytes (input width x height x 3);
/// transparent pixels are composited over white, so a PNG's hidden colours never matter.
pub fn crop_resize(rgba: &[u8], width: u32, height: u32, spec: &InputSpec) -> Result<Vec<u8>> {
    check_rgba(rgba, width, height)?;
    let opaque = rgba.chunks_exact(4).all(|p| p[3] == 255);
    let src = ImageRef::new(width, height, rgba, PixelType::U8x4)
        .map_err(|e| Error::Image(e.to_string()))?;
    let mut dst = Image::new(spec.width, spec.height, PixelType::U8x4);
    let (left, top, w, h) = crop_box(width, height, spec);
    let options = ResizeOptions::new()
        .resize_alg(resize_alg(spec.resize.filter, spec.resize.antialias))
        .crop(left, top, w, h)
        .use_alpha(!opaque);
    Resizer::new()
        .resize(&src, &mut dst, &options)
        .map_err(|e| Error::Image(format!("resize failed: {e}")))?;
    Ok(over_white(dst.buffer()))
}

/// RGBA to RGB, composited over white.
fn over_white(rgba: &[u8]) -> Vec<u8> {
    rgba.chunks_exact(4)
        .flat_map(|p| {
            let a = p[3] as u32;
            [0, 1, 2].map(|c| ((p[c] as u32 * a + 255 * (255 - a) + 127) / 255) as u8)
        })
        .collect()
}

/// Input values for pixels that are already cropped and sized for the network (no resampling),
/// e.g. a reference crop; refuses any other size.
pub fn prepared(rgba: &[u8], width: u32, height: u32, spec: &InputSpec) -> Result<Vec<f32>> {
    check_rgba(rgba, width, height)?;
    if (width, height) != (spec.width, spec.height) {
        return Err(Error::Image(format!(
            "a prepared image must be {}x{}, got {width}x{height}",
            spec.width, spec.height
        )));
    }
    to_tensor(&over_white(rgba), spec)
}

/// Packed RGB bytes (input width x height) to the network's input values, in its layout.
pub fn to_tensor(rgb: &[u8], spec: &InputSpec) -> Result<Vec<f32>> {
    let plane = spec.width as usize * spec.height as usize;
    if rgb.len() != plane * 3 {
        return Err(Error::Image(format!("expected {} RGB bytes, got {}", plane * 3, rgb.len())));
    }
    let affine = spec.normalize.affine()?;
    // Network channel k reads photo channel source[k].
    let source = match spec.channel_order {
        ChannelOrder::RGB => [0, 1, 2],
        ChannelOrder::BGR => [2, 1, 0],
    };
    let mut out = vec![0f32; plane * 3];
    for (i, px) in rgb.chunks_exact(3).enumerate() {
        for (k, &c) in source.iter().enumerate() {
            let v = px[c] as f32 * affine[c].scale + affine[c].offset;
            match spec.layout {
                Layout::NCHW => out[k * plane + i] = v,
                Layout::NHWC => out[i * 3 + k] = v,
            }
        }
    }
    Ok(out)
}

/// The whole pipeline: RGBA pixels of any size to the input tensor's values.
pub fn preprocess(rgba: &[u8], width: u32, height: u32, spec: &InputSpec) -> Result<Vec<f32>> {
    to_tensor(&crop_resize(rgba, width, height, spec)?, spec)
}

/// The tensor shape the manifest describes (batch of one).
pub fn input_shape(spec: &InputSpec) -> [usize; 4] {
    let (h, w) = (spec.height as usize, spec.width as usize);
    match spec.layout {
        Layout::NCHW => [1, 3, h, w],
        Layout::NHWC => [1, h, w, 3],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::{Normalize, ResizeSpec};

    fn spec(w: u32, h: u32, filter: Filter, antialias: bool) -> InputSpec {
        InputSpec {
            name: "input".into(),
            width: w,
            height: h,
            layout: Layout::NCHW,
            channel_order: ChannelOrder::RGB,
            normalize: Normalize { mean: Some([127.0; 3]), std: Some([128.0; 3]), range: None },
            resize: ResizeSpec { filter, crop_fraction: 0.875, antialias },
        }
    }

    fn solid(w: u32, h: u32, px: [u8; 4]) -> Vec<u8> {
        px.iter().copied().cycle().take((w * h * 4) as usize).collect()
    }

    #[test]
    fn crop_box_is_centred_square_of_shorter_side() {
        let s = spec(224, 224, Filter::Bilinear, false);
        assert_eq!(crop_box(800, 600, &s), (400.0 - 262.5, 300.0 - 262.5, 525.0, 525.0));
        assert_eq!(crop_box(600, 800, &s), (37.5, 137.5, 525.0, 525.0));
    }

    #[test]
    fn crop_box_keeps_input_aspect() {
        let mut s = spec(300, 150, Filter::Bilinear, false);
        s.resize.crop_fraction = 1.0;
        // 2:1 input inside a 1000x1000 photo: full width, half height, centred.
        assert_eq!(crop_box(1000, 1000, &s), (0.0, 250.0, 1000.0, 500.0));
    }

    #[test]
    fn solid_colour_stays_solid_for_every_filter_and_size() {
        for filter in [Filter::Nearest, Filter::Bilinear, Filter::Bicubic, Filter::Lanczos3] {
            for antialias in [false, true] {
                for (w, h) in [(1, 1), (1, 700), (640, 480), (7, 3)] {
                    let s = spec(224, 224, filter, antialias);
                    let rgb = crop_resize(&solid(w, h, [10, 200, 77, 255]), w, h, &s).unwrap();
                    assert_eq!(rgb.len(), 224 * 224 * 3);
                    assert!(rgb.chunks(3).all(|p| p == [10, 200, 77]), "{filter:?} {w}x{h}");
                }
            }
        }
    }

    #[test]
    fn crop_removes_the_border() {
        // A red frame 1/16 of the side wide around a blue photo: a 0.875 crop sees only blue.
        let (w, h) = (320u32, 320u32);
        let mut rgba = solid(w, h, [0, 0, 255, 255]);
        for y in 0..h {
            for x in 0..w {
                if x < 20 || y < 20 || x >= w - 20 || y >= h - 20 {
                    rgba[((y * w + x) * 4) as usize..][..3].copy_from_slice(&[255, 0, 0]);
                }
            }
        }
        let rgb = crop_resize(&rgba, w, h, &spec(64, 64, Filter::Bilinear, false)).unwrap();
        assert!(rgb.chunks(3).all(|p| p == [0, 0, 255]));
    }

    #[test]
    fn left_half_stays_left_in_both_layouts() {
        let (w, h) = (400u32, 200u32);
        let mut rgba = solid(w, h, [0, 0, 0, 255]);
        for y in 0..h {
            for x in 0..w / 2 {
                rgba[((y * w + x) * 4) as usize] = 255;
            }
        }
        let mut s = spec(8, 8, Filter::Nearest, false);
        let t = preprocess(&rgba, w, h, &s).unwrap();
        // NCHW: red plane, row 0: left half 255 -> (255-127)/128 = 1.0, right half -> -127/128.
        assert_eq!(t[0], 1.0);
        assert_eq!(t[7], -127.0 / 128.0);
        assert_eq!(t[64], -127.0 / 128.0); // green plane
        s.layout = Layout::NHWC;
        s.channel_order = ChannelOrder::BGR;
        let t = preprocess(&rgba, w, h, &s).unwrap();
        // NHWC BGR: pixel 0 = [b, g, r].
        assert_eq!(&t[0..3], &[-127.0 / 128.0, -127.0 / 128.0, 1.0]);
        assert_eq!(t[7 * 3 + 2], -127.0 / 128.0);
    }

    #[test]
    fn transparent_pixels_become_white_whatever_their_colour() {
        let s = spec(16, 16, Filter::Bilinear, true);
        let rgb = crop_resize(&solid(50, 50, [255, 0, 0, 0]), 50, 50, &s).unwrap();
        assert!(rgb.iter().all(|&v| v == 255));
        let rgb = crop_resize(&solid(50, 50, [0, 0, 0, 128]), 50, 50, &s).unwrap();
        assert!(rgb.iter().all(|&v| v == 127), "{:?}", &rgb[..3]);
    }

    #[test]
    fn range_normalisation() {
        let mut s = spec(2, 2, Filter::Nearest, false);
        s.normalize = Normalize { mean: None, std: None, range: Some([-1.0, 1.0]) };
        let t = to_tensor(&[0, 255, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], &s).unwrap();
        assert_eq!(t[0], -1.0);
        assert!((t[4] - 1.0).abs() < 1e-6); // green plane, pixel 0
    }

    #[test]
    fn bad_buffers_are_errors_not_panics() {
        let s = spec(224, 224, Filter::Bilinear, false);
        assert!(preprocess(&[], 0, 0, &s).unwrap_err().to_string().contains("empty"));
        assert!(preprocess(&[0; 15], 2, 2, &s).unwrap_err().to_string().contains("expected 16 bytes"));
        assert!(preprocess(&[], 100_000, 100_000, &s).unwrap_err().to_string().contains("too large"));
        assert!(to_tensor(&[0; 5], &s).is_err());
    }
}
