#!/usr/bin/env -S MALLOC_ARENA_MAX=2 node --max-semi-space-size=4
// --max-semi-space-size=4: a smaller young generation keeps peak RSS ~30 MB lower while
// streaming large layers, at equal CPU. MALLOC_ARENA_MAX=2: glibc gives the libuv pool
// threads (zlib, deflate, fs) two malloc arenas to share instead of one each; on the S3
// build of rootfs 12-18 MiB less peak RSS at equal time, elsewhere within noise
// (docs/performance.md, session 3).
// The installed command: runs the compiled CLI (npm run build makes dist/).
import { main } from '../dist/cli/main.js';

process.exitCode = await main(process.argv.slice(2));
