//! Photo files to upright RGBA pixels, decoded the way browsers decode them (native only;
//! in the browser, the browser decodes).
//!
//! JPEG goes through libjpeg-turbo's decoder (the `mozjpeg` crate), as in Chromium, Firefox and
//! Pillow, so the CLI sees the very pixels the page sees; other formats use the `image` crate.
//! The format is read from the content, never from the file name.

use std::io::Cursor;
use std::path::Path;

use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, RgbaImage};

use crate::preprocess::MAX_PIXELS;
use crate::Error;

pub struct Rgba {
    pub pixels: Vec<u8>,
    pub width: u32,
    pub height: u32,
}

pub fn decode_file(path: &Path) -> Result<Rgba, Error> {
    let bytes = std::fs::read(path).map_err(|e| Error::Io(format!("cannot read: {e}")))?;
    decode(&bytes)
}

pub fn decode(bytes: &[u8]) -> Result<Rgba, Error> {
    if bytes.is_empty() {
        return Err(Error::Image("the file is empty".into()));
    }
    let format = image::guess_format(bytes).map_err(|_| {
        Error::Image("not a supported image format (JPEG, PNG, WebP, GIF, BMP)".into())
    })?;
    let damaged = |e: &dyn std::fmt::Display| {
        Error::Image(format!("the {} file is damaged or unsupported ({e})", format.extensions_str()[0]))
    };
    let mut decoder = ImageReader::with_format(Cursor::new(bytes), format)
        .into_decoder()
        .map_err(|e| damaged(&e))?;
    // Refuse from the header, before allocating width x height x 4 bytes.
    let (width, height) = decoder.dimensions();
    if width as u64 * height as u64 > MAX_PIXELS {
        return Err(Error::Image(format!(
            "the image is {width}x{height} pixels; at most {} megapixels are supported",
            MAX_PIXELS / 1_000_000
        )));
    }
    let orientation = decoder.orientation().map_err(|e| damaged(&e))?;
    let libjpeg = (format == ImageFormat::Jpeg).then(|| decode_jpeg(bytes)).flatten();
    let mut photo = match libjpeg {
        Some(rgba) => DynamicImage::ImageRgba8(rgba),
        // Other formats, and JPEGs libjpeg-turbo cannot turn into RGB (e.g. CMYK).
        None => DynamicImage::from_decoder(decoder).map_err(|e| damaged(&e))?,
    };
    photo.apply_orientation(orientation);
    let rgba = photo.into_rgba8();
    let (width, height) = rgba.dimensions();
    Ok(Rgba { pixels: rgba.into_raw(), width, height })
}

/// libjpeg-turbo decode with its defaults (accurate integer IDCT, fancy upsampling);
/// None if it cannot produce RGBA from this file (the image crate then tries).
fn decode_jpeg(bytes: &[u8]) -> Option<RgbaImage> {
    // libjpeg reports fatal errors by unwinding (the mozjpeg crate's `unwinding` feature, without
    // the panic hook): contain them here, so a bad file is an error, never an abort.
    std::panic::catch_unwind(|| decode_jpeg_unguarded(bytes)).ok().flatten()
}

fn decode_jpeg_unguarded(bytes: &[u8]) -> Option<RgbaImage> {
    use mozjpeg::ColorSpace::{JCS_CMYK, JCS_YCCK};
    let jpeg = mozjpeg::Decompress::new_mem(bytes).ok()?;
    // libjpeg-turbo cannot convert CMYK/YCCK to RGB; leave those to the image crate.
    if matches!(jpeg.color_space(), JCS_CMYK | JCS_YCCK) {
        return None;
    }
    let mut jpeg = jpeg.rgba().ok()?;
    let (w, h) = (jpeg.width() as u32, jpeg.height() as u32);
    let pixels: Vec<[u8; 4]> = jpeg.read_scanlines().ok()?;
    jpeg.finish().ok()?;
    RgbaImage::from_raw(w, h, pixels.into_flattened())
}
