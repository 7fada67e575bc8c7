/**
 * `--help` of every command: wrapped at the terminal's width (100 columns when the output is not a
 * terminal, or $COLUMNS), with an "Examples:" section. Flags too long for the column of flags get
 * their description on the next line instead of pushing it past the right edge.
 */
import { Help, type Command } from 'commander';

/** Widest flag column; a longer flag puts its description on the line below. */
const MAX_TERM_WIDTH = 34;
const NOT_A_TERMINAL_WIDTH = 100;
/** Below this, wrapping makes help harder to read, not easier. */
const MIN_WIDTH = 40;

/** The terminal's width; else $COLUMNS; else 100. */
export function helpWidth(stream: { readonly isTTY?: boolean | undefined; readonly columns?: number | undefined } = process.stdout, env: NodeJS.ProcessEnv = process.env): number {
  if (stream.isTTY === true && stream.columns !== undefined && stream.columns > 0) return Math.max(MIN_WIDTH, stream.columns);
  const columns = Number(env['COLUMNS']);
  return Number.isInteger(columns) && columns >= MIN_WIDTH && columns <= 1000 ? columns : NOT_A_TERMINAL_WIDTH;
}

/** Help with the flag column capped: `--term  description` or, for a long term, the description below it. */
export class WrappedHelp extends Help {
  // Our own layout decides when a description goes below its flag; narrow boxes still wrap.
  override minWidthToWrap = 20;

  override padWidth(cmd: Command, helper: Help): number {
    return Math.min(super.padWidth(cmd, helper), MAX_TERM_WIDTH);
  }

  override formatItem(term: string, termWidth: number, description: string, helper: Help): string {
    const width = this.helpWidth ?? NOT_A_TERMINAL_WIDTH;
    // 2 spaces of item indent (commander's), the flag column, 2 spaces, the description.
    const roomBeside = width - (2 + termWidth + 2);
    if (description === '' || (helper.displayWidth(term) <= termWidth && roomBeside >= MIN_WIDTH)) return super.formatItem(term, termWidth, description, helper);
    // Below the flag: under the column of descriptions, or (a narrow terminal) indented a little.
    const indent = roomBeside >= MIN_WIDTH ? 2 + termWidth + 2 : 6;
    const wrapped = helper.boxWrap(description, Math.max(20, width - indent));
    return `  ${term}\n${wrapped
      .split('\n')
      .map((line) => ' '.repeat(indent) + line)
      .join('\n')}`;
  }
}

/** Examples of each command, by its path (`cluster up`). Each line fits in 100 columns. */
const EXAMPLES: Readonly<Record<string, readonly string[]>> = {
  serve: [
    '# the bundled models on the default ports (HTTP 8000, gRPC 8001, metrics 8002)',
    'cranberries serve',
    '# another repository, models loaded only through the repository API, debug logs',
    'cranberries serve --model-repository ./models --model-control-mode explicit --log-level debug',
    '# JSON log lines even on a terminal; free ports on loopback',
    'cranberries serve --log-format json --host 127.0.0.1 --http-port 0 --grpc-port 0',
  ],
  worker: ['cranberries worker --zookeeper 127.0.0.1:2181 --model-repository ./models --memory-limit 4GiB', 'cranberries worker --zookeeper zk1:2181,zk2:2181/cranberries --node-id w1 --label zone=a'],
  controller: ['cranberries controller --zookeeper 127.0.0.1:2181 --model-repository ./models --default-replicas 2'],
  gateway: ['cranberries gateway --zookeeper 127.0.0.1:2181 --http-port 8000 --grpc-port 8001'],
  admin: ['cranberries admin --zookeeper 127.0.0.1:2181 --http-port 8080 --gateway http://127.0.0.1:8000 --gateway-metrics http://127.0.0.1:8002/metrics'],
  infer: [
    "cranberries infer -m diabetes -i features='[0.03,0.05,0.06,0.02,-0.04,-0.03,-0.04,0,0.02,-0.02]'",
    'cranberries infer -u grpc://localhost:8001 -m digits -i image=@digit.npy -o probabilities:3',
    'cranberries infer -u localhost:8000 -m word_ids -x 1 -i words=\'["hello","world"]\' --json',
  ],
  bench: [
    'cranberries bench -m diabetes --concurrency 1:16:x2',
    'cranberries bench -u grpc://127.0.0.1:8001 -m digits --request-rate 500 --measure-secs 10',
    'cranberries bench -u localhost:8000 -m digits -x 1 --protocol rest-json -b 8 --json',
  ],
  cluster: ['cranberries cluster up --workers 2'],
  'cluster up': ['cranberries cluster up', 'cranberries cluster up --workers 2 --base-port 9000 --log-dir ./cluster-logs --log-format text'],
};

function pathOf(command: Command): string {
  const names: string[] = [];
  for (let c: Command | null = command; c?.parent; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

/** Applies the wrapped help and the examples to `program` and every command under it. */
export function configureHelp(program: Command): void {
  const visit = (command: Command): void => {
    command.createHelp = () => Object.assign(new WrappedHelp(), command.configureHelp());
    command.configureOutput({ getOutHelpWidth: () => helpWidth(process.stdout), getErrHelpWidth: () => helpWidth(process.stderr) });
    const examples = EXAMPLES[pathOf(command)];
    if (examples) command.addHelpText('after', `\nExamples:\n${examples.map((line) => `  ${line}`).join('\n')}\n`);
    for (const sub of command.commands) visit(sub);
  };
  visit(program);
}
