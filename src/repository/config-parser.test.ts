import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CranberriesError } from '../core/errors.js';
import { authoredFields, modelConfigFromJson, parameterNumber, parseModelConfig, validateModelConfig } from './config-parser.js';
import { modelConfigType } from './config-proto.js';
import type { ModelConfig } from './model-config.js';
import { formatTextFormat } from './text-format.js';

/** A complete config.pbtxt in the style of Triton's model configuration docs (batching, instance groups, parameters). */
const RESNET = `
name: "resnet"
backend: "onnxruntime"
max_batch_size: 16
input  [ { name: "input"  data_type: TYPE_FP32 dims: [ 3, 224, 224 ] } ]
output [ { name: "logits" data_type: TYPE_FP32 dims: [ 1000 ] label_filename: "labels.txt" } ]
dynamic_batching { preferred_batch_size: [ 8, 16 ] max_queue_delay_microseconds: 200
                   priority_levels: 2 default_priority_level: 2
                   default_queue_policy { max_queue_size: 64 timeout_action: REJECT } }
instance_group [ { count: 2 kind: KIND_CPU } ]
version_policy: { latest { num_versions: 2 } }
parameters { key: "intra_op_thread_count" value: { string_value: "4" } }
response_cache { enable: true }
model_warmup [ { name: "w" batch_size: 1 inputs { key: "input" value: { data_type: TYPE_FP32 dims: [ 3, 224, 224 ] zero_data: true } } } ]
`;

/** Triton's densenet example: platform only, batching off, reshape, NCHW. */
const DENSENET = `
name: "densenet_onnx"
platform: "onnxruntime_onnx"
max_batch_size : 0
input [
  {
    name: "data_0"
    data_type: TYPE_FP32
    format: FORMAT_NCHW
    dims: [ 3, 224, 224 ]
    reshape { shape: [ 1, 3, 224, 224 ] }
  }
]
output [
  {
    name: "fc6_1"
    data_type: TYPE_FP32
    dims: [ 1000 ]
    reshape { shape: [ 1, 1000, 1, 1 ] }
    label_filename: "densenet_labels.txt"
  }
]
`;

/** Older block style, GPU groups, accelerators, several parameters, metric tags, sequence batching. */
const SEQUENCE = `
# a stateful model
backend: "onnxruntime"
max_batch_size: 4
input { name: "INPUT" data_type: TYPE_INT32 dims: 1 }
input { name: "START" data_type: TYPE_FP32 dims: [ 1 ] optional: false }
output { name: "OUTPUT" data_type: TYPE_INT32 dims: [ 1 ] }
instance_group { kind: KIND_GPU count: 2 gpus: [ 0, 1 ] }
instance_group { name: "cpu_pool" kind: KIND_AUTO }
sequence_batching {
  max_sequence_idle_microseconds: 5000000
  control_input [
    { name: "START" control [ { kind: CONTROL_SEQUENCE_START fp32_false_true: [ 0, 1 ] } ] }
  ]
  oldest { max_candidate_sequences: 4 preferred_batch_size: [ 2, 4 ] }
}
optimization { graph { level: 1 } execution_accelerators { cpu_execution_accelerator : [ { name : "openvino" } ] } }
parameters: { key: "intra_op_thread_count" value: { string_value: "2" } }
parameters [ { key: "enable_mem_arena" value { string_value: "1" } } ]
metric_tags { key: "team" value: "search" }
model_transaction_policy { decoupled: False }
version_policy { specific { versions: [ 3, 1 ] } }
`;

/** An ensemble: platform that no backend of ours serves, maps inside repeated steps. */
const ENSEMBLE = `
name: "pipeline"
platform: "ensemble"
max_batch_size: 1
input [ { name: "IN" data_type: TYPE_STRING dims: [ 1 ] } ]
output [ { name: "OUT" data_type: TYPE_FP32 dims: [ 10 ] } ]
ensemble_scheduling {
  step [
    { model_name: "pre" model_version: -1 input_map { key: "RAW" value: "IN" } output_map { key: "PROCESSED" value: "mid" } },
    { model_name: "cls" model_version: -1 input_map { key: "X" value: "mid" } output_map { key: "Y" value: "OUT" } }
  ]
}
`;

/** Priority queues with per-level policies (a map keyed by uint64). */
const PRIORITIES = `
max_batch_size: 8
input [ { name: "x" data_type: TYPE_FP32 dims: [ -1 ] } ]
output [ { name: "y" data_type: TYPE_FP32 dims: [ -1 ] } ]
dynamic_batching {
  priority_levels: 3
  default_priority_level: 2
  default_queue_policy { timeout_action: DELAY default_timeout_microseconds: 100000 allow_timeout_override: true }
  priority_queue_policy { key: 1 value: { max_queue_size: 8 } }
  priority_queue_policy { key: 3 value: { timeout_action: REJECT default_timeout_microseconds: 5 } }
}
version_policy: { all { } }
`;

const REALISTIC: Readonly<Record<string, string>> = { resnet: RESNET, densenet_onnx: DENSENET, sequence: SEQUENCE, pipeline: ENSEMBLE, priorities: PRIORITIES };

function refusal(action: () => unknown): string {
  try {
    action();
  } catch (error) {
    assert.ok(error instanceof CranberriesError, `expected a CranberriesError, got ${String(error)}`);
    assert.equal(error.code, 'INVALID_ARGUMENT');
    return error.message;
  }
  assert.fail('expected an INVALID_ARGUMENT error');
}

const TENSORS = `
input [ { name: "x" data_type: TYPE_FP32 dims: [ 4 ] } ]
output [ { name: "y" data_type: TYPE_FP32 dims: [ 2 ] } ]
`;
const parseRefusal = (text: string, dir = 'm'): string => refusal(() => parseModelConfig(text, dir));
const validateRefusal = (text: string): string => refusal(() => validateModelConfig(parseModelConfig(text, 'm')));

describe('parseModelConfig: realistic Triton configs', () => {
  it('reads the documented example completely', () => {
    const config = parseModelConfig(RESNET, 'resnet');
    assert.equal(config.name, 'resnet');
    assert.equal(config.backend, 'onnxruntime');
    assert.equal(config.platform, 'onnxruntime_onnx');
    assert.equal(config.max_batch_size, 16);
    assert.deepEqual(config.input, [
      { name: 'input', data_type: 'TYPE_FP32', format: 'FORMAT_NONE', dims: [3, 224, 224], is_shape_tensor: false, allow_ragged_batch: false, optional: false, is_non_linear_format_io: false },
    ]);
    assert.deepEqual(config.output, [{ name: 'logits', data_type: 'TYPE_FP32', dims: [1000], label_filename: 'labels.txt', is_shape_tensor: false, is_non_linear_format_io: false }]);
    assert.deepEqual(config.dynamic_batching, {
      preferred_batch_size: [8, 16],
      max_queue_delay_microseconds: 200,
      preserve_ordering: false,
      priority_levels: 2,
      default_priority_level: 2,
      default_queue_policy: { timeout_action: 'REJECT', default_timeout_microseconds: 0, allow_timeout_override: false, max_queue_size: 64 },
      priority_queue_policy: {},
    });
    assert.deepEqual(config.instance_group, [{ name: 'resnet_0', kind: 'KIND_CPU', count: 2, gpus: [], secondary_devices: [], profile: [], passive: false, host_policy: '' }]);
    assert.deepEqual(config.version_policy, { latest: { num_versions: 2 } });
    assert.deepEqual(config.parameters, { intra_op_thread_count: { string_value: '4' } });
    assert.deepEqual(config.response_cache, { enable: true });
    assert.deepEqual(config.model_warmup, [{ name: 'w', batch_size: 1, inputs: { input: { data_type: 'TYPE_FP32', dims: [3, 224, 224], zero_data: true } }, count: 0 }]);
    validateModelConfig(config);
  });

  it('reads reshape, formats and platform-only configs', () => {
    const config = parseModelConfig(DENSENET, 'densenet_onnx');
    assert.equal(config.backend, 'onnxruntime');
    assert.equal(config.max_batch_size, 0);
    assert.equal(config.input[0]?.format, 'FORMAT_NCHW');
    assert.deepEqual(config.input[0]?.reshape, { shape: [1, 3, 224, 224] });
    assert.deepEqual(config.output[0]?.reshape, { shape: [1, 1000, 1, 1] });
    validateModelConfig(config);
  });

  it('reads block-style repeats, GPU groups, sequence batching, maps and fields we only carry', () => {
    const config = parseModelConfig(SEQUENCE, 'sequence') as ModelConfig & Record<string, unknown>;
    assert.deepEqual(
      config.input.map((i) => [i.name, i.dims]),
      [
        ['INPUT', [1]],
        ['START', [1]],
      ],
    );
    assert.deepEqual(
      config.instance_group.map((g) => [g.name, g.kind, g.count, g.gpus]),
      [
        ['sequence_0', 'KIND_GPU', 2, [0, 1]],
        ['cpu_pool', 'KIND_AUTO', 1, []],
      ],
    );
    assert.equal(config.dynamic_batching, undefined);
    const sequence = config.sequence_batching as Record<string, unknown>;
    assert.equal(sequence.max_sequence_idle_microseconds, 5000000);
    assert.deepEqual((sequence.oldest as Record<string, unknown>).preferred_batch_size, [2, 4]);
    assert.deepEqual(sequence.control_input, [
      { name: 'START', control: [{ kind: 'CONTROL_SEQUENCE_START', int32_false_true: [], fp32_false_true: [0, 1], bool_false_true: [], data_type: 'TYPE_INVALID' }] },
    ]);
    assert.deepEqual(config.optimization?.graph, { level: 1 });
    assert.deepEqual(config.parameters, { intra_op_thread_count: { string_value: '2' }, enable_mem_arena: { string_value: '1' } });
    assert.deepEqual(config.metric_tags, { team: 'search' });
    assert.deepEqual(config.model_transaction_policy, { decoupled: false });
    assert.deepEqual(config.version_policy, { specific: { versions: [3, 1] } });
  });

  it('keeps platforms no backend of ours serves, for the server to report', () => {
    const config = parseModelConfig(ENSEMBLE, 'pipeline') as ModelConfig & { ensemble_scheduling: { step: { input_map: Record<string, string> }[] } };
    assert.equal(config.platform, 'ensemble');
    assert.equal(config.backend, '');
    assert.deepEqual(
      config.ensemble_scheduling.step.map((s) => s.input_map),
      [{ RAW: 'IN' }, { X: 'mid' }],
    );
  });

  it('reads priority queue policies keyed by level', () => {
    const config = parseModelConfig(PRIORITIES, 'priorities');
    const batching = config.dynamic_batching as NonNullable<ModelConfig['dynamic_batching']> & { priority_queue_policy: Record<string, unknown> };
    assert.deepEqual(batching.default_queue_policy, { timeout_action: 'DELAY', default_timeout_microseconds: 100000, allow_timeout_override: true, max_queue_size: 0 });
    assert.deepEqual(batching.priority_queue_policy, {
      1: { timeout_action: 'REJECT', default_timeout_microseconds: 0, allow_timeout_override: false, max_queue_size: 8 },
      3: { timeout_action: 'REJECT', default_timeout_microseconds: 5, allow_timeout_override: false, max_queue_size: 0 },
    });
    assert.deepEqual(config.version_policy, { all: {} });
  });

  it('reports text-format errors with the model, the file and the place', () => {
    assert.equal(
      parseRefusal('name: "m"\nmax_batch_size: 4\n  max_batchsize: 8', 'm'),
      `model 'm': config.pbtxt: line 3:3: unknown field "max_batchsize" in inference.ModelConfig (did you mean "max_batch_size"?)`,
    );
    assert.match(parseRefusal('max_batch_size: "eight"'), /^model 'm': config.pbtxt: line 1:17: expected a number for field "max_batch_size"/);
    assert.match(parseRefusal('input { name: "x" data_type: FP32 }'), /unknown value "FP32" for enum inference.DataType in field "data_type" \(did you mean "TYPE_FP32"\?\)/);
    assert.match(
      refusal(() => parseModelConfig('max_batch_size 4', 'm', { fileName: 'configs/fast.pbtxt' })),
      /^model 'm': configs\/fast.pbtxt: line 1:16: expected ":" after field "max_batch_size"/,
    );
  });
});

describe('normalizeModelConfig: defaults', () => {
  it('fills every default for an empty config (no config.pbtxt)', () => {
    const config = parseModelConfig('', 'plain');
    assert.deepEqual(config, {
      name: 'plain',
      platform: 'onnxruntime_onnx',
      backend: 'onnxruntime',
      runtime: '',
      version_policy: { latest: { num_versions: 1 } },
      max_batch_size: 0,
      input: [],
      output: [],
      batch_input: [],
      batch_output: [],
      instance_group: [{ name: 'plain', kind: 'KIND_CPU', count: 1, gpus: [], secondary_devices: [], profile: [], passive: false, host_policy: '' }],
      default_model_filename: '',
      cc_model_filenames: {},
      metric_tags: {},
      parameters: {},
      model_warmup: [],
    });
    assert.deepEqual([...(authoredFields(config) ?? ['missing'])], []);
  });

  it('reads num_versions 0 and an empty policy as latest 1', () => {
    assert.deepEqual(parseModelConfig('version_policy { latest { } }', 'm').version_policy, { latest: { num_versions: 1 } });
    assert.deepEqual(parseModelConfig('version_policy { }', 'm').version_policy, { latest: { num_versions: 1 } });
  });

  it('pairs backend and platform', () => {
    const pair = (text: string): [string, string] => {
      const config = parseModelConfig(text, 'm');
      return [config.backend, config.platform];
    };
    assert.deepEqual(pair('backend: "onnxruntime"'), ['onnxruntime', 'onnxruntime_onnx']);
    assert.deepEqual(pair('platform: "onnxruntime_onnx"'), ['onnxruntime', 'onnxruntime_onnx']);
    assert.deepEqual(pair('platform: "tensorflow_savedmodel"'), ['tensorflow', 'tensorflow_savedmodel']);
    assert.deepEqual(pair('backend: "python"'), ['python', '']);
    assert.deepEqual(pair('backend: "pytorch" platform: "pytorch_libtorch"'), ['pytorch', 'pytorch_libtorch']);
    assert.equal(
      parseRefusal('backend: "onnxruntime" platform: "tensorflow_savedmodel"'),
      `model 'm': platform 'tensorflow_savedmodel' is served by backend 'tensorflow', but the config says backend 'onnxruntime'`,
    );
  });

  it('names instance groups and turns count 0 into 1, keeping the kind', () => {
    const config = parseModelConfig('instance_group [ { kind: KIND_GPU }, { count: 3 }, { name: "n" count: 0 kind: KIND_CPU } ]', 'm');
    assert.deepEqual(
      config.instance_group.map((g) => [g.name, g.kind, g.count]),
      [
        ['m_0', 'KIND_GPU', 1],
        ['m_1', 'KIND_AUTO', 3],
        ['n', 'KIND_CPU', 1],
      ],
    );
  });

  it('fills dynamic batching and tensor defaults', () => {
    const config = parseModelConfig(`max_batch_size: 4 dynamic_batching { } input { name: "x" data_type: TYPE_INT64 dims: [1] reshape { } }`, 'm');
    assert.deepEqual(config.dynamic_batching, {
      preferred_batch_size: [],
      max_queue_delay_microseconds: 0,
      preserve_ordering: false,
      priority_levels: 0,
      default_priority_level: 0,
      default_queue_policy: { timeout_action: 'REJECT', default_timeout_microseconds: 0, allow_timeout_override: false, max_queue_size: 0 },
      priority_queue_policy: {},
    });
    assert.equal(config.input[0]?.optional, false);
    assert.equal(config.input[0]?.format, 'FORMAT_NONE');
    assert.deepEqual(config.input[0]?.reshape, { shape: [] });
  });

  it('accepts a config name equal to the directory and remembers the fields written', () => {
    const config = parseModelConfig('name: "m" max_batch_size: 0', 'm');
    assert.equal(config.name, 'm');
    assert.deepEqual([...(authoredFields(config) ?? [])].sort(), ['max_batch_size', 'name']);
  });
});

describe('modelConfigFromJson', () => {
  for (const [dir, text] of Object.entries(REALISTIC)) {
    it(`round-trips the ${dir} config through JSON and through text`, () => {
      const parsed = parseModelConfig(text, dir);
      assert.deepEqual(modelConfigFromJson(JSON.parse(JSON.stringify(parsed)), dir), parsed);
      const written = formatTextFormat(parsed as unknown as Record<string, unknown>, modelConfigType());
      assert.deepEqual(parseModelConfig(written, dir), parsed);
    });
  }

  it('accepts the protobuf JSON mapping: camelCase, integer strings, enum numbers, null', () => {
    const config = modelConfigFromJson(
      { maxBatchSize: '4', input: [{ name: 'x', dataType: 11, dims: ['3', -1] }], output: [{ name: 'y', data_type: 'TYPE_FP32', dims: [1] }], response_cache: null },
      'm',
    );
    assert.equal(config.max_batch_size, 4);
    assert.deepEqual(config.input[0]?.dims, [3, -1]);
    assert.equal(config.input[0]?.data_type, 'TYPE_FP32');
    assert.equal(config.response_cache, undefined);
  });

  it('refuses unknown fields and wrong kinds of values, naming the path', () => {
    assert.equal(
      refusal(() => modelConfigFromJson({ max_batchsize: 1 }, 'm')),
      `model 'm': unknown field "max_batchsize" in inference.ModelConfig (did you mean "max_batch_size"?)`,
    );
    assert.equal(
      refusal(() => modelConfigFromJson({ input: [{ name: 'x', dimz: [1] }] }, 'm')),
      `model 'm': input[0]: unknown field "dimz" in inference.ModelInput (did you mean "dims"?)`,
    );
    assert.equal(
      refusal(() => modelConfigFromJson({ max_batch_size: 'x' }, 'm')),
      `model 'm': max_batch_size: expected an integer (int32), got "x"`,
    );
    assert.equal(
      refusal(() => modelConfigFromJson({ max_batch_size: 1.5 }, 'm')),
      `model 'm': max_batch_size: expected an integer (int32), got 1.5`,
    );
    assert.equal(
      refusal(() => modelConfigFromJson({ input: [{ name: 'x', dims: [1, 'a'] }] }, 'm')),
      `model 'm': input[0].dims[1]: expected an integer (int64), got "a"`,
    );
    assert.match(
      refusal(() => modelConfigFromJson({ input: { name: 'x' } }, 'm')),
      /input: expected a list for repeated field "input"/,
    );
    assert.match(
      refusal(() => modelConfigFromJson({ output: [{ data_type: 'FP32' }] }, 'm')),
      /output\[0\]\.data_type: "FP32" is not a value of enum inference.DataType/,
    );
    assert.match(
      refusal(() => modelConfigFromJson({ response_cache: { enable: 'yes' } }, 'm')),
      /response_cache.enable: expected true or false, got "yes"/,
    );
    assert.match(
      refusal(() => modelConfigFromJson({ parameters: { a: 'x' } }, 'm')),
      /parameters\["a"\]: expected an object \(inference.ModelParameter\)/,
    );
    assert.match(
      refusal(() => modelConfigFromJson({ dynamic_batching: {}, sequence_batching: {} }, 'm')),
      /members of oneof "scheduling_choice"/,
    );
    assert.match(
      refusal(() => modelConfigFromJson({ max_batch_size: 3000000000 }, 'm')),
      /out of range for int32/,
    );
    assert.match(
      refusal(() => modelConfigFromJson([], 'm')),
      /^model 'm': expected an object \(inference.ModelConfig\), got a list/,
    );
  });
});

describe('validation errors', () => {
  it('name, batch size, tensor names and dims', () => {
    assert.equal(parseRefusal('name: "other"', 'm'), `model 'm': config name 'other' does not match the model directory name 'm'`);
    assert.match(parseRefusal('max_batch_size: -1'), /max_batch_size must be 0 \(no batching\) or positive, got -1/);
    assert.equal(parseRefusal('input { data_type: TYPE_FP32 dims: [1] }'), `model 'm': input 0 has no name`);
    assert.match(parseRefusal('input { name: "a" } input { name: "a" }'), /input name 'a' is used twice/);
    assert.match(parseRefusal('output { name: "a" } output { name: "b" } output { name: "b" }'), /output name 'b' is used twice/);
    assert.match(parseRefusal('input { name: "a" dims: [3, 0] }'), /input 'a': dims \[3,0\] — each dimension must be ≥ 1, or -1 for any size/);
    assert.match(parseRefusal('output { name: "a" dims: [-2] }'), /output 'a': dims \[-2\]/);
    assert.match(parseRefusal('input { name: "a" dims: [6] reshape { shape: [4, 2] } }'), /input 'a': reshape \[4,2\] has 8 elements, but dims \[6\] have 6/);
    parseModelConfig('input { name: "a" dims: [-1] reshape { shape: [4, 2] } }', 'm');
  });

  it('missing data_type and dims are left for completion, and refused by validateModelConfig', () => {
    const config = parseModelConfig('input { name: "a" } output { name: "b" data_type: TYPE_FP32 }', 'm');
    assert.equal(config.input[0]?.data_type, 'TYPE_INVALID');
    assert.equal(
      refusal(() => validateModelConfig(config)),
      `model 'm': input 'a': data_type is missing`,
    );
    assert.match(validateRefusal('input { name: "a" data_type: TYPE_FP32 }'), /input 'a': dims must have at least one dimension \(for a scalar use dims: \[ 1 \] with reshape: \{ shape: \[ \] \}\)/);
    assert.match(validateRefusal('input { name: "a" data_type: TYPE_FP32 format: FORMAT_NHWC dims: [4] }'), /format FORMAT_NHWC needs 3 dims/);
  });

  it('dynamic batching', () => {
    assert.match(parseRefusal(`max_batch_size: 0 dynamic_batching { }`), /dynamic_batching needs max_batch_size > 0/);
    parseModelConfig('dynamic_batching { preferred_batch_size: [ 4 ] }', 'm'); // max_batch_size unstated: completion decides
    assert.match(validateRefusal(`${TENSORS} dynamic_batching { }`), /dynamic_batching needs max_batch_size > 0/);
    assert.match(parseRefusal(`max_batch_size: 8 dynamic_batching { preferred_batch_size: [ 4, 16 ] }`), /preferred_batch_size 16 is larger than max_batch_size 8/);
    assert.match(parseRefusal(`max_batch_size: 8 dynamic_batching { preferred_batch_size: [ 0 ] }`), /preferred_batch_size 0 must be ≥ 1/);
    assert.match(parseRefusal(`max_batch_size: 8 dynamic_batching { priority_levels: 2 }`), /default_priority_level must be between 1 and priority_levels \(2\), got 0/);
    assert.match(parseRefusal(`max_batch_size: 8 dynamic_batching { priority_levels: 2 default_priority_level: 3 }`), /got 3/);
    assert.match(
      parseRefusal(`max_batch_size: 8 dynamic_batching { priority_levels: 2 default_priority_level: 1 priority_queue_policy { key: 5 value { } } }`),
      /priority_queue_policy for level 5, but priority_levels is 2/,
    );
  });

  it('version policy and instance groups', () => {
    assert.match(parseRefusal('version_policy { specific { versions: [ 1, 0 ] } }'), /version_policy specific: version 0 must be ≥ 1/);
    assert.match(parseRefusal('version_policy { specific { } }'), /version_policy specific lists no versions/);
    assert.match(parseRefusal('instance_group { count: -2 }'), /instance_group 'm_0': count must be ≥ 1, got -2/);
    assert.match(parseRefusal('instance_group { kind: KIND_CPU gpus: [0] }'), /instance_group 'm_0': gpus cannot be listed for KIND_CPU/);
  });

  it('paths must stay inside the model directory', () => {
    assert.match(parseRefusal('output { name: "y" label_filename: "../../etc/passwd" }'), /output 'y': label_filename '..\/..\/etc\/passwd' must be a relative path/);
    assert.match(parseRefusal('output { name: "y" label_filename: "/etc/passwd" }'), /label_filename/);
    assert.match(parseRefusal('default_model_filename: "../model.onnx"'), /default_model_filename '..\/model.onnx'/);
    parseModelConfig('output { name: "y" label_filename: "labels/y.txt" } default_model_filename: "net.onnx"', 'm');
  });

  it('model warmup', () => {
    const warm = (body: string, extra = 'max_batch_size: 4'): string => `${extra} ${TENSORS} model_warmup { name: "w" ${body} }`;
    parseModelConfig(warm('batch_size: 2 inputs { key: "x" value { data_type: TYPE_FP32 dims: [4] random_data: true } }'), 'm');
    assert.match(parseRefusal(warm('inputs { key: "x" value { data_type: TYPE_FP32 dims: [4] zero_data: true } }')), /model_warmup 'w': batch_size must be ≥ 1/);
    assert.match(parseRefusal(warm('batch_size: 8')), /batch_size 8 is larger than max_batch_size 4/);
    assert.match(parseRefusal(warm('batch_size: 2', 'max_batch_size: 0')), /batch_size must be 1 when max_batch_size is 0/);
    assert.match(parseRefusal(warm('batch_size: 1 inputs { key: "x" value { data_type: TYPE_FP32 dims: [4] } }')), /input 'x' must set zero_data, random_data or input_data_file/);
    assert.match(parseRefusal(warm('batch_size: 1 inputs { key: "x" value { dims: [4] zero_data: true } }')), /input 'x' has no data_type/);
    assert.match(parseRefusal(warm('batch_size: 1 inputs { key: "x" value { data_type: TYPE_FP32 dims: [-1] zero_data: true } }')), /dims \[-1\] must be fixed sizes/);
    assert.match(parseRefusal(warm('batch_size: 1 inputs { key: "x" value { data_type: TYPE_FP32 dims: [4] input_data_file: "../secret" } }')), /input_data_file '..\/secret' must name a file inside/);
    assert.match(validateRefusal(warm('batch_size: 1 inputs { key: "z" value { data_type: TYPE_FP32 dims: [4] zero_data: true } }')), /'z' is not an input of the model config/);
    assert.match(validateRefusal(warm('batch_size: 1')), /model_warmup 'w': gives no data for input 'x'/);
  });
});

describe('parameterNumber', () => {
  const config = parseModelConfig('parameters [ { key: "threads" value { string_value: " 4 " } }, { key: "bad" value { string_value: "four" } }, { key: "empty" value { } } ]', 'm');
  it('reads numbers and absence', () => {
    assert.equal(parameterNumber(config, 'threads'), 4);
    assert.equal(parameterNumber(config, 'missing'), undefined);
    assert.equal(parameterNumber(config, 'toString'), undefined);
  });
  it('refuses values that are not numbers', () => {
    assert.equal(
      refusal(() => parameterNumber(config, 'bad')),
      `model 'm': parameter 'bad' must be a number, got "four"`,
    );
    assert.match(
      refusal(() => parameterNumber(config, 'empty')),
      /parameter 'empty' must be a number, got ""/,
    );
  });
});
