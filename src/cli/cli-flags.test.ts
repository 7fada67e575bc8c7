import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Command, InvalidArgumentError } from 'commander';
import { parseServerAddress, serverUrl } from './server-url.js';
import { benchTarget } from './bench.js';
import { configureHelp, helpWidth } from './help.js';
import { logFormatOption } from './log-flags.js';

describe('server addresses', () => {
  test('host:port with or without a scheme', () => {
    assert.deepEqual(parseServerAddress('localhost:8000'), { scheme: undefined, authority: 'localhost:8000', path: '' });
    assert.deepEqual(parseServerAddress('https://example.com:8443/prefix/'), { scheme: 'https', authority: 'example.com:8443', path: '/prefix' });
    assert.deepEqual(parseServerAddress('GRPC://[::1]:8001'), { scheme: 'grpc', authority: '[::1]:8001', path: '' });
    assert.equal(serverUrl(parseServerAddress('127.0.0.1:8000'), 'http'), 'http://127.0.0.1:8000');
    assert.equal(serverUrl(parseServerAddress('grpcs://h:1'), 'http'), 'grpcs://h:1');
  });

  test('refused: other schemes, bad ports, paths on gRPC, garbage', () => {
    for (const bad of ['ftp://h:1', 'h:70000', 'grpc://h:1/x', 'a b:1', '', 'http://', 'x'.repeat(500) + '://h']) {
      assert.throws(
        () => parseServerAddress(bad),
        (error: unknown) => error instanceof InvalidArgumentError && error.message.length < 300,
        bad.slice(0, 20),
      );
    }
  });
});

describe('bench target', () => {
  test('a grpc:// URL picks gRPC; --protocol against it is an error', () => {
    assert.deepEqual(benchTarget('grpc://127.0.0.1:9001', 'rest-binary', false, []), { protocol: 'grpc', address: '127.0.0.1:9001', inputs: [] });
    assert.deepEqual(benchTarget('grpcs://h:9001', 'rest-binary', false, []), { protocol: 'grpc', address: 'grpcs://h:9001', inputs: [] });
    assert.throws(() => benchTarget('grpc://h:1', 'rest-json', true, []), /gRPC address but --protocol is rest-json/);
  });

  test('host:port is REST over http unless the protocol is grpc; defaults per protocol', () => {
    assert.equal(benchTarget('h:9000', 'rest-json', false, []).address, 'http://h:9000');
    assert.equal(benchTarget('h:9001', 'grpc', true, []).address, 'h:9001');
    assert.equal(benchTarget(undefined, 'rest-binary', false, []).address, 'http://127.0.0.1:8000');
    assert.equal(benchTarget(undefined, 'grpc', true, []).address, '127.0.0.1:8001');
  });

  test('the old -i <protocol> still selects the protocol; -i name=source is input data', () => {
    assert.deepEqual(benchTarget(undefined, 'rest-binary', false, ['grpc', 'x=random']), { protocol: 'grpc', address: '127.0.0.1:8001', inputs: ['x=random'] });
  });
});

describe('help', () => {
  test("width: the terminal's; off a terminal $COLUMNS, else 100", () => {
    assert.equal(helpWidth({ isTTY: true, columns: 132 }, {}), 132);
    assert.equal(helpWidth({ isTTY: false }, {}), 100);
    assert.equal(helpWidth({ isTTY: false }, { COLUMNS: '80' }), 80);
    assert.equal(helpWidth({ isTTY: false }, { COLUMNS: 'wide' }), 100);
  });

  test('long flags put their description below, under the column of descriptions; every line fits', () => {
    const program = new Command('tool');
    const sub = program.command('run').option('--a-flag-whose-name-is-much-longer-than-the-column <value>', 'word '.repeat(60)).option('--short', 'short description');
    configureHelp(program);
    sub.configureOutput({ getOutHelpWidth: () => 90 });
    const help = sub.helpInformation();
    for (const line of help.split('\n')) assert.ok(line.length <= 90, `${line.length}: ${line}`);
    assert.match(help, /\n {2}--a-flag-whose-name-is-much-longer-than-the-column <value>\n {38}word word/);
  });

  test('--log-format takes text or json', () => {
    const command = new Command('x')
      .exitOverride()
      .configureOutput({ writeErr: () => {} })
      .addOption(logFormatOption());
    assert.equal(command.parse(['--log-format', 'text'], { from: 'user' }).opts()['logFormat'], 'text');
    assert.throws(
      () =>
        new Command('x')
          .exitOverride()
          .configureOutput({ writeErr: () => {} })
          .addOption(logFormatOption())
          .parse(['--log-format', 'yaml'], { from: 'user' }),
      /yaml/,
    );
  });
});
