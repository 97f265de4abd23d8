/**
 * Library example (docs/library.md): build a UAI image from a SquashFS into an OCI
 * layout, and optionally push it, with progress and warnings on stderr.
 *
 *   node docs/examples/build-image.ts ROOTFS.sqfs DEST... 
 *   node docs/examples/build-image.ts rootfs.sqfs oci:./out:v1 docker://registry.local/cray/uai:v1
 *
 * Run from the repository (it imports the sources); a published package would import
 * from 'uai-assembler' instead.
 */
import { build, isUaiError, type BuildResult } from '../../src/index.ts';

const [rootfs, ...destinations] = process.argv.slice(2);
if (!rootfs || destinations.length === 0) {
  process.stderr.write('usage: node docs/examples/build-image.ts ROOTFS.sqfs DEST...\n');
  process.exit(2);
}

// Ctrl-C aborts the build: nothing is tagged and no temporary file is left behind.
const controller = new AbortController();
process.once('SIGINT', () => controller.abort(new Error('interrupted')));

try {
  const result: BuildResult = await build({
    source: rootfs,
    destinations,
    profile: 'uai', // ENTRYPOINT ["/usr/bin/uai-ssh.sh"], drop 99-slingshot-network.conf
    compression: 'gzip',
    labels: { 'org.opencontainers.image.title': 'custom end-user UAI' },
    env: ['UAI_EXAMPLE=1'],
    signal: controller.signal,
    onWarning: (w) => process.stderr.write(`warning: ${w.message}\n`),
    onProgress: (e) => {
      if (e.phase !== 'layer') process.stderr.write(`${e.phase}\n`);
    },
  });
  // One line per destination: HOST/REPO@sha256:… for registries, the path for the others.
  for (const ref of result.references) process.stdout.write(`${ref}\n`);
  process.stderr.write(`${result.architecture}, layer ${result.layer.digest} (${result.layer.size} bytes), diff_id ${result.layer.diffId}\n`);
} catch (err) {
  // Library errors carry a stable code (UAI_IMAGE_NO_UAI_SSH, UAI_REGISTRY_UNAUTHORIZED, …).
  process.stderr.write(`build failed: ${isUaiError(err) ? `[${err.code}] ` : ''}${(err as Error).message}\n`);
  process.exitCode = controller.signal.aborted ? 130 : 1;
}
