// JPEG / PNG bytes → resized, normalised FP32 RGB pixels [rows, height, width, 3].
// Decoding uses the pure-JavaScript jpeg-js and pngjs, imported through `importPackage` (the server's
// own packages, wherever this folder lives). The image's size is read from its header and checked
// before anything is decoded, so an oversized image costs no decode memory.
let jpeg;
let PNG;

let width = 299;
let height = 299;
let scale = 1 / 255;
let offset = 0;
let maxBytes = 16 * 1024 * 1024;
let maxDimension = 4096;

function positiveInteger(parameters, key, fallback) {
  const text = parameters[key];
  if (text === undefined || text === '') return fallback;
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n <= 0) throw new Error(`parameter ${key} must be a positive integer, got "${String(text).slice(0, 40)}"`);
  return n;
}

export async function initialize({ config, parameters, importPackage }) {
  jpeg = (await importPackage('jpeg-js')).default;
  PNG = (await importPackage('pngjs')).PNG;
  width = positiveInteger(parameters, 'width', 299);
  height = positiveInteger(parameters, 'height', 299);
  maxBytes = positiveInteger(parameters, 'max_bytes', maxBytes);
  maxDimension = positiveInteger(parameters, 'max_dimension', maxDimension);
  const normalization = parameters.normalization ?? 'zero_one';
  if (normalization === 'zero_one') [scale, offset] = [1 / 255, 0];
  else if (normalization === 'minus_one_one') [scale, offset] = [1 / 127.5, -1];
  else throw new Error(`parameter normalization must be zero_one or minus_one_one, got "${normalization.slice(0, 40)}"`);
  const dims = config.output[0]?.dims ?? [];
  if (dims.join(',') !== `${height},${width},3`) throw new Error(`output dims [${dims.join(',')}] must be [height, width, 3] = [${height},${width},3]`);
}

function refuse(message) {
  return Object.assign(new Error(message), { code: 'INVALID_ARGUMENT' });
}

/** Width and height from a PNG's IHDR or a JPEG's start-of-frame marker, without decoding. */
function headerSize(bytes) {
  if (bytes.length >= 24 && bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47) {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    return { kind: 'png', width: view.getUint32(16), height: view.getUint32(20) };
  }
  if (bytes.length >= 4 && bytes[0] === 0xff && bytes[1] === 0xd8) {
    let i = 2;
    while (i + 9 < bytes.length) {
      if (bytes[i] !== 0xff) throw refuse('the JPEG image is malformed (no marker where one is due)');
      const marker = bytes[i + 1];
      if (marker === 0xff) {
        i += 1;
        continue;
      }
      const length = (bytes[i + 2] << 8) | bytes[i + 3];
      const startOfFrame = marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
      if (startOfFrame) return { kind: 'jpeg', height: (bytes[i + 5] << 8) | bytes[i + 6], width: (bytes[i + 7] << 8) | bytes[i + 8] };
      i += 2 + length;
    }
    throw refuse('the JPEG image has no frame header');
  }
  throw refuse('the image is neither PNG nor JPEG');
}

function decode(bytes) {
  if (bytes.length > maxBytes) throw refuse(`the image is ${bytes.length} bytes, more than the ${maxBytes} bytes allowed`);
  const size = headerSize(bytes);
  if (size.width === 0 || size.height === 0 || size.width > maxDimension || size.height > maxDimension) {
    throw refuse(`the image is ${size.width}x${size.height} pixels; at most ${maxDimension}x${maxDimension} are allowed`);
  }
  try {
    if (size.kind === 'png') {
      const png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
      return { width: png.width, height: png.height, rgba: png.data };
    }
    const limitMp = (maxDimension * maxDimension) / 1e6;
    const image = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: true, maxResolutionInMP: limitMp, maxMemoryUsageInMB: 1024 });
    return { width: image.width, height: image.height, rgba: image.data };
  } catch (error) {
    throw refuse(`the ${size.kind === 'png' ? 'PNG' : 'JPEG'} image cannot be decoded: ${String(error?.message ?? error).slice(0, 200)}`);
  }
}

/** Bilinear resize of RGBA pixels into `out` (RGB floats, normalised) at element offset `at`. */
function resizeInto(image, out, at) {
  const xRatio = image.width / width;
  const yRatio = image.height / height;
  const rgba = image.rgba;
  for (let y = 0; y < height; y++) {
    const sy = Math.min(Math.max((y + 0.5) * yRatio - 0.5, 0), image.height - 1);
    const y0 = Math.floor(sy);
    const y1 = Math.min(y0 + 1, image.height - 1);
    const fy = sy - y0;
    for (let x = 0; x < width; x++) {
      const sx = Math.min(Math.max((x + 0.5) * xRatio - 0.5, 0), image.width - 1);
      const x0 = Math.floor(sx);
      const x1 = Math.min(x0 + 1, image.width - 1);
      const fx = sx - x0;
      const o = at + (y * width + x) * 3;
      for (let c = 0; c < 3; c++) {
        const top = rgba[(y0 * image.width + x0) * 4 + c] * (1 - fx) + rgba[(y0 * image.width + x1) * 4 + c] * fx;
        const bottom = rgba[(y1 * image.width + x0) * 4 + c] * (1 - fx) + rgba[(y1 * image.width + x1) * 4 + c] * fx;
        out[o + c] = (top * (1 - fy) + bottom * fy) * scale + offset;
      }
    }
  }
}

export function execute(inputs) {
  const images = inputs.image.data;
  const rows = inputs.image.shape[0];
  const perImage = height * width * 3;
  const out = new Float32Array(rows * perImage);
  images.forEach((bytes, row) => resizeInto(decode(bytes), out, row * perImage));
  return { pixels: { shape: [rows, height, width, 3], data: out } };
}
