/**
 * JSON request bodies of the TF Serving REST API, which (unlike standard JSON) may hold the tokens
 * `NaN`, `Infinity` and `-Infinity` as numbers (TF Serving's REST API accepts and writes them).
 *
 * The native `JSON.parse` reads every standard body; only a body it refuses is read again by the
 * small parser below, which also knows those tokens. So the common case costs nothing extra and a
 * malformed body still gets one clear INVALID_ARGUMENT.
 */
import { invalidArgument } from '../../core/index.js';

/** Deeper nesting than this is refused (no request tensor has anywhere near as many dimensions). */
const MAX_DEPTH = 512;
const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;
const WHITESPACE = /[ \t\n\r]*/y;

export function parseTfsJson(text: string): unknown {
  if (text.trim() === '') throw invalidArgument('the request body is empty; a JSON object is expected');
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    if (!/NaN|Infinity/.test(text)) throw invalidArgument(`malformed JSON in the request body: ${(error as Error).message}`);
    return new LenientParser(text).parseDocument();
  }
}

class LenientParser {
  private position = 0;

  constructor(private readonly text: string) {}

  parseDocument(): unknown {
    const value = this.value(0);
    this.skipWhitespace();
    if (this.position !== this.text.length) this.fail('unexpected text after the JSON value');
    return value;
  }

  private value(depth: number): unknown {
    if (depth > MAX_DEPTH) this.fail(`nesting deeper than ${MAX_DEPTH} levels`);
    this.skipWhitespace();
    const char = this.text[this.position];
    switch (char) {
      case '{':
        return this.object(depth);
      case '[':
        return this.array(depth);
      case '"':
        return this.string();
      default:
        return this.literal();
    }
  }

  private object(depth: number): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    this.position++;
    this.skipWhitespace();
    if (this.text[this.position] === '}') {
      this.position++;
      return out;
    }
    for (;;) {
      this.skipWhitespace();
      if (this.text[this.position] !== '"') this.fail('expected a string key');
      const key = this.string();
      this.skipWhitespace();
      if (this.text[this.position] !== ':') this.fail("expected ':'");
      this.position++;
      // defineProperty: a "__proto__" key must become a plain property, as with JSON.parse.
      Object.defineProperty(out, key, { value: this.value(depth + 1), enumerable: true, writable: true, configurable: true });
      this.skipWhitespace();
      const next = this.text[this.position++];
      if (next === '}') return out;
      if (next !== ',') this.fail("expected ',' or '}'", this.position - 1);
    }
  }

  private array(depth: number): unknown[] {
    const out: unknown[] = [];
    this.position++;
    this.skipWhitespace();
    if (this.text[this.position] === ']') {
      this.position++;
      return out;
    }
    for (;;) {
      out.push(this.value(depth + 1));
      this.skipWhitespace();
      const next = this.text[this.position++];
      if (next === ']') return out;
      if (next !== ',') this.fail("expected ',' or ']'", this.position - 1);
    }
  }

  private string(): string {
    const start = this.position;
    let i = start + 1;
    while (i < this.text.length && this.text[i] !== '"') i += this.text[i] === '\\' ? 2 : 1;
    if (i >= this.text.length) this.fail('unterminated string', start);
    this.position = i + 1;
    try {
      return JSON.parse(this.text.slice(start, i + 1)) as string;
    } catch {
      return this.fail('invalid string', start);
    }
  }

  private literal(): unknown {
    for (const [token, value] of LITERALS) {
      if (this.text.startsWith(token, this.position)) {
        this.position += token.length;
        return value;
      }
    }
    NUMBER.lastIndex = this.position;
    const match = NUMBER.exec(this.text);
    if (!match) return this.fail('unexpected character');
    this.position += match[0].length;
    return Number(match[0]);
  }

  private skipWhitespace(): void {
    WHITESPACE.lastIndex = this.position;
    WHITESPACE.exec(this.text);
    this.position = WHITESPACE.lastIndex;
  }

  private fail(message: string, at = this.position): never {
    throw invalidArgument(`malformed JSON in the request body at position ${at}: ${message}`);
  }
}

const LITERALS: readonly (readonly [string, unknown])[] = [
  ['true', true],
  ['false', false],
  ['null', null],
  ['NaN', NaN],
  ['Infinity', Infinity],
  ['-Infinity', -Infinity],
];
