import { useEffect, useRef, useState } from 'preact/hooks';
import { call } from './api';
import { Bars } from './charts';

export interface TensorMetadata {
  readonly name: string;
  readonly datatype: string;
  readonly shape: readonly number[];
}
export interface ModelMetadata {
  readonly name: string;
  readonly versions?: readonly string[];
  readonly inputs: readonly TensorMetadata[];
  readonly outputs: readonly TensorMetadata[];
}
interface OutputTensor {
  readonly name: string;
  readonly datatype: string;
  readonly shape: readonly number[];
  readonly data: readonly unknown[];
}
interface InferResponse {
  readonly model_name: string;
  readonly model_version?: string;
  readonly outputs: readonly OutputTensor[];
}

const MAX_PREFILLED_ELEMENTS = 4096;

/** A request for the model with every variable dimension set to 1 and zeros (or "text") as data. */
export function exampleRequest(metadata: ModelMetadata): string {
  const inputs = metadata.inputs.map((input) => {
    const shape = input.shape.map((d) => (d < 0 ? 1 : d));
    const count = Math.min(
      MAX_PREFILLED_ELEMENTS,
      shape.reduce((a, b) => a * b, 1),
    );
    return { name: input.name, datatype: input.datatype, shape, data: Array.from({ length: count }, () => (input.datatype === 'BYTES' ? 'text' : input.datatype === 'BOOL' ? false : 0)) };
  });
  // Arrays of values on one line each: readable, and short enough to edit.
  return JSON.stringify({ inputs }, null, 2).replace(/\[[^[\]{}]*\]/g, (array) => array.replace(/\s+/g, ' ').replace('[ ', '[').replace(' ]', ']'));
}

/** Checks a request against the model's inputs before sending it; every problem in plain words. */
export function validateRequest(text: string, metadata: ModelMetadata): { problems: string[]; body?: unknown } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    return { problems: [`The request is not valid JSON: ${error instanceof Error ? error.message : String(error)}`] };
  }
  if (typeof parsed !== 'object' || parsed === null || !Array.isArray((parsed as { inputs?: unknown }).inputs)) return { problems: ['The request must be a JSON object with an "inputs" array.'] };
  const problems: string[] = [];
  const given = (parsed as { inputs: unknown[] }).inputs;
  for (const [index, raw] of given.entries()) {
    if (typeof raw !== 'object' || raw === null) {
      problems.push(`inputs[${index}] must be an object with name, datatype, shape and data.`);
      continue;
    }
    const input = raw as { name?: unknown; datatype?: unknown; shape?: unknown; data?: unknown };
    const expected = metadata.inputs.find((i) => i.name === input.name);
    if (!expected) {
      problems.push(`inputs[${index}]: "${String(input.name).slice(0, 50)}" is not an input of ${metadata.name} (inputs: ${metadata.inputs.map((i) => i.name).join(', ')}).`);
      continue;
    }
    if (input.datatype !== expected.datatype) problems.push(`${expected.name}: datatype must be ${expected.datatype}, not ${String(input.datatype).slice(0, 20)}.`);
    const shape = input.shape;
    if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && (d as number) >= 0)) {
      problems.push(`${expected.name}: shape must be an array of whole numbers ≥ 0.`);
      continue;
    }
    if (shape.length !== expected.shape.length || expected.shape.some((d, i) => d >= 0 && shape[i] !== d)) {
      problems.push(`${expected.name}: shape [${shape.join(', ')}] does not fit [${expected.shape.join(', ')}] (-1 = any size).`);
      continue;
    }
    const count = (shape as number[]).reduce((a, b) => a * b, 1);
    const data = Array.isArray(input.data) ? input.data.flat(Infinity) : undefined;
    if (!data) problems.push(`${expected.name}: data must be an array.`);
    else if (data.length !== count) problems.push(`${expected.name}: shape [${shape.join(', ')}] needs ${count} values, the data has ${data.length}.`);
    else if (expected.datatype !== 'BYTES' && expected.datatype !== 'BOOL' && !data.every((v) => typeof v === 'number'))
      problems.push(`${expected.name}: every value must be a number for ${expected.datatype}.`);
  }
  for (const expected of metadata.inputs) if (!given.some((g) => (g as { name?: unknown } | null)?.name === expected.name)) problems.push(`The input "${expected.name}" is missing.`);
  return problems.length > 0 ? { problems } : { problems, body: parsed };
}

async function infer(model: string, body: unknown): Promise<{ response: InferResponse; ms: number }> {
  const started = performance.now();
  const response = await call<InferResponse>('POST', `/v2/models/${encodeURIComponent(model)}/infer`, body);
  return { response, ms: performance.now() - started };
}

export function TryIt({ metadata }: { metadata: ModelMetadata }) {
  const [text, setText] = useState(() => exampleRequest(metadata));
  const [problems, setProblems] = useState<string[]>([]);
  const [result, setResult] = useState<{ response: InferResponse; ms: number } | undefined>();
  const [busy, setBusy] = useState(false);
  const image = metadata.inputs.find((i) => i.datatype === 'FP32' && i.shape.length >= 2 && i.shape.at(-1) === 8 && i.shape.at(-2) === 8);
  return (
    <section aria-labelledby="try-heading">
      <h2 id="try-heading">Try it</h2>
      {image && <DigitPad model={metadata.name} input={image} metadata={metadata} />}
      <form
        class="card"
        onSubmit={(e) => {
          e.preventDefault();
          const checked = validateRequest(text, metadata);
          setProblems(checked.problems);
          setResult(undefined);
          if (checked.problems.length > 0) return;
          setBusy(true);
          infer(metadata.name, checked.body)
            .then(setResult, (error: unknown) => setProblems([`The server refused the request: ${error instanceof Error ? error.message : String(error)}`]))
            .finally(() => setBusy(false));
        }}
      >
        <label for="infer-request">Inference request (JSON, Open Inference Protocol)</label>
        <textarea id="infer-request" rows={10} spellcheck={false} value={text} aria-invalid={problems.length > 0} aria-describedby="infer-problems" onInput={(e) => setText(e.currentTarget.value)} />
        <div class="row">
          <button type="submit" class="primary" disabled={busy}>
            {busy ? 'Running…' : 'Run inference'}
          </button>
          <button type="button" onClick={() => (setText(exampleRequest(metadata)), setProblems([]))}>
            Reset example
          </button>
        </div>
        <div id="infer-problems" role="alert" data-testid="infer-problems">
          {problems.length > 0 && (
            <ul class="error">
              {problems.map((p) => (
                <li key={p}>{p}</li>
              ))}
            </ul>
          )}
        </div>
      </form>
      {result && <Outputs result={result} />}
    </section>
  );
}

function Outputs({ result }: { result: { response: InferResponse; ms: number } }) {
  return (
    <div class="card" data-testid="infer-result">
      <p>
        {result.response.model_name} version {result.response.model_version ?? '?'} answered in <strong>{result.ms.toFixed(1)} ms</strong> (round trip from this page).
      </p>
      <div class="table-wrap">
        <table>
          <caption class="sr-only">Outputs</caption>
          <thead>
            <tr>
              <th scope="col">Output</th>
              <th scope="col">Datatype</th>
              <th scope="col">Shape</th>
              <th scope="col">Data</th>
            </tr>
          </thead>
          <tbody>
            {result.response.outputs.map((o) => (
              <tr key={o.name}>
                <th scope="row">{o.name}</th>
                <td>{o.datatype}</td>
                <td>[{o.shape.join(', ')}]</td>
                <td>
                  <code class="data">{JSON.stringify(o.data).slice(0, 2000)}</code>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </div>
  );
}

const PAD = 224;
const CELLS = 8;
const BRUSH = 20;

/**
 * Draw a digit: the 224×224 drawing is averaged into 8×8 cells and scaled to 0..16, the pixel
 * intensities the digits model was trained on (scikit-learn's load_digits).
 */
function DigitPad({ model, input, metadata }: { model: string; input: TensorMetadata; metadata: ModelMetadata }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const drawing = useRef<{ x: number; y: number } | undefined>(undefined);
  const [prediction, setPrediction] = useState<{ label: number; probabilities: number[]; ms: number } | undefined>();
  const [error, setError] = useState<string | undefined>();
  const clear = (): void => {
    const context = canvas.current?.getContext('2d');
    if (!context) return;
    context.fillStyle = '#fff';
    context.fillRect(0, 0, PAD, PAD);
    setPrediction(undefined);
  };
  useEffect(clear, []);
  const point = (e: PointerEvent): { x: number; y: number } => {
    const rect = (e.currentTarget as HTMLCanvasElement).getBoundingClientRect();
    return { x: ((e.clientX - rect.left) * PAD) / rect.width, y: ((e.clientY - rect.top) * PAD) / rect.height };
  };
  const stroke = (from: { x: number; y: number }, to: { x: number; y: number }): void => {
    const context = canvas.current?.getContext('2d');
    if (!context) return;
    context.strokeStyle = '#000';
    context.lineWidth = BRUSH * 2;
    context.lineCap = 'round';
    context.beginPath();
    context.moveTo(from.x, from.y);
    context.lineTo(to.x, to.y);
    context.stroke();
  };
  const predict = (): void => {
    const context = canvas.current?.getContext('2d');
    if (!context) return;
    const pixels = context.getImageData(0, 0, PAD, PAD).data;
    const cell = PAD / CELLS;
    const values: number[] = [];
    for (let row = 0; row < CELLS; row++) {
      for (let col = 0; col < CELLS; col++) {
        let ink = 0;
        for (let y = row * cell; y < (row + 1) * cell; y++) for (let x = col * cell; x < (col + 1) * cell; x++) ink += 255 - (pixels[(y * PAD + x) * 4] ?? 255);
        values.push(Math.round((16 * ink) / (255 * cell * cell)));
      }
    }
    const shape = input.shape.map((d) => (d < 0 ? 1 : d));
    const body = { inputs: [{ name: input.name, datatype: 'FP32', shape, data: values }], outputs: metadata.outputs.map((o) => ({ name: o.name })) };
    setError(undefined);
    infer(model, body).then(
      ({ response, ms }) => {
        const probabilities = (response.outputs.find((o) => o.datatype.startsWith('FP') && o.data.length === 10)?.data ?? []).map(Number);
        const labelOutput = response.outputs.find((o) => o.datatype.startsWith('INT') && o.data.length === 1);
        const label = labelOutput ? Number(labelOutput.data[0]) : probabilities.indexOf(Math.max(...probabilities));
        setPrediction({ label, probabilities, ms });
      },
      (e: unknown) => setError(e instanceof Error ? e.message : String(e)),
    );
  };
  return (
    <div class="card digit-pad">
      <h3>Draw a digit</h3>
      <p class="muted">Draw with the mouse, a pen or a finger; the prediction follows each stroke. (Keyboard users: use the JSON form below.)</p>
      <div class="row wrap">
        <canvas
          ref={canvas}
          width={PAD}
          height={PAD}
          data-testid="digit-canvas"
          aria-label="Drawing area for a digit"
          onPointerDown={(e) => {
            e.currentTarget.setPointerCapture(e.pointerId);
            const p = point(e);
            drawing.current = p;
            stroke(p, p);
          }}
          onPointerMove={(e) => {
            if (!drawing.current) return;
            const p = point(e);
            stroke(drawing.current, p);
            drawing.current = p;
          }}
          onPointerUp={() => {
            drawing.current = undefined;
            predict();
          }}
        />
        <div class="prediction" aria-live="polite">
          {prediction ? (
            <>
              <p data-testid="digit-prediction">
                Predicted class: <strong class="big">{prediction.label}</strong> <span class="muted">({prediction.ms.toFixed(1)} ms)</span>
              </p>
              <Bars
                label="Probability of each class"
                highlight={String(prediction.label)}
                bars={prediction.probabilities.map((p, i) => ({ name: String(i), value: p, text: `${(100 * p).toFixed(1)}%` }))}
              />
            </>
          ) : (
            <p class="muted">No prediction yet.</p>
          )}
          {error && (
            <p class="error" role="alert">
              {error}
            </p>
          )}
        </div>
      </div>
      <button type="button" onClick={clear}>
        Clear drawing
      </button>
    </div>
  );
}
