/**
 * Tokens of the protocol-buffer text format, for `text-format.ts`. Knows the lexical rules only
 * (comments, identifiers, numbers, quoted strings with C escapes, punctuation) and turns an offset
 * into the `line L:C:` prefix every parse error carries.
 */
import { invalidArgument, type CranberriesError } from '../core/index.js';

export interface Token {
  readonly kind: 'ident' | 'number' | 'string' | 'symbol' | 'eof';
  /** Source text (for strings: the literal with its quotes). */
  readonly text: string;
  /** Offset of the first character. */
  readonly start: number;
  /** Decoded content of a string literal. */
  readonly bytes?: Uint8Array;
}

const IDENT = /[A-Za-z_][A-Za-z0-9_]*/y;
const NUMBER = /0[xX][0-9a-fA-F]+|(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?[fF]?/y;
const SYMBOLS = '{}<>[]:,;-';
const SIMPLE_ESCAPES: Readonly<Record<string, number>> = {
  n: 0x0a,
  t: 0x09,
  r: 0x0d,
  a: 0x07,
  b: 0x08,
  f: 0x0c,
  v: 0x0b,
  '\\': 0x5c,
  "'": 0x27,
  '"': 0x22,
  '?': 0x3f,
};
const encoder = new TextEncoder();

export class TextLexer {
  private offset = 0;
  private lookahead: Token | undefined;

  constructor(private readonly text: string) {
    // Editors on Windows may start the file with a byte-order mark.
    if (text.charCodeAt(0) === 0xfeff) this.offset = 1;
  }

  peek(): Token {
    return (this.lookahead ??= this.scan());
  }

  next(): Token {
    const token = this.peek();
    this.lookahead = undefined;
    return token;
  }

  /** Consumes the symbol if it comes next. */
  skipSymbol(symbol: string): boolean {
    const token = this.peek();
    if (token.kind !== 'symbol' || token.text !== symbol) return false;
    this.lookahead = undefined;
    return true;
  }

  /** An INVALID_ARGUMENT error located at `offset` (`line 7:3: ...`, both 1-based). */
  error(offset: number, message: string): CranberriesError {
    let line = 1;
    let lineStart = 0;
    for (let i = 0; i < offset && i < this.text.length; i++) {
      if (this.text.charCodeAt(i) === 0x0a) {
        line++;
        lineStart = i + 1;
      }
    }
    return invalidArgument(`line ${line}:${offset - lineStart + 1}: ${message}`);
  }

  private scan(): Token {
    this.skipSpaceAndComments();
    const start = this.offset;
    if (start >= this.text.length) return { kind: 'eof', text: '', start };
    const char = this.text[start] ?? '';
    if (char === '"' || char === "'") return this.scanString(start, char);
    IDENT.lastIndex = start;
    const ident = IDENT.exec(this.text);
    if (ident) {
      this.offset = IDENT.lastIndex;
      return { kind: 'ident', text: ident[0], start };
    }
    NUMBER.lastIndex = start;
    const number = NUMBER.exec(this.text);
    if (number) {
      this.offset = NUMBER.lastIndex;
      if (/[A-Za-z0-9_.]/.test(this.text[this.offset] ?? '')) {
        const rest = /[A-Za-z0-9_.]*/y;
        rest.lastIndex = this.offset;
        throw this.error(start, `"${number[0]}${rest.exec(this.text)?.[0] ?? ''}" is not a valid number`);
      }
      return { kind: 'number', text: number[0], start };
    }
    if (SYMBOLS.includes(char)) {
      this.offset++;
      return { kind: 'symbol', text: char, start };
    }
    throw this.error(start, `unexpected character "${char}"`);
  }

  private skipSpaceAndComments(): void {
    const text = this.text;
    while (this.offset < text.length) {
      const char = text[this.offset];
      if (char === '#') {
        const end = text.indexOf('\n', this.offset);
        this.offset = end < 0 ? text.length : end + 1;
      } else if (char === ' ' || char === '\t' || char === '\n' || char === '\r' || char === '\f' || char === '\v') {
        this.offset++;
      } else {
        return;
      }
    }
  }

  private scanString(start: number, quote: string): Token {
    const text = this.text;
    const bytes: number[] = [];
    let i = start + 1;
    let plainStart = i;
    const flushPlain = (end: number): void => {
      if (end > plainStart) for (const byte of encoder.encode(text.slice(plainStart, end))) bytes.push(byte);
    };
    for (;;) {
      if (i >= text.length || text[i] === '\n') throw this.error(start, 'unterminated string (a string must close on the line it opens)');
      const char = text[i];
      if (char === quote) {
        flushPlain(i);
        this.offset = i + 1;
        return { kind: 'string', text: text.slice(start, i + 1), start, bytes: Uint8Array.from(bytes) };
      }
      if (char !== '\\') {
        i++;
        continue;
      }
      flushPlain(i);
      i = this.scanEscape(i, bytes);
      plainStart = i;
    }
  }

  /** Decodes the escape at `at` (a backslash) into `bytes`; returns the offset after it. */
  private scanEscape(at: number, bytes: number[]): number {
    const text = this.text;
    const kind = text[at + 1] ?? '';
    const simple = SIMPLE_ESCAPES[kind];
    if (simple !== undefined) {
      bytes.push(simple);
      return at + 2;
    }
    const take = (pattern: RegExp, from: number): string => {
      pattern.lastIndex = from;
      return pattern.exec(text)?.[0] ?? '';
    };
    if (/[0-7]/.test(kind)) {
      const digits = take(/[0-7]{1,3}/y, at + 1);
      const value = parseInt(digits, 8);
      if (value > 0xff) throw this.error(at, `octal escape "\\${digits}" is larger than one byte`);
      bytes.push(value);
      return at + 1 + digits.length;
    }
    if (kind === 'x' || kind === 'X') {
      const digits = take(/[0-9a-fA-F]{1,2}/y, at + 2);
      if (!digits) throw this.error(at, '"\\x" must be followed by hex digits');
      bytes.push(parseInt(digits, 16));
      return at + 2 + digits.length;
    }
    if (kind === 'u' || kind === 'U') {
      const length = kind === 'u' ? 4 : 8;
      const digits = take(kind === 'u' ? /[0-9a-fA-F]{4}/y : /[0-9a-fA-F]{8}/y, at + 2);
      const codePoint = parseInt(digits, 16);
      if (digits.length !== length || codePoint > 0x10ffff) throw this.error(at, `"\\${kind}" must be followed by ${length} hex digits of a Unicode code point`);
      for (const byte of encoder.encode(String.fromCodePoint(codePoint))) bytes.push(byte);
      return at + 2 + length;
    }
    throw this.error(at, kind === '' || kind === '\n' ? 'unterminated string' : `unknown escape "\\${kind}" in string`);
  }
}
