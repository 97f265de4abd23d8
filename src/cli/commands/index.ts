import type { Command } from '../io.ts';
import { buildCommand } from './build.ts';
import { inspectCommand } from './inspect.ts';
import { lsCommand } from './ls.ts';
import { registerCommand } from './register.ts';
import { tarCommand } from './tar.ts';

/** Every command, in the order `--help` lists them. */
export const commands: Command[] = [buildCommand, tarCommand, inspectCommand, lsCommand, registerCommand];
