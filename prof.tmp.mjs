import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { convertTfjsToOnnx } from './dist/src/backends/tfjs-to-onnx/index.js';
const require = createRequire(import.meta.url);
function load(p){const m={exports:{}};new Function('module','exports','require',readFileSync(p,'utf8'))(m,m.exports,require);return m.exports;}
const dir='node_modules/nsfwjs/dist/models/inception_v3/';
const mj=load(dir+'model.min.js');
const shards = mj.weightsManifest[0].paths.map(p => Buffer.from(load(dir+p+'.min.js'), 'base64'));
const data = Buffer.concat(shards); const weightData = data.buffer.slice(data.byteOffset, data.byteOffset+data.byteLength);
const artifacts = { modelTopology: mj.modelTopology, format: 'layers-model', weightSpecs: mj.weightsManifest[0].weights, weightData };
for (let i=0;i<3;i++){let t=performance.now(); const conv = convertTfjsToOnnx(artifacts); console.log('convert ms', performance.now()-t, conv.onnx.length);}
