/**
 * Child processes of the tests that die with the test process, however it ends.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { existsSync } from 'node:fs';

/**
 * Spawns a test server (or the CLI under test) that dies with this process however it ends (SIGKILL included):
 * `setpriv --pdeathsig KILL` (util-linux) makes the kernel kill the child when the
 * spawning thread goes away, and a `sh` step that `exec`s the server checks first that
 * its parent is still this process (closing the race between fork and prctl). The server
 * keeps the child's pid (exec all the way down). A clean exit also kills it (`exit` hook).
 */
export function spawnTied(command: string, args: readonly string[], options: SpawnOptions = {}): ChildProcess {
  if (!existsSync(SETPRIV)) throw new Error(`${SETPRIV} (util-linux) is needed so that test servers die with the test process`);
  const guard = 'if [ "$PPID" != "$1" ]; then exit 70; fi; shift; exec "$@"';
  const child = spawn(SETPRIV, ['--pdeathsig', 'KILL', '--', '/bin/sh', '-c', guard, 'sh', String(process.pid), command, ...args], options);
  const killOnExit = (): void => {
    child.kill('SIGKILL');
  };
  process.once('exit', killOnExit);
  child.once('exit', () => process.removeListener('exit', killOnExit));
  return child;
}

const SETPRIV = '/usr/bin/setpriv';
