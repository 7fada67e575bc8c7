// Scores → the label of the highest score, one BYTES element per row. The labels file sits in the
// model folder (the parent of the version folder) and is read once per instance.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

let labels = [];

export async function initialize({ folder, parameters }) {
  const text = await readFile(join(folder, '..', parameters.labels_file ?? 'labels.txt'), 'utf8');
  labels = text.split('\n').map((l) => l.trim()).filter((l) => l !== '');
}

export function execute(inputs) {
  const scores = inputs.probabilities;
  const [rows, classes] = scores.shape;
  const out = [];
  for (let r = 0; r < rows; r++) {
    let best = 0;
    for (let c = 1; c < classes; c++) if (scores.data[r * classes + c] > scores.data[r * classes + best]) best = c;
    out.push(labels[best] ?? String(best));
  }
  return { label: { shape: [rows, 1], data: out } };
}
