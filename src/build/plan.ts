/**
 * `planBuild(options)`: the dry run. It does everything `build()` does before the first
 * write, and fails where `build()` would: options and every DEST parsed, SOURCE resolved
 * (BOS template → boot set → IMS manifest → rootfs key and size; never downloaded), the
 * SquashFS opened, the rootfs checks run (architecture from the ELF header against the
 * declared one, the UAI script rule, --uai-ssh-from fetched, --add files read), and for
 * each registry DEST the registry pinged and `checkAccess(repo, ['pull', 'push'])` passed
 * (bad credentials and unreachable registries fail here). Nothing is written: no layout
 * directory, no archive file, no blob, no tag.
 */
import type { Destination } from '../destination/destination.ts';
import { openDestination } from '../destination/open-destination.ts';
import type { TransportName } from '../destination/transport.ts';
import type { ImageFormat } from '../image/media-types.ts';
import type { LayerCompression } from '../layer/compression/compressed-layer.ts';
import { loadInjections } from '../layer/inject.ts';
import { checkBuildOptions, decideFromRootfs, type BuildOptions, type RootfsDecisions } from './build-options.ts';
import { buildSource, openSquashfs, type BuildImage } from './open-image.ts';
import type { SourcePlan } from './resolve-source.ts';

export interface PlannedDestination {
  destination: string;
  transport: TransportName;
  /** `HOST/REPO:TAG`, `oci:DIR:TAG`, … */
  description: string;
  /** The manifest format written there (registries: --format; archives and layouts: oci, docker-archive: docker). */
  format: ImageFormat;
  /** The layer compression this destination would store. */
  layerCompression: LayerCompression;
  /** `access-ok`: the registry answered and accepted the credentials for pull and push. `local`: nothing checked that would write. */
  check: 'access-ok' | 'local';
}

export interface BuildPlan {
  /** The SOURCE as given (a ByteSource's name). */
  source: string;
  /** Where the rootfs comes from (for BOS/IMS, with its s3:// location). */
  origin: string;
  /** How SOURCE resolved: kind, template, boot set, manifest, rootfs key, size, access. */
  plan: SourcePlan | null;
  declaredArch: string | null;
  architecture: string;
  variant: string | null;
  platformFrom: RootfsDecisions['platformFrom'];
  profile: 'uai' | 'plain';
  uaiSsh: RootfsDecisions['uaiSsh'];
  created: string;
  entrypoint: string[] | null;
  cmd: string[] | null;
  /** Files added to the layer (DEST path and mode; contents already read). */
  add: Array<{ dest: string; mode: number | null }>;
  /** From a metadata-only walk, when the reader offers one. */
  rootfs: { inodes: number; bytes: number } | null;
  destinations: PlannedDestination[];
}

function formatOf(d: Destination, format: ImageFormat): ImageFormat {
  if (d.ref.transport === 'docker') return format;
  return d.ref.transport === 'docker-archive' ? 'docker' : 'oci';
}

export async function planBuild(options: BuildOptions): Promise<BuildPlan> {
  const signal = options.signal;
  const checked = checkBuildOptions(options);
  const { source, origin, declaredArch, plan: sourcePlan, owned: ownSource } = await buildSource(options.source, {
    env: checked.environment,
    ...(options.resolve ? { resolve: options.resolve } : {}),
    dryRun: true,
    ...(signal ? { signal } : {}),
  });
  let image: BuildImage | undefined;
  try {
    image = await openSquashfs(source, { ...(signal ? { signal } : {}), ...(options.onWarning ? { onWarning: options.onWarning } : {}) });
    const decided = await decideFromRootfs(image, options, checked, { origin, ...(declaredArch ? { declaredArch } : {}) });
    // --add files are read now, as the build would read them (missing file, bad DEST).
    const added = await loadInjections(decided.add, { signal });
    const stats = image.stats ? await image.stats(signal ? { signal } : {}) : undefined;

    const destinations: PlannedDestination[] = [];
    for (const ref of checked.refs) {
      signal?.throwIfAborted();
      const d = openDestination(ref, {
        format: checked.format,
        registry: checked.registry,
        ...(options.cwd ? { cwd: options.cwd } : {}),
        ...(options.clientFactory ? { clientFactory: options.clientFactory } : {}),
        ...(options.onWarning ? { onWarning: options.onWarning } : {}),
      });
      try {
        // A registry's prepare() is the access check and writes nothing; a local one's would create files.
        if (ref.transport === 'docker') await d.prepare(signal ? { signal } : {});
        destinations.push({
          destination: ref.raw,
          transport: ref.transport,
          description: d.description,
          format: formatOf(d, checked.format),
          layerCompression: d.layerCompression(checked.compression),
          check: ref.transport === 'docker' ? 'access-ok' : 'local',
        });
      } finally {
        await d.close().catch(() => undefined);
      }
    }
    return {
      source: typeof options.source === 'string' ? options.source : options.source.name,
      origin,
      plan: sourcePlan ?? null,
      declaredArch: declaredArch ?? null,
      architecture: decided.platform.architecture,
      variant: decided.platform.variant ?? null,
      platformFrom: decided.platformFrom,
      profile: checked.profile,
      uaiSsh: decided.uaiSsh,
      created: decided.created.rfc3339,
      entrypoint: decided.entrypoint ?? null,
      cmd: decided.cmd ?? null,
      add: added.map((a) => ({ dest: a.dest, mode: a.mode ?? null })),
      rootfs: stats ?? null,
      destinations,
    };
  } finally {
    if (ownSource) await (image ? image.close() : source.close()).catch(() => undefined);
  }
}

/** The plan as the CLI prints it without --json: one `name  value` line per fact. */
export function describePlan(plan: BuildPlan): string[] {
  const p = plan.plan;
  const lines = ['dry run: nothing was written'];
  const where = p ? ` [${[p.kind, p.access, p.size !== undefined ? `${p.size} bytes` : undefined].filter(Boolean).join(', ')}]` : '';
  lines.push(`source        ${plan.origin}${where}`);
  if (p?.template) lines.push(`bos template  ${p.template}${p.bootSet ? ` boot set ${p.bootSet}` : ''}${p.bosApi ? ` (BOS ${p.bosApi})` : ''}`);
  if (p?.imageId) lines.push(`ims image     ${p.imageId}${p.imageName ? ` (${p.imageName})` : ''}`);
  if (p?.manifest) lines.push(`manifest      ${p.manifest}`);
  if (p && p.kind !== 'file') lines.push(`rootfs        ${p.rootfs}${p.md5 ? ` md5 ${p.md5}` : ''}${p.download ? ` → download to ${p.download}` : ''}`);
  const from = { 'arch-option': '--arch', elf: '/bin/sh', source: 'the source metadata (no /bin/sh)' }[plan.platformFrom];
  lines.push(`architecture  ${plan.architecture}${plan.variant ? `/${plan.variant}` : ''} (from ${from}${plan.declaredArch ? `; declared ${plan.declaredArch}` : ''})`);
  lines.push(`created       ${plan.created}`);
  lines.push(`profile       ${plan.profile}`);
  if (plan.entrypoint) lines.push(`entrypoint    ${JSON.stringify(plan.entrypoint)}`);
  if (plan.cmd) lines.push(`cmd           ${JSON.stringify(plan.cmd)}`);
  const ssh = { image: 'in the image', add: 'added (--add)', 'uai-ssh-from': 'taken from --uai-ssh-from', 'not-required': 'not required' }[plan.uaiSsh];
  lines.push(`uai-ssh.sh    ${ssh}`);
  for (const a of plan.add) lines.push(`add           ${a.dest}${a.mode !== null ? ` mode ${a.mode.toString(8).padStart(4, '0')}` : ''}`);
  if (plan.rootfs) lines.push(`rootfs size   ${plan.rootfs.inodes} inodes, ${plan.rootfs.bytes} bytes of file data`);
  for (const d of plan.destinations) {
    const check = d.check === 'access-ok' ? 'registry reachable, pull+push access ok' : 'local, not written';
    lines.push(`destination   ${d.description} (${d.format} manifest, ${d.layerCompression === 'none' ? 'tar' : d.layerCompression} layer): ${check}`);
  }
  return lines;
}
