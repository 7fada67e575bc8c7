/** What other folders use of tensors/ (kept by scripts/index-imports.mjs). */
export { encodeBinaryTensor, decodeBinaryTensor, binaryByteLength } from './binary-codec.js';
export { giveBack, MIN_POOLED_BYTES, takeBuffer } from './buffer-pool.js';
export { concatRows, ReusedRows } from './concat-rows.js';
export { dataTypeFromOrt, ortTypeOf, dataTypeFromConfig, isDataType, arrayTypeOf, SAFE_INTEGER_RANGES, DATA_TYPES, byteSizeOf, INTEGER_RANGES, configTypeOf } from './data-type.js';
export type { DataType } from './data-type.js';
export { isExclusive, markExclusive } from './exclusive-buffers.js';
export { jsonDataText, decodeJsonTensorData, checkJsonOutputBudget } from './json-codec.js';
export { checkedElementCount, checkRank, MAX_DIMS, DecodeBudget, BYTES_ELEMENT_OVERHEAD } from './tensor-limits.js';
export { elementCount, isBytesData } from './tensor.js';
export type { Tensor, TensorData, NumericArray } from './tensor.js';
