// Scores [rows, classes] → the k best per row as "label:score" (score with 4 decimals), best first.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

let labels = [];
let k = 3;

export async function initialize({ folder, parameters }) {
  k = Number(parameters.k ?? '3');
  if (!Number.isSafeInteger(k) || k <= 0) throw new Error(`parameter k must be a positive integer, got "${String(parameters.k).slice(0, 40)}"`);
  const text = await readFile(join(folder, '..', parameters.labels_file ?? 'labels.txt'), 'utf8');
  labels = text.split('\n').map((l) => l.trim()).filter((l) => l !== '');
}

export function execute(inputs) {
  const scores = inputs.scores;
  const [rows, classes] = scores.shape;
  const n = Math.min(k, classes);
  const out = [];
  for (let r = 0; r < rows; r++) {
    const row = Array.from(scores.data.subarray(r * classes, (r + 1) * classes), (score, index) => ({ score, index }));
    row.sort((a, b) => b.score - a.score || a.index - b.index);
    for (const { score, index } of row.slice(0, n)) out.push(`${labels[index] ?? index}:${score.toFixed(4)}`);
  }
  return { top: { shape: [rows, n], data: out } };
}
