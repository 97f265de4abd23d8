export { resolveSource, parseBosSpec, type ResolvedSource, type ResolveSourceOptions, type SourcePlan } from './resolve-source.ts';
export { build, compressionConflict, UAI_ENTRYPOINT, type BuildOptions, type BuildResult } from './build.ts';
export { publish, type PublishOptions, type BuildProgress } from './publish.ts';
export { fetchUaiSsh, UAI_SSH_PATH, type UaiSshFromOptions } from './uai-ssh-from.ts';
export { openSquashfs, type BuildImage } from './open-image.ts';
export { planBuild, describePlan, type BuildPlan, type PlannedDestination } from './plan.ts';
export { checkBuildOptions, decideFromRootfs, type CheckedBuildOptions, type RootfsDecisions } from './build-options.ts';
