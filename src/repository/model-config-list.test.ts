import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { CranberriesError } from '../core/errors.js';
import { modelConfigListFromMessage, parseModelConfigList } from './model-config-list.js';

const code = (expected: string, pattern: RegExp) => (e: unknown) => e instanceof CranberriesError && e.code === expected && pattern.test(e.message);

describe('parseModelConfigList', () => {
  test('reads names, base paths (relative to the file), version policies and labels', () => {
    const entries = parseModelConfigList(
      `# two models
      model_config_list {
        config {
          name: "mnist"  base_path: "/models/mnist"  model_platform: "tensorflow"
          model_version_policy { specific { versions: 1 versions: 2 } }
          version_labels { key: "stable" value: 1 }
          version_labels { key: "canary" value: 2 }
        }
        config { name: "other" base_path: "other" model_version_policy { latest { num_versions: 0 } } }
        config { name: "all" base_path: "../all" model_version_policy { all {} } }
      }`,
      'models.config',
      '/etc/cranberries',
    );
    assert.deepEqual(entries, [
      { name: 'mnist', basePath: '/models/mnist', versionPolicy: { specific: { versions: [1, 2] } }, versionLabels: { stable: 1, canary: 2 } },
      { name: 'other', basePath: '/etc/cranberries/other', versionPolicy: { latest: { num_versions: 1 } }, versionLabels: {} },
      { name: 'all', basePath: '/etc/all', versionPolicy: { all: {} }, versionLabels: {} },
    ]);
    assert.deepEqual(parseModelConfigList('model_config_list {}', 'f', '/'), []);
  });

  test('errors name the file and the entry', () => {
    assert.throws(() => parseModelConfigList('model_config_list { config { name: "a" base_path: "/a" bogus: 1 } }', 'models.config', '/'), code('INVALID_ARGUMENT', /^models\.config: .*bogus/));
    assert.throws(() => parseModelConfigList('model_config_list { config { base_path: "/a" } }', 'f', '/'), code('INVALID_ARGUMENT', /config\[0\]: name is required/));
    assert.throws(() => parseModelConfigList('model_config_list { config { name: "a" } }', 'f', '/'), code('INVALID_ARGUMENT', /model 'a'\): base_path is required/));
    assert.throws(
      () => parseModelConfigList('model_config_list { config { name: "a" base_path: "/a" } config { name: "a" base_path: "/b" } }', 'f', '/'),
      code('INVALID_ARGUMENT', /'a' is listed more than once/),
    );
    assert.throws(
      () => parseModelConfigList('model_config_list { config { name: "a" base_path: "/a" version_labels { key: "x" value: 0 } } }', 'f', '/'),
      code('INVALID_ARGUMENT', /positive version/),
    );
    assert.throws(() => parseModelConfigList('', 'f', '/'), code('INVALID_ARGUMENT', /model_config_list is missing/));
  });

  test('the gRPC message shape (every field, null messages, int64 strings) reads the same', () => {
    const entries = modelConfigListFromMessage(
      {
        config: 'model_config_list',
        custom_model_config: null,
        model_config_list: {
          config: [
            {
              name: 'm',
              base_path: '/m',
              model_platform: '',
              model_type: 'MODEL_TYPE_UNSPECIFIED',
              logging_config: null,
              model_version_policy: { policy_choice: 'specific', latest: null, all: null, specific: { versions: ['3'] } },
              version_labels: { stable: '3' },
            },
            { name: 'n', base_path: '/n', model_version_policy: null, version_labels: {} },
          ],
        },
      },
      'ReloadConfigRequest.config',
      '/',
    );
    assert.deepEqual(entries, [
      { name: 'm', basePath: '/m', versionPolicy: { specific: { versions: [3] } }, versionLabels: { stable: 3 } },
      { name: 'n', basePath: '/n', versionPolicy: undefined, versionLabels: {} },
    ]);
    assert.throws(() => modelConfigListFromMessage({ custom_model_config: { type_url: 'x' } }, 'c', '/'), code('UNIMPLEMENTED', /custom_model_config/));
  });
});
