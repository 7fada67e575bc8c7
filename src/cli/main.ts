#!/usr/bin/env node
/**
 * The `cranberries` command line. Flag names follow Triton's (`--model-repository`, `--http-port`,
 * `--model-control-mode`, ...) so its users feel at home.
 */
import { Command, InvalidArgumentError } from 'commander';
import { VERSION } from '../core/index.js';
import { serveCommand } from './serve.js';
import { workerCommand } from './worker.js';
import { controllerCommand } from './controller.js';
import { inferCommand } from './infer.js';
import { benchCommand } from './bench.js';
import { gatewayCommand } from './gateway.js';
import { clusterCommand } from './cluster.js';
import { adminCommand } from './admin.js';
import { configureHelp } from './help.js';

const program = new Command()
  .name('cranberries')
  .description('Serve machine-learning models over the Open Inference Protocol and the TensorFlow Serving APIs.')
  .version(VERSION)
  // Program options only before the command name, so commands may define their own `--version`.
  .enablePositionalOptions();

program.addCommand(serveCommand());
program.addCommand(workerCommand());
program.addCommand(controllerCommand());
program.addCommand(inferCommand());
program.addCommand(benchCommand());
program.addCommand(gatewayCommand());
program.addCommand(clusterCommand());
program.addCommand(adminCommand());
// After every command is added: wrapped help and examples for each.
configureHelp(program);

program.parseAsync(process.argv).catch((error: unknown) => {
  if (error instanceof InvalidArgumentError) process.exitCode = 2;
  console.error(error instanceof Error ? error.message : error);
  process.exitCode ||= 1;
  // A command that failed must not linger half-started (a listening port, a timer): exit now.
  process.exit();
});
