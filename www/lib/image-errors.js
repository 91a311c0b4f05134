// Why a file could not be decoded, in words a person can act on. The browser's decoder only says
// "failed"; the first bytes of the file tell an empty file from a damaged JPEG, an oversized
// PNG, an SVG drawing or a HEIC photo this browser cannot read.

const SIGNATURES = [
  ['JPEG', (b) => b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff],
  ['PNG', (b) => b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47],
  ['GIF', (b) => b[0] === 0x47 && b[1] === 0x49 && b[2] === 0x46],
  ['WebP', (b) => ascii(b, 0, 4) === 'RIFF' && ascii(b, 8, 12) === 'WEBP'],
  ['BMP', (b) => b[0] === 0x42 && b[1] === 0x4d],
  ['HEIC', (b) => ascii(b, 4, 8) === 'ftyp' && /^(heic|heix|hevc|heim|heis|mif1|msf1)$/.test(ascii(b, 8, 12))],
  ['AVIF', (b) => ascii(b, 4, 8) === 'ftyp' && /^avi[fs]$/.test(ascii(b, 8, 12))],
];

function ascii(bytes, start, end) {
  return String.fromCharCode(...bytes.subarray(start, end));
}

// Pixels a browser will not decode into one bitmap (Chromium refuses far smaller than this).
const MAX_PIXELS = 16384 * 16384;

export async function undecodableReason(blob) {
  if (blob.size === 0) return 'the file is empty';
  const head = new Uint8Array(await blob.slice(0, 64).arrayBuffer());
  const format = SIGNATURES.find(([, test]) => test(head))?.[0];
  if (format === 'PNG' && head.length >= 24) {
    const view = new DataView(head.buffer);
    const [width, height] = [view.getUint32(16), view.getUint32(20)];
    if (width * height > MAX_PIXELS) {
      return `the image is ${width}x${height} pixels; at most ${Math.floor(MAX_PIXELS / 1e6)} megapixels are supported`;
    }
  }
  if (format === 'HEIC' || format === 'AVIF') {
    return `${format} photos cannot be read by this browser; convert it to JPEG or PNG first`;
  }
  if (format) return `the ${format} file is damaged or incomplete`;
  const text = ascii(head, 0, head.length).trimStart();
  if (text.startsWith('<svg') || (text.startsWith('<?xml') && blob.type === 'image/svg+xml')) {
    return 'SVG drawings are not supported; use a photo (JPEG, PNG, WebP, GIF or BMP)';
  }
  return 'this file is not an image (expected JPEG, PNG, WebP, GIF or BMP)';
}
