// Writes Triton's example sequence models (simple_sequence, simple_dyna_sequence,
// simple_string_dyna_sequence), rebuilt as ONNX graphs, into a model repository folder.
// Usage (after `npm run build`): node scripts/sequence-models.mjs [folder]   (default: /tmp/sequence-models)
import { resolve } from 'node:path';
import { writeModelRepository } from '../dist/test/fixtures/onnx-models.js';
import { sequenceModels } from '../dist/test/fixtures/sequence-models.js';

const folder = resolve(process.argv[2] ?? '/tmp/sequence-models');
await writeModelRepository(folder, sequenceModels());
console.log(`wrote ${Object.keys(sequenceModels()).join(', ')} to ${folder}`);
