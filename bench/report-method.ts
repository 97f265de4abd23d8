/**
 * The fixed part of docs/benchmarks.md: how to run the harness, what it measures and why
 * it measures that way, and its limits. Kept in code so the report never goes stale.
 */
export function methodSection(): string[] {
  return [
    '## How to run',
    '',
    '```',
    'npm run bench                       # full: 102k-entry rootfs + 1.06 GiB of large files, 4 compressors, 3 reps → docs/benchmarks.md',
    'npm run bench -- --quick            # 10k entries + 96 MiB, 1 rep → bench/work/quick/benchmarks.md',
    'npm run bench -- --smoke            # tiny, for CI (test/bench/smoke.test.ts) → bench/work/smoke/benchmarks.md',
    'npm run bench -- --only tar,ls      # scenarios: tar, build, s3, ls',
    'npm run bench -- --reps 5           # repetitions of every variant (default 3, slow baselines 2)',
    'npm run bench -- --reps 2 --slow-reps 1   # fewer runs of the slow seed and skopeo baselines',
    'npm run bench -- --images-only      # just build (or check) the benchmark images',
    'npm run bench -- --images rootfs-gzip,large-gzip   # only these images (fit a time budget)',
    '```',
    '',
    'Other options: `--work DIR` (default bench/work, gitignored), `--out FILE.md`, `--json FILE.json` (every sample), `--no-profile`.',
    'Needs root (the trees have other owners and file capabilities; the seed pipeline extracts as root), GNU time, squashfs-tools, squashfs-tools-ng, skopeo, docker-registry (all in .ci/apt-packages.txt); podman is installed with apt-get when missing (not in smoke mode).',
    '',
    '## Method',
    '',
    '- **Images.** Two trees, deterministic from a seed (bench/tree.ts), built once under bench/work/<scale>/ and reused while the recipe is unchanged: a rootfs-like tree (12 % directories, 8 % symlinks with a few dangling, 1 % hard links, log-normal file sizes with a median of 1.5–4 KiB and a long tail to 24 MiB, 3 % empty files, setuid files, other owners, `user.*` xattrs on 0.5 % of the files, `security.capability` on a few, an x86-64 ELF `/usr/bin/bash`, `/usr/bin/uai-ssh.sh` and a `99-slingshot-network.conf`), and a tree of 16–96 MiB files of text-like and binary-like pseudo-data (gzip ≈ 2.3:1; not zeros, not random). Each is squashed by mksquashfs with gzip, xz, zstd and lz4 (default levels, 128 KiB blocks).',
    '- **One process per run, as a user runs it.** `uai-assemble` runs as the installed command does: `MALLOC_ARENA_MAX=2 node --max-semi-space-size=4 bin/uai-assemble.js …` (what the launcher\'s shebang sets) over the compiled `dist/`, which the harness builds first (`tsc -p tsconfig.build.json`), so every time includes process start; the stage ladder shows that fixed cost separately.',
    '- **CPU ceilings.** A speed-up row also says the most it could be at the CPU the run used: the baseline\'s median over (the run\'s user + sys CPU, plus the registry\'s for a push) ÷ the cores. No run is shorter than its CPU spread perfectly over the cores, so when that ceiling is under the goal, only spending less CPU can meet it, not more parallelism.',
    '- **Wall time, peak RSS, CPU** come from GNU time (`/usr/bin/time -f "%M %U %S"`) around each process; wall time from a monotonic clock in the harness. For pipelines (seed, skopeo) the time is the sum of the steps and the peak RSS the largest step\'s.',
    '- **Alternation.** Variants compared on one image run A B A B … (N repetitions each), after one untimed read of the image into the page cache, so drift on a shared machine spreads over all of them. Medians decide; min and max show the spread. A failing variant is recorded with its stderr and not repeated.',
    '- **Fresh registry per push.** Every timed push goes to a new plain-HTTP registry on 127.0.0.1 (port from the OS), started and removed outside the timed part, so no run finds blobs an earlier one uploaded (no HEAD-skip or cross-repo mount advantage). Its storage is on /dev/shm (tmpfs) when there is one, so the disk of this VM does not weigh on any pipeline; the registry still spends its own CPU on every byte (Go 1.19 sha256 without SHA-NI, about 6 CPU-s per GiB received, measured from its /proc stat), on the same two cores as the pushing tool.',
    '- **Seed pipeline** (bench/seed-pipeline.ts), as admins run it but without the loop mount: `unsquashfs -d DIR` as root (stands in for `mount -o loop`; a loop mount would move the decompression into the tar step), `tar --xattrs --xattrs-include=\'*\' --exclude=99-slingshot-network.conf -cf X.tar -C DIR .`, `podman import --change "ENTRYPOINT /usr/bin/uai-ssh.sh"`, `podman push --tls-verify=false`. Podman runs with its own `--root/--runroot` and the first storage driver that works here (overlay, else vfs). The seed\'s and skopeo\'s scratch files (extracted tree, tar, podman storage, OCI layout) are on /dev/shm when it is a writable tmpfs with room for them, else under the work dir (see Limits). `podman push` gzips the layer, as it does for admins.',
    '- **sqfs2tar + skopeo**: `sqfs2tar IMAGE > layer.tar` into an OCI layout, `sha256sum`, config and manifest written by the harness, `skopeo copy oci:… docker://…` (which also gzips the layer for a registry). This is the best off-the-shelf pipeline with a temporary tarball.',
    '- **S3**: s3rver in a child process (test/support/s3.ts); the same `build --compression none` reads `s3://…` with `--s3-endpoint` vs the local file. `none` keeps layer compression from hiding the source.',
    '- **ls**: `uai-assemble ls IMAGE > /dev/null`; entries/s = entries `unsquashfs -l` lists / (median wall time of `ls` − median wall time of `uai-assemble --version`), i.e. the walk without the fixed process start, which the target row also shows included. `unsquashfs -lls` is shown as a reference.',
    '- **Where the time goes**: the stage ladder (start → ls → tar → build none → build gzip on the same image: each increment is one stage), the baselines\' step times, the `timings` the CLI prints with `--json`, and `node --cpu-prof` of one `tar` run on the rootfs-like gzip image and one `build --compression gzip` on the large gzip image, summarised by self time per stage (charged to the nearest src/ frame on the stack), per area and per function.',
    '',
    '## Limits',
    '',
    '- The machine the numbers come from may be shared (see the load average above); ratios from alternated runs are more trustworthy than absolute times.',
    '- The CPU profiler samples JavaScript threads only: native work on the libuv pool (zlib, fs) and in N-API codecs shows as idle time of the thread that waits for it.',
    '- The seed pipeline\'s extraction writes the tree out (as the loop mount would not), and its `podman import` copies the tar into container storage: that is the real cost of the seed procedure. With /dev/shm these writes go to RAM, which favours the baselines (an admin writes to disk); it is done because on this VM\'s ext4 every delete-and-recreate of 100k files got slower (docs/performance.md, session 3).',
    '- s3rver is a Node process on the same 2 cores, so the S3 comparison charges the server\'s CPU to the S3 build; a real S3/Ceph endpoint costs the client less CPU and adds latency instead.',
  ];
}
