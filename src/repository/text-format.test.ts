import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import protobuf from 'protobufjs';
import { CranberriesError } from '../core/errors.js';
import { formatTextFormat, parseTextFormat } from './text-format.js';

// A schema of our own that uses every kind of field, so the parser is tested as a generic one.
const SCHEMA = `
syntax = "proto3";
package test;
enum Color { RED = 0; GREEN = 1; BLUE = 2; NEGATIVE = -1; }
message Inner { string label = 1; repeated int32 values = 2; Inner child = 3; }
message All {
  int32 i32 = 1; int64 i64 = 2; uint32 u32 = 3; uint64 u64 = 4; sint32 s32 = 5;
  float f = 6; double d = 7; bool b = 8; string s = 9; bytes raw = 10; Color color = 11;
  repeated int64 dims = 12; repeated string names = 13; repeated Color colors = 14;
  Inner inner = 15; repeated Inner items = 16;
  map<string, string> labels = 17; map<uint64, Inner> by_id = 18; map<string, Color> palette = 19;
  oneof choice { string first = 20; Inner second = 21; }
  repeated double ds = 22; repeated bool flags = 23;
}
`;
const root = protobuf.parse(SCHEMA, { keepCase: true }).root;
root.resolveAll();
const All = root.lookupType('test.All');

const parse = (text: string): Record<string, unknown> => parseTextFormat(text, All);

function parseError(text: string): string {
  try {
    parse(text);
  } catch (error) {
    assert.ok(error instanceof CranberriesError, `expected a CranberriesError, got ${String(error)}`);
    assert.equal(error.code, 'INVALID_ARGUMENT');
    return error.message;
  }
  assert.fail(`expected ${JSON.stringify(text)} to be refused`);
}

describe('parseTextFormat: values', () => {
  it('returns only the fields present, by proto name', () => {
    assert.deepEqual(parse(''), {});
    assert.deepEqual(parse('# only a comment\n'), {});
    assert.deepEqual(parse('i32: 5'), { i32: 5 });
    assert.deepEqual(parse('\uFEFFi32: 5\r\ns: "x"\r\n'), { i32: 5, s: 'x' }, 'byte-order mark and CRLF');
  });

  it('reads integers: decimal, negative, hex, octal, with range checks', () => {
    assert.deepEqual(parse('i32: -12 i64: 0x1F u32: 017 u64: 9007199254740991 s32: - 3'), { i32: -12, i64: 31, u32: 15, u64: 9007199254740991, s32: -3 });
    assert.deepEqual(parse('i32: 2147483647'), { i32: 2147483647 });
    assert.match(parseError('i32: 2147483648'), /out of range for field "i32"/);
    assert.match(parseError('u32: -1'), /out of range for field "u32"/);
    assert.match(parseError('i64: 9007199254740993'), /out of range for field "i64"/);
    assert.match(parseError('i32: 1.5'), /line 1:6: expected an integer for field "i32"/);
    assert.match(parseError('i32: "7"'), /expected a number for field "i32", got a string/);
    assert.match(parseError('i32: abc'), /expected a number for field "i32", got "abc"/);
  });

  it('reads floats: exponents, trailing f, inf and nan, integers', () => {
    const value = parse('f: 1.5f d: 1e-3 ds: [ inf, -inf, -Infinity, 2, .5, 3E2, 0x10, 1f ]');
    assert.equal(value.f, 1.5);
    assert.equal(value.d, 0.001);
    assert.deepEqual(value.ds, [Infinity, -Infinity, -Infinity, 2, 0.5, 300, 16, 1]);
    assert.ok(Number.isNaN(parse('d: nan').d));
    assert.ok(Number.isNaN(parse('d: -NaN').d));
    assert.match(parseError('d: fast'), /expected a number for field "d"/);
    assert.match(parseError('d: 1.2.3'), /"1.2.3" is not a valid number/);
    assert.match(parseError('d: 12abc'), /"12abc" is not a valid number/);
  });

  it('reads bools in every spelling', () => {
    assert.deepEqual(parse('flags: [true, True, t, 1, false, False, f, 0]').flags, [true, true, true, true, false, false, false, false]);
    assert.match(parseError('b: yes'), /expected true or false for field "b", got "yes"/);
    assert.match(parseError('b: 2'), /expected true or false/);
  });

  it('reads strings: both quotes, C escapes, UTF-8, adjacent concatenation', () => {
    assert.equal(parse(`s: 'it''s'`).s, 'its');
    assert.equal(parse(`s: "a\\"b" 'c\\'d' "e"`).s, 'a"bc\'de');
    assert.equal(parse(String.raw`s: "\n\t\r\\\?\a\b\f\v"`).s, '\n\t\r\\?\x07\b\f\v');
    assert.equal(parse(String.raw`s: "\101\x42\u00e9\U0001F600"`).s, 'ABé😀');
    assert.equal(parse('s: "héllo ✓"').s, 'héllo ✓');
    assert.equal(parse(String.raw`s: "\303\251"`).s, 'é', 'octal escapes are UTF-8 bytes');
    assert.equal(parse('s: ""').s, '');
    assert.match(parseError(String.raw`s: "\377"`), /line 1:4: field "s" is not valid UTF-8/);
    assert.match(parseError('s: "abc'), /line 1:4: unterminated string/);
    assert.match(parseError('i32: 1\ns: "ab\ncd"'), /line 2:4: unterminated string/);
    assert.match(parseError(String.raw`s: "\q"`), /unknown escape "\\q"/);
    assert.match(parseError(String.raw`s: "\u12"`), /4 hex digits/);
  });

  it('reads bytes as base64 of the raw bytes', () => {
    assert.equal(parse(String.raw`raw: "\000\377A"`).raw, Buffer.from([0, 255, 65]).toString('base64'));
  });

  it('reads enums by name or number', () => {
    assert.deepEqual(parse('color: BLUE colors: [RED, 1, -1]'), { color: 'BLUE', colors: ['RED', 'GREEN', 'NEGATIVE'] });
    assert.match(parseError('color: PURPLE'), /unknown value "PURPLE" for enum test.Color in field "color"/);
    assert.match(parseError('color: BLUEE'), /did you mean "BLUE"/);
    assert.match(parseError('color: 7'), /7 is not a value of enum test.Color/);
    assert.match(parseError('color: "RED"'), /expected a value of enum test.Color/);
  });
});

describe('parseTextFormat: structure', () => {
  it('accepts every message syntax: {}, : {}, <>', () => {
    const expected = { inner: { label: 'x', child: { label: 'y' } } };
    assert.deepEqual(parse('inner { label: "x" child { label: "y" } }'), expected);
    assert.deepEqual(parse('inner: { label: "x" child: < label: "y" > }'), expected);
    assert.deepEqual(parse('inner < label: "x", child { label: "y"; } >'), expected);
    assert.deepEqual(parse('inner {}'), { inner: {} });
  });

  it('collects repeated fields written several times and as lists, in order', () => {
    assert.deepEqual(parse('dims: 1 dims: [2, 3] dims: 4').dims, [1, 2, 3, 4]);
    assert.deepEqual(parse('dims: []').dims, []);
    assert.deepEqual(parse('names: ["a", \'b\'] names: "c"').names, ['a', 'b', 'c']);
    assert.deepEqual(parse('items [ { label: "a" }, { label: "b" } ] items { label: "c" } items: [ < label: "d" > ]').items, [{ label: 'a' }, { label: 'b' }, { label: 'c' }, { label: 'd' }]);
    assert.deepEqual(parse('items: []').items, []);
  });

  it('reads maps from entries, with defaults for a missing key or value, last entry winning', () => {
    const value = parse(`
      labels { key: "a" value: "1" }
      labels: { key: "b", value: "2" }
      labels [ { key: "a" value: "3" } ]
      by_id { key: 7 value { label: "seven" } }
      by_id { value { label: "zero" } }
      palette { key: "sky" value: BLUE }
      palette { key: "none" }
    `);
    assert.deepEqual(value.labels, { a: '3', b: '2' });
    assert.deepEqual(value.by_id, { 7: { label: 'seven' }, 0: { label: 'zero' } });
    assert.deepEqual(value.palette, { sky: 'BLUE', none: 'RED' });
    assert.match(parseError('labels { key: "a" val: "1" }'), /unknown field "val" in entry of map field "labels"/);
  });

  it('accepts optional , and ; separators and comments anywhere', () => {
    const text = `
      i32: 1, # trailing comment
      s: "x";  # another
      inner { # inside
        label: "y", values: [1, 2];
      },
    `;
    assert.deepEqual(parse(text), { i32: 1, s: 'x', inner: { label: 'y', values: [1, 2] } });
  });

  it('keeps oneof members and refuses two of the same oneof', () => {
    assert.deepEqual(parse('second { label: "b" }'), { second: { label: 'b' } });
    assert.match(parseError('first: "a"\nsecond { }'), /line 2:1: fields "first" and "second" are both set, but they are members of oneof "choice"/);
  });

  it('refuses a singular field given twice and a list for a singular field', () => {
    assert.match(parseError('i32: 1\n  i32: 2'), /line 2:3: field "i32" is set more than once/);
    assert.match(parseError('inner {} inner {}'), /field "inner" is set more than once/);
    assert.match(parseError('i32: [1]'), /field "i32" is not repeated/);
  });
});

describe('parseTextFormat: errors name the place and the problem', () => {
  it('unknown field, with the message type, position and a suggestion', () => {
    assert.equal(parseError('i32: 1\n\n  i3: 2'), 'line 3:3: unknown field "i3" in test.All (did you mean "i32"?)');
    assert.equal(parseError('inner { lable: "x" }'), 'line 1:9: unknown field "lable" in test.Inner (did you mean "label"?)');
    assert.equal(parseError('zzzzzzzz: 1'), 'line 1:1: unknown field "zzzzzzzz" in test.All');
  });

  it('missing colon, braces, commas', () => {
    assert.match(parseError('i32 5'), /line 1:5: expected ":" after field "i32"/);
    assert.match(parseError('inner: 5'), /expected "\{" to open message field "inner"/);
    assert.match(parseError('inner {\n label: "x"\n'), /line 1:7: "\{" is never closed/);
    assert.match(parseError('inner { label: "x" >'), /expected a field name in test.Inner, got ">"/);
    assert.match(parseError('dims: [1 2]'), /expected "," or "\]" in the list of field "dims", got "2"/);
    assert.match(parseError('dims: [1,'), /expected a number for field "dims", got the end of the text/);
    assert.match(parseError('}'), /line 1:1: expected a field name in test.All, got "\}"/);
    assert.match(parseError('i32: 1 @'), /line 1:8: unexpected character "@"/);
    assert.match(parseError('[ext.field]: 1'), /extension and Any fields/);
  });
});

describe('formatTextFormat', () => {
  it('writes text that parses back to the same object', () => {
    const text = `
      i32: -5 i64: 123456789012 u32: 7 u64: 9 s32: -2 f: 0.25 d: -inf b: true
      s: "quote \\" backslash \\\\ newline \\n tab \\t bell \\a é" raw: "\\000\\377"
      color: GREEN dims: [1, -1, 3] names: ["x", "y"] colors: [RED, BLUE]
      inner { label: "in" values: [1] child { label: "deep" } }
      items { label: "a" } items { }
      labels { key: "k\\"ey" value: "v" } by_id { key: 3 value { label: "c" } } palette { key: "p" value: BLUE }
      second { label: "s" } ds: [nan, 1.5e-7] flags: [true, false]
    `;
    const parsed = parse(text);
    const written = formatTextFormat(parsed, All);
    assert.ok(written.includes('  label: "in"\n'), 'nested fields are indented');
    const reparsed = parse(written);
    assert.ok(Number.isNaN((reparsed.ds as number[])[0]));
    (reparsed.ds as number[])[0] = 0;
    (parsed.ds as number[])[0] = 0;
    assert.deepEqual(reparsed, parsed);
  });

  it('leaves out empty lists and maps and writes empty messages as {}', () => {
    assert.equal(formatTextFormat({ dims: [], labels: {}, inner: {} }, All), 'inner {}\n');
    assert.equal(formatTextFormat({}, All), '');
  });

  it('refuses fields the type does not have', () => {
    assert.throws(() => formatTextFormat({ nope: 1 }, All), /unknown field "nope"/);
  });
});
