/**
 * The human-readable (`--log-format text`) rendering of one log record's message part:
 * `[component] message key=value ...`. pino-pretty adds the time and the coloured level around it.
 *
 * A field the message already says is not repeated: the JSON record keeps every field for machines
 * (`{"model":"digits","state":"UNAVAILABLE","msg":"model 'digits' is UNAVAILABLE: ..."}`), while a
 * reader of the text line sees each fact once. A field counts as said when its value appears in the
 * message as a whole token (an array: every element does).
 */

/** Fields pino-pretty shows itself, or that only identify the process. */
const HIDDEN = new Set(['level', 'time', 'msg', 'pid', 'hostname', 'name', 'component']);

/** Longest rendering of one field value; a log line stays a line. */
const MAX_VALUE_CHARS = 300;

export interface TextColors {
  gray(text: string): string;
  cyan(text: string): string;
}

const PLAIN: TextColors = { gray: (t) => t, cyan: (t) => t };

/** Whether `token` occurs in `text` with no letter, digit or `_` right before or after it. */
export function containsToken(text: string, token: string): boolean {
  if (token === '') return false;
  let from = 0;
  for (;;) {
    const at = text.indexOf(token, from);
    if (at < 0) return false;
    const before = at === 0 ? '' : text[at - 1];
    const after = text[at + token.length] ?? '';
    if (!isWordChar(before) && !isWordChar(after)) return true;
    from = at + 1;
  }
}

function isWordChar(ch: string | undefined): boolean {
  return ch !== undefined && ch !== '' && /[\p{L}\p{N}_]/u.test(ch);
}

function scalarText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  return undefined;
}

/** Whether the message already states the value. */
export function saidByMessage(message: string, value: unknown): boolean {
  const scalar = scalarText(value);
  if (scalar !== undefined) return containsToken(message, scalar);
  if (Array.isArray(value))
    return value.every((element) => {
      const text = scalarText(element);
      return text !== undefined && containsToken(message, text);
    });
  return false;
}

function bounded(text: string): string {
  return text.length > MAX_VALUE_CHARS ? `${text.slice(0, MAX_VALUE_CHARS)}…` : text;
}

/** `value` as it appears after `key=`: bare when it has no space or quote, else JSON-quoted. */
export function renderValue(value: unknown): string {
  if (typeof value === 'string') return bounded(/^[^\s"=]+$/u.test(value) ? value : JSON.stringify(value));
  const scalar = scalarText(value);
  if (scalar !== undefined) return scalar;
  if (Array.isArray(value) && value.every((v) => scalarText(v) !== undefined)) return bounded(`[${value.map((v) => scalarText(v)).join(',')}]`);
  return bounded(JSON.stringify(value) ?? String(value));
}

interface ErrorLike {
  message?: unknown;
  stack?: unknown;
}

/** The message part of a text line (without time and level). */
export function formatTextMessage(record: Readonly<Record<string, unknown>>, colors: TextColors = PLAIN): string {
  const message = typeof record['msg'] === 'string' ? record['msg'] : '';
  const component = typeof record['component'] === 'string' ? `${colors.cyan(`[${record['component']}]`)} ` : '';
  const fields: string[] = [];
  let stack = '';
  for (const [key, value] of Object.entries(record)) {
    if (HIDDEN.has(key) || value === undefined || value === null) continue;
    if ((key === 'err' || key === 'error') && typeof value === 'object' && !Array.isArray(value)) {
      const error = value as ErrorLike;
      const text = typeof error.message === 'string' ? error.message : JSON.stringify(value);
      if (!containsToken(message, text)) fields.push(`${colors.gray(`${key}=`)}${renderValue(text)}`);
      const frames =
        typeof error.stack === 'string'
          ? error.stack
              .split('\n')
              .slice(1)
              .map((l) => l.trim())
              .filter((l) => l !== '')
          : [];
      if (frames.length > 0) stack = `\n    ${frames.join('\n    ')}`;
      continue;
    }
    if (saidByMessage(message, value)) continue;
    // `ready=true` after "server is ready", `leader=false` after "no longer the leader": the message says it.
    if (typeof value === 'boolean' && containsToken(message, key)) continue;
    fields.push(`${colors.gray(`${key}=`)}${renderValue(value)}`);
  }
  return `${component}${message}${fields.length > 0 ? ` ${fields.join(' ')}` : ''}${stack}`;
}
