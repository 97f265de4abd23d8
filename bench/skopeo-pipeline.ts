/**
 * The "best off-the-shelf" baseline: `sqfs2tar IMAGE > layer.tar` into an OCI layout,
 * `sha256sum` for the digest, a config and manifest written by hand, then
 * `skopeo copy oci:… docker://…` (which gzips the layer for a docker:// destination).
 * Timed step by step like the seed pipeline.
 */
import { mkdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { RunFailed, runMeasured, type Sample, type Variant } from './measure.ts';

function putJsonBlob(layout: string, value: unknown): { digest: string; size: number } {
  const bytes = Buffer.from(JSON.stringify(value));
  const hex = createHash('sha256').update(bytes).digest('hex');
  writeFileSync(join(layout, 'blobs', 'sha256', hex), bytes);
  return { digest: `sha256:${hex}`, size: bytes.length };
}

export function skopeoPipelineVariant(id: string, image: string, workDir: string, host: () => string): Variant {
  const layout = join(workDir, 'skopeo-layout');
  return {
    id,
    label: 'sqfs2tar > layer.tar + sha256sum + skopeo copy oci: docker://',
    async before() {
      rmSync(layout, { recursive: true, force: true });
      mkdirSync(join(layout, 'blobs', 'sha256'), { recursive: true });
    },
    async run(rep): Promise<Sample> {
      const phases: Record<string, number> = {};
      let peak = 0;
      let cpuMs = 0;
      const started = process.hrtime.bigint();
      const tmp = join(layout, 'blobs', 'sha256', 'layer.tmp');
      let r = await runMeasured('sqfs2tar', [image], { stdout: tmp });
      if (r.exitCode !== 0) throw new RunFailed('sqfs2tar', r);
      phases['sqfs2tar > file'] = r.wallMs;
      peak = Math.max(peak, r.peakRssKiB);
      cpuMs += r.cpuMs;
      r = await runMeasured('sha256sum', [tmp], { stdout: 'capture' });
      if (r.exitCode !== 0) throw new RunFailed('sha256sum', r);
      phases['sha256sum'] = r.wallMs;
      peak = Math.max(peak, r.peakRssKiB);
      cpuMs += r.cpuMs;
      const hex = r.stdout.split(/\s/)[0]!;
      renameSync(tmp, join(layout, 'blobs', 'sha256', hex));
      const layer = { mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: `sha256:${hex}`, size: statSync(join(layout, 'blobs', 'sha256', hex)).size };
      const config = putJsonBlob(layout, {
        architecture: 'amd64',
        os: 'linux',
        config: { Entrypoint: ['/usr/bin/uai-ssh.sh'] },
        rootfs: { type: 'layers', diff_ids: [layer.digest] },
      });
      const manifest = putJsonBlob(layout, {
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
        layers: [layer],
      });
      writeFileSync(join(layout, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
      writeFileSync(
        join(layout, 'index.json'),
        JSON.stringify({
          schemaVersion: 2,
          manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', ...manifest, annotations: { 'org.opencontainers.image.ref.name': 'bench' } }],
        }),
      );
      r = await runMeasured('skopeo', ['copy', '--quiet', '--dest-tls-verify=false', `oci:${layout}:bench`, `docker://${host()}/bench/skopeo:${rep}`]);
      if (r.exitCode !== 0) throw new RunFailed('skopeo copy', r);
      phases['skopeo copy'] = r.wallMs;
      peak = Math.max(peak, r.peakRssKiB);
      cpuMs += r.cpuMs;
      // Wall time includes the small JSON writes between the steps.
      return { wallMs: Number(process.hrtime.bigint() - started) / 1e6, peakRssKiB: peak, cpuMs, phases };
    },
    async after() {
      rmSync(layout, { recursive: true, force: true });
    },
  };
}
