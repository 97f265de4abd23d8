/**
 * Test servers die with the process that started them, however it ends: a helper
 * process starts the real docker-registry (or s3rver) through test/support, prints the
 * server's pid, and is then killed (SIGKILL: no exit hook runs; SIGTERM). The server
 * must be gone within a few seconds.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { spawnTied } from '../../support/registry.ts';

const SUPPORT = resolve('test/support');

/** True while `pid` runs (a zombie, not reaped by a container's init, counts as gone). */
function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** The command line of `pid` (to be sure it is the server, not a reused pid). */
function commandLine(pid: number): string {
  return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
}

async function until(check: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (check()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return check();
}

let helper: ChildProcess | undefined;
let serverPid: number | undefined;
/**
 * The helper's TMPDIR: a killed helper never runs the server's stop(), which is what
 * removes the server's temporary directory, so each helper gets a directory of its own
 * that the test removes (without it, every run left one in the system temp dir).
 */
let scratch: string | undefined;

afterEach(() => {
  if (helper !== undefined && helper.exitCode === null && helper.signalCode === null) helper.kill('SIGKILL');
  // Never leave a server behind, even when the test failed.
  if (serverPid !== undefined && running(serverPid)) process.kill(serverPid, 'SIGKILL');
  if (scratch !== undefined) rmSync(scratch, { recursive: true, force: true });
  helper = undefined;
  serverPid = undefined;
  scratch = undefined;
});

/** The names in the helper's TMPDIR (where its server kept its files). */
function scratchEntries(): string[] {
  return readdirSync(scratch!);
}

/** Starts a helper that runs `body` (ESM, top-level await), which prints the server pid. */
async function startHelper(body: string): Promise<number> {
  // Tied itself, so that a killed test worker leaves no helper behind either.
  scratch = mkdtempSync(join(tmpdir(), 'uai-cleanup-test-'));
  const child = spawnTied(process.execPath, ['--input-type=module', '-e', body], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, TMPDIR: scratch } });
  helper = child;
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d));
  const pid = await new Promise<number>((resolvePid, reject) => {
    createInterface({ input: child.stdout! }).once('line', (line) => resolvePid(Number(JSON.parse(line))));
    child.once('exit', (code, signal) => reject(new Error(`helper exited (${code ?? signal}): ${stderr}`)));
  });
  serverPid = pid;
  return pid;
}

describe('test servers die with their parent', () => {
  it('docker-registry from startRegistry, when the helper is SIGKILLed', async () => {
    const registryTs = pathToFileURL(`${SUPPORT}/registry.ts`).href;
    const pid = await startHelper(`
      const { startRegistry } = await import(${JSON.stringify(registryTs)});
      const reg = await startRegistry({ mode: 'tls-basic' });
      console.log(JSON.stringify(reg.pid));
      setInterval(() => {}, 60_000);
    `);
    expect(running(pid)).toBe(true);
    expect(commandLine(pid)).toContain('docker-registry serve');
    expect(scratchEntries()).toEqual([expect.stringMatching(/^uai-registry-tls-basic-/)]);
    helper!.kill('SIGKILL');
    expect(await until(() => !running(pid), 5000)).toBe(true);
  });

  it('s3rver from startS3rver, when the helper is SIGTERMed', async () => {
    const s3Ts = pathToFileURL(`${SUPPORT}/s3.ts`).href;
    const pid = await startHelper(`
      const { startS3rver } = await import(${JSON.stringify(s3Ts)});
      const s3 = await startS3rver(['boot-images']);
      console.log(JSON.stringify(s3.pid));
      setInterval(() => {}, 60_000);
    `);
    expect(running(pid)).toBe(true);
    expect(commandLine(pid)).toContain('s3rver');
    expect(scratchEntries()).toEqual([expect.stringMatching(/^uai-s3rver-/)]);
    helper!.kill('SIGTERM');
    expect(await until(() => !running(pid), 5000)).toBe(true);
  });

  it('keeps working for a clean stop() (the server is stopped, the parent lives on)', async () => {
    const registryTs = pathToFileURL(`${SUPPORT}/registry.ts`).href;
    const pid = await startHelper(`
      const { startRegistry } = await import(${JSON.stringify(registryTs)});
      const reg = await startRegistry({ mode: 'plain' });
      console.log(JSON.stringify(reg.pid));
      await reg.stop();
      console.log(JSON.stringify('stopped'));
      setInterval(() => {}, 60_000);
    `);
    expect(await until(() => !running(pid), 5000)).toBe(true);
    expect(helper!.exitCode).toBeNull();
  });
});
