/**
 * A small Open Inference Protocol REST client written from the protocol's documented wire facts
 * (binary tensor extension byte layout, BYTES length prefixes), independently of the server's own
 * codecs, the way `tritonclient.http` builds its requests. Tests use it to check wire compatibility.
 */

export interface ClientTensor {
  name: string;
  datatype: string;
  shape: number[];
  /** Raw little-endian bytes (binary) or JSON data. */
  bytes?: Uint8Array;
  data?: unknown[];
}

export interface InferResult {
  status: number;
  json: Record<string, unknown>;
  /** Binary outputs by name. */
  binary: Map<string, Uint8Array>;
  headers: Headers;
}

/** BYTES elements as the protocol frames them: uint32 LE length, then the bytes. */
export function bytesTensor(elements: string[]): Uint8Array {
  const parts = elements.map((e) => Buffer.from(e, 'utf8'));
  const out = Buffer.alloc(parts.reduce((n, p) => n + 4 + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.writeUInt32LE(p.length, offset);
    p.copy(out, offset + 4);
    offset += 4 + p.length;
  }
  return out;
}

export function parseBytesTensor(bytes: Uint8Array): string[] {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: string[] = [];
  for (let offset = 0; offset < buf.length;) {
    const length = buf.readUInt32LE(offset);
    out.push(buf.subarray(offset + 4, offset + 4 + length).toString('utf8'));
    offset += 4 + length;
  }
  return out;
}

export async function infer(
  url: string,
  model: string,
  inputs: ClientTensor[],
  options: { version?: string; outputs?: { name: string; binary?: boolean; classification?: number }[]; binaryOutput?: boolean; id?: string; parameters?: Record<string, unknown> } = {},
): Promise<InferResult> {
  const tail: Uint8Array[] = [];
  const request: Record<string, unknown> = {
    inputs: inputs.map((t) => {
      if (t.bytes) {
        tail.push(t.bytes);
        return { name: t.name, shape: t.shape, datatype: t.datatype, parameters: { binary_data_size: t.bytes.byteLength } };
      }
      return { name: t.name, shape: t.shape, datatype: t.datatype, data: t.data };
    }),
  };
  if (options.id !== undefined) request['id'] = options.id;
  const parameters: Record<string, unknown> = { ...options.parameters };
  if (options.binaryOutput) parameters['binary_data_output'] = true;
  if (Object.keys(parameters).length) request['parameters'] = parameters;
  if (options.outputs) {
    request['outputs'] = options.outputs.map((o) => ({
      name: o.name,
      parameters: { ...(o.binary !== undefined ? { binary_data: o.binary } : {}), ...(o.classification ? { classification: o.classification } : {}) },
    }));
  }
  const json = Buffer.from(JSON.stringify(request));
  const headers: Record<string, string> = {};
  if (tail.length) headers['Inference-Header-Content-Length'] = String(json.length);
  const path = options.version ? `/v2/models/${model}/versions/${options.version}/infer` : `/v2/models/${model}/infer`;
  const response = await fetch(url + path, { method: 'POST', headers, body: Buffer.concat([json, ...tail]) });
  return parseInferResponse(response);
}

export async function parseInferResponse(response: Response): Promise<InferResult> {
  const body = Buffer.from(await response.arrayBuffer());
  const headerLength = response.headers.get('inference-header-content-length');
  const jsonLength = headerLength === null ? body.length : Number(headerLength);
  const json = JSON.parse(body.subarray(0, jsonLength).toString('utf8')) as Record<string, unknown>;
  const binary = new Map<string, Uint8Array>();
  let offset = jsonLength;
  for (const output of (json['outputs'] as { name: string; parameters?: { binary_data_size?: number } }[] | undefined) ?? []) {
    const size = output.parameters?.binary_data_size;
    if (size === undefined) continue;
    binary.set(output.name, body.subarray(offset, offset + size));
    offset += size;
  }
  if (headerLength !== null && offset !== body.length) throw new Error(`binary tail has ${body.length - offset} unexplained bytes`);
  return { status: response.status, json, binary, headers: response.headers };
}
