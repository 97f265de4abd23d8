/**
 * `uai-assemble build SOURCE DEST...`: a thin shell over `build()`. Prints one
 * `HOST/REPO@sha256:…` line per registry destination on stdout (the other destinations'
 * references for local ones), or one JSON object with --json. Progress and warnings go
 * to stderr. With --register [--default], the pushed image is registered with UAS.
 */
import { isAbsolute, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { build, compressionConflict, type BuildOptions, type BuildResult } from '../../build/build.ts';
import { describePlan, planBuild } from '../../build/plan.ts';
import { createCrayContext, type CrayContext, type CrayContextOptions } from '../../cray/context.ts';
import { listUaiImages, registerUaiImage } from '../../cray/uas.ts';
import { UaiError, isUaiError } from '../../errors.ts';
import type { DestinationRef } from '../../destination/transport.ts';
import { parseDestination } from '../../destination/transport.ts';
import type { Injection } from '../../layer/inject.ts';
import { CRAY_OPTIONS, CRAY_OPTIONS_USAGE, crayContextOptionsFrom, downloadPathFrom } from '../cray-options.ts';
import { EXIT_OK, UsageError, printWarning, writeOut, type CliIo, type Command } from '../io.ts';
import { createProgress } from '../progress.ts';

const OPTIONS = {
  ...CRAY_OPTIONS,
  profile: { type: 'string' },
  entrypoint: { type: 'string' },
  cmd: { type: 'string' },
  env: { type: 'string', multiple: true },
  label: { type: 'string', multiple: true },
  annotation: { type: 'string', multiple: true },
  workdir: { type: 'string' },
  user: { type: 'string' },
  arch: { type: 'string' },
  compression: { type: 'string' },
  'compression-level': { type: 'string' },
  format: { type: 'string' },
  exclude: { type: 'string', multiple: true },
  'no-default-excludes': { type: 'boolean' },
  add: { type: 'string', multiple: true },
  'allow-whiteout-names': { type: 'boolean' },
  'uai-ssh-from': { type: 'string' },
  creds: { type: 'string' },
  authfile: { type: 'string' },
  'tls-verify': { type: 'string' },
  'cert-dir': { type: 'string' },
  'chunk-size': { type: 'string' },
  quiet: { type: 'boolean', short: 'q' },
  json: { type: 'boolean' },
} as const;

const USAGE = [
  'uai-assemble build SOURCE DEST... [options]',
  '  SOURCE: a SquashFS file, s3://BUCKET/KEY, https://URL, bos:TEMPLATE[#BOOTSET], ims:IMAGE_ID',
  '  DEST:   docker://HOST[:PORT]/REPO[:TAG], oci:DIR[:TAG], oci-archive:FILE[:TAG], docker-archive:FILE[:REPO:TAG]',
  '  --profile uai|plain        uai (default): ENTRYPOINT /usr/bin/uai-ssh.sh, default excludes, uai-ssh.sh required',
  '  --entrypoint X             JSON array (exec form) or a string (run by /bin/sh -c, like podman import --change)',
  '  --cmd X                    the same for CMD',
  '  --env K=V / --label K=V    repeatable',
  '  --annotation K=V           manifest annotation (repeatable; OCI only); none names the source by default',
  '  --workdir D --user U',
  '  --arch A                   amd64, arm64[/v8], … (default: from /bin/sh in the image)',
  '  --compression none|gzip|zstd   layer compression (default none); --compression-level N',
  '  --format oci|docker        registry manifest format (docker = v2 schema2 with a gzip layer)',
  '  --exclude GLOB             repeatable; --no-default-excludes keeps 99-slingshot-network.conf',
  '  --add SRC:DEST[:MODE]      add a local file (repeatable), e.g. --add ./uai-ssh.sh:/usr/bin/uai-ssh.sh:0755',
  '  --allow-whiteout-names     keep .wh.* files instead of failing',
  '  --uai-ssh-from docker://REF    take /usr/bin/uai-ssh.sh from that image',
  '  --creds U:P --authfile F --tls-verify=true|false --cert-dir D --ca-file F --chunk-size N[K|M|G]',
  '  --register [--default]     register the pushed image with UAS (needs a docker:// DEST)',
  '  --dry-run                  resolve and check everything (source, rootfs, registry access) and print the plan; write nothing',
  '  --quiet                    no progress; --json: print one JSON result object',
  CRAY_OPTIONS_USAGE,
].join('\n');

function str(values: Record<string, unknown>, key: string): string | undefined {
  const v = values[key];
  return typeof v === 'string' ? v : undefined;
}

function absolute(io: CliIo, p: string): string {
  return isAbsolute(p) ? p : resolve(io.cwd, p);
}

/** `SRC:DEST[:MODE]`: DEST is the part from the first `:/`; MODE an octal suffix. */
export function parseAdd(value: string, io: CliIo): Injection {
  const split = value.indexOf(':/');
  if (split <= 0) throw new UsageError(`--add ${value}: expected SRC:DEST[:MODE] with an absolute DEST`);
  const src = value.slice(0, split);
  let dest = value.slice(split + 1);
  let mode: number | undefined;
  const m = /:([0-7]{3,4})$/.exec(dest);
  if (m) {
    mode = parseInt(m[1]!, 8);
    dest = dest.slice(0, m.index);
  }
  return { dest, content: { path: absolute(io, src) }, ...(mode !== undefined ? { mode } : {}), uid: 0, gid: 0 };
}

export function parseSize(value: string, option: string): number {
  const m = /^(\d+)([KMG]i?B?)?$/i.exec(value.trim());
  if (!m) throw new UsageError(`${option} ${value}: expected a number of bytes (suffix K, M or G allowed)`);
  const mult = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 }[(m[2] ?? '').charAt(0).toUpperCase()] ?? 1;
  return Number(m[1]) * mult;
}

function parseBoolean(value: string, option: string): boolean {
  if (value === 'true') return true;
  if (value === 'false') return false;
  throw new UsageError(`${option}=${value}: expected true or false`);
}

function oneOf<T extends string>(value: string | undefined, allowed: readonly T[], option: string): T | undefined {
  if (value === undefined) return undefined;
  if (!allowed.includes(value as T)) throw new UsageError(`${option} ${value}: expected ${allowed.join(', ')}`);
  return value as T;
}

export const buildCommand: Command = {
  name: 'build',
  summary: 'build an image from a SquashFS rootfs and publish it (registry, OCI layout, archives)',
  usage: USAGE,
  async run(args, io) {
    // skopeo takes a bare --tls-verify as true; parseArgs needs the value spelled out.
    const normalized = args.map((a, i) => (a === '--tls-verify' && args[i + 1] !== 'true' && args[i + 1] !== 'false' ? '--tls-verify=true' : a));
    let parsed;
    try {
      parsed = parseArgs({ args: normalized, allowPositionals: true, strict: true, options: OPTIONS });
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
    const { values, positionals } = parsed;
    const [givenSource, ...dests] = positionals;
    if (givenSource === undefined) throw new UsageError('missing SOURCE');
    // A local path is relative to the command's working directory (tests and embedders
    // may run main() with another cwd than the process's); it is kept as typed otherwise.
    const isPath = !/^(bos|ims):/i.test(givenSource) && !/^[a-z][a-z0-9+.-]*:\/\//i.test(givenSource);
    const sourceSpec = isPath && io.cwd !== process.cwd() ? absolute(io, givenSource) : givenSource;
    const cray = crayContextOptionsFrom(values, io);
    const download = downloadPathFrom(values, io);

    if (dests.length === 0) throw new UsageError('missing DEST');
    let refs: DestinationRef[];
    try {
      refs = dests.map((d) => parseDestination(d));
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
    const registryRefs = refs.filter((r): r is Extract<DestinationRef, { transport: 'docker' }> => r.transport === 'docker');
    if (values.register && registryRefs.length === 0) throw new UsageError('--register needs a docker:// destination');
    if (values.default && !values.register) throw new UsageError('--default goes with --register');

    const level = str(values, 'compression-level');
    const creds = str(values, 'creds');
    const tlsVerify = str(values, 'tls-verify');
    const chunkSize = str(values, 'chunk-size');
    const caFile = str(values, 'ca-file');
    const certDir = str(values, 'cert-dir');
    const authfile = str(values, 'authfile');
    if (creds !== undefined && creds.indexOf(':') <= 0) throw new UsageError('--creds: expected USER:PASSWORD');
    if (level !== undefined && !/^\d+$/.test(level)) throw new UsageError(`--compression-level ${level}: expected a whole number`);

    const dryRun = values['dry-run'] === true;
    const quiet = dryRun || values.quiet === true || (values.json === true && !io.isTTY);
    const progress = createProgress(io.stderr, { tty: io.isTTY, quiet });
    const onWarning = (w: Parameters<typeof printWarning>[1]) => {
      progress.clear();
      printWarning(io, w);
    };
    const profile = oneOf(str(values, 'profile'), ['uai', 'plain'] as const, '--profile');
    const compression = oneOf(str(values, 'compression'), ['none', 'gzip', 'zstd'] as const, '--compression');
    const format = oneOf(str(values, 'format'), ['oci', 'docker'] as const, '--format');
    const conflict = compressionConflict(format, compression, level === undefined ? undefined : Number(level));
    if (conflict) throw new UsageError(conflict.message);
    const options: BuildOptions = {
      source: sourceSpec,
      destinations: dests,
      ...(profile ? { profile } : {}),
      ...(values.entrypoint !== undefined ? { entrypoint: values.entrypoint } : {}),
      ...(values.cmd !== undefined ? { cmd: values.cmd } : {}),
      env: values.env ?? [],
      labels: values.label ?? [],
      ...(values.annotation ? { annotations: values.annotation } : {}),
      ...(values.workdir !== undefined ? { workdir: values.workdir } : {}),
      ...(values.user !== undefined ? { user: values.user } : {}),
      ...(values.arch !== undefined ? { arch: values.arch } : {}),
      ...(compression ? { compression } : {}),
      ...(level !== undefined ? { compressionLevel: Number(level) } : {}),
      ...(format ? { format } : {}),
      exclude: values.exclude ?? [],
      ...(values['no-default-excludes'] ? { defaultExcludes: false } : {}),
      add: (values.add ?? []).map((a) => parseAdd(a, io)),
      allowWhiteoutNames: values['allow-whiteout-names'] === true,
      ...(values['uai-ssh-from'] !== undefined ? { uaiSshFrom: values['uai-ssh-from'] } : {}),
      ...(creds ? { creds: { username: creds.slice(0, creds.indexOf(':')), password: creds.slice(creds.indexOf(':') + 1) } } : {}),
      ...(authfile ? { authfile: absolute(io, authfile) } : {}),
      ...(tlsVerify !== undefined ? { tlsVerify: parseBoolean(tlsVerify, '--tls-verify') } : {}),
      ...(certDir ? { certDir: absolute(io, certDir) } : {}),
      ...(caFile ? { caFile: absolute(io, caFile) } : {}),
      ...(chunkSize !== undefined ? { chunkSize: parseSize(chunkSize, '--chunk-size') } : {}),
      resolve: { cray, ...(download ? { download } : {}), onWarning },
      environment: io.env,
      cwd: io.cwd,
      signal: io.signal,
      // Without a listener, build() skips the inode-table pass that estimates the total.
      ...(quiet ? {} : { onProgress: (e: Parameters<typeof progress.onProgress>[0]) => progress.onProgress(e) }),
      onWarning,
    };
    // With --register, UAS must answer (and accept our token) before anything is published:
    // a UAS outage then fails the build with no tag written.
    const uas = values.register ? await openUas(cray, io.signal) : undefined;
    try {
      if (dryRun) {
        // Everything build() checks before its first write, and nothing written.
        const plan = await planBuild(options);
        const register = values.register ? registryRefs.map((r) => `${r.host}/${r.repository}:${r.tag}`) : [];
        if (values.json) {
          await writeOut(io.stdout, `${JSON.stringify({ dryRun: true, ...plan, ...(values.register ? { register, registerDefault: values.default === true } : {}) })}\n`);
        } else {
          const lines = describePlan(plan);
          for (const r of register) lines.push(`register      ${r} with UAS${values.default ? ' as the default' : ''} (after the push)`);
          await writeOut(io.stdout, `${lines.join('\n')}\n`);
        }
        return EXIT_OK;
      }
      let result: BuildResult;
      try {
        result = await build(options);
      } finally {
        progress.finish();
      }

      const registered: Array<{ imageRef: string; status: string; imageId: string | null }> = [];
      if (uas) {
        for (const ref of registryRefs) {
          const imageRef = `${ref.host}/${ref.repository}:${ref.tag}`;
          try {
            const r = await registerUaiImage(uas, imageRef, { default: values.default === true, signal: io.signal });
            registered.push({ imageRef, status: r.status, imageId: r.imageId ?? null });
          } catch (err) {
            throw new UaiError(
              isUaiError(err) ? err.code : 'UAI_CRAY_HTTP',
              `${imageRef} was pushed, but registering it with UAS failed: ${(err as Error).message}; register it later with 'uai-assemble register ${imageRef}${values.default ? ' --default' : ''}'`,
              { cause: err, details: { pushed: result.destinations.map((d) => d.reference) } },
            );
          }
        }
      }

      if (values.json) {
        await writeOut(io.stdout, `${JSON.stringify({ ...result, ...(values.register ? { registered } : {}) })}\n`);
      } else {
        for (const r of registered) {
          io.stderr.write(`${r.status === 'created' ? 'registered with UAS' : r.status === 'updated' ? 'already registered with UAS, now the default' : 'already registered with UAS'}: ${r.imageRef}\n`);
        }
        await writeOut(io.stdout, `${result.destinations.map((d) => d.reference).join('\n')}\n`);
      }
      return EXIT_OK;
    } finally {
      await uas?.close();
    }
  },
};

/** A CSM context whose UAS answers the image list: checked before anything is published. */
async function openUas(cray: CrayContextOptions, signal: AbortSignal): Promise<CrayContext> {
  const ctx = await createCrayContext({ ...cray, signal });
  try {
    await listUaiImages(ctx, { signal });
    return ctx;
  } catch (err) {
    await ctx.close();
    throw err;
  }
}
