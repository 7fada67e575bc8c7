/**
 * `--allow-client-shm`, spelled as Triton spells it (`--allow-client-shm`, `--allow-client-shm=true`
 * or `--allow-client-shm true`): whether clients may register system shared-memory regions. Off by
 * default, as in Triton: a registered key lets a client read and write that object in `/dev/shm`
 * with the server's rights.
 */
import type { Command } from 'commander';
import { booleanValue } from './startup-flags.js';

export interface SharedMemoryFlags {
  allowClientShm: boolean;
}

export function addSharedMemoryFlags(command: Command): Command {
  return command.option('--allow-client-shm [bool]', 'let clients register system shared-memory regions (/dev/shm objects) and pass tensors through them', booleanValue, false);
}
