/**
 * BYTES inputs as ONNX Runtime's string tensors can take them.
 *
 * onnxruntime-node only accepts JavaScript strings for string tensors: each element is turned into
 * UTF-8 and handed to ORT as a NUL-terminated C string (`FillStringTensor`). So bytes that are not
 * UTF-8 would have to be replaced (U+FFFD) before they reach the model, and an element holding a NUL
 * byte would be cut at that byte. Neither can be carried exactly, and changing a client's data
 * silently is worse than refusing it: such elements are INVALID_ARGUMENT, named by input and
 * element index, checked while the request is prepared (before it joins a batch, so one bad request
 * fails alone).
 */
import { isUtf8 } from 'node:buffer';
import { invalidArgument } from '../core/index.js';
import type { Tensor } from '../tensors/index.js';

/** Throws INVALID_ARGUMENT for the first element of a BYTES tensor ONNX Runtime cannot carry exactly. */
export function checkStringElements(tensor: Tensor): void {
  const data = tensor.data;
  if (!Array.isArray(data)) return;
  for (let i = 0; i < data.length; i++) {
    const element = data[i]!;
    const problem = elementProblem(element);
    if (problem !== undefined) {
      throw invalidArgument(`input '${tensor.name}' element ${i} ${problem}: ONNX Runtime string tensors carry UTF-8 text without NUL bytes, so it cannot be passed to the model unchanged`);
    }
  }
}

/** Why `element` cannot be an ONNX Runtime string, or undefined when it can. */
export function elementProblem(element: Uint8Array): string | undefined {
  const nul = element.indexOf(0);
  if (nul !== -1) return `holds a NUL byte (at byte ${nul})`;
  if (!isUtf8(element)) return 'is not valid UTF-8';
  return undefined;
}
