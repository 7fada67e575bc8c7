// Pixels 0..255 → FP32 on the 0..`scale_max` scale (load_digits uses 0..16). Rows stay in order,
// so a batch of N requests is one [N, 1, 8, 8] output.
let factor = 16 / 255;

export function initialize({ parameters }) {
  const max = Number(parameters.scale_max ?? '16');
  if (!Number.isFinite(max) || max <= 0) throw new Error(`parameter scale_max must be a positive number, got ${parameters.scale_max}`);
  factor = max / 255;
}

export function execute(inputs) {
  const pixels = inputs.pixels;
  const rows = pixels.shape[0];
  const image = new Float32Array(pixels.data.length);
  for (let i = 0; i < image.length; i++) image[i] = pixels.data[i] * factor;
  return { image: { shape: [rows, 1, 8, 8], data: image } };
}
