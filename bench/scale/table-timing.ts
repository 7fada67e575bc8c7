/**
 * Times the gateway's real table build and update steps wherever the `TableWatcher` calls them:
 * each build's synchronous time, summed over the slices the watcher runs it in. Patches
 * `EndpointTable.buildSteps`/`updateSteps` until `restore()`.
 */
import { EndpointTable, type TableInput } from '../../src/gateway/routing/index.js';

export interface TableTiming {
  /** Synchronous time of every build or update so far (ms). */
  readonly rebuilds: number[];
  /** The input of the last build or update. */
  readonly lastInput: () => TableInput | undefined;
  /** The unpatched whole build. */
  readonly build: (input: TableInput) => EndpointTable;
  readonly restore: () => void;
}

export function timeTableBuilds(): TableTiming {
  const rebuilds: number[] = [];
  let lastTableInput: TableInput | undefined;
  const build = EndpointTable.build.bind(EndpointTable);
  const buildSteps = EndpointTable.buildSteps.bind(EndpointTable);
  const updateSteps = EndpointTable.updateSteps.bind(EndpointTable);
  const mutable = EndpointTable as unknown as { buildSteps: typeof buildSteps; updateSteps: typeof updateSteps };
  function* timed(steps: Generator<void, EndpointTable, void>): Generator<void, EndpointTable, void> {
    let spent = 0;
    for (;;) {
      const t0 = performance.now();
      const step = steps.next();
      spent += performance.now() - t0;
      if (step.done) {
        rebuilds.push(spent);
        return step.value;
      }
      yield;
    }
  }
  mutable.buildSteps = (input) => {
    lastTableInput = input;
    return timed(buildSteps(input));
  };
  mutable.updateSteps = (previous, input, changed) => {
    lastTableInput = input;
    return timed(updateSteps(previous, input, changed));
  };
  return {
    rebuilds,
    lastInput: () => lastTableInput,
    build,
    restore: () => {
      mutable.buildSteps = buildSteps;
      mutable.updateSteps = updateSteps;
    },
  };
}
