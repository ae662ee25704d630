// Release architectures (`serve --release-architecture`, upstream-behavior.md §4.5, §5.2, §6.14).
// Upstream runs one controller per architecture; its effects, as pure rules:
//   - the environment names a job's release images arrive under (RELEASE_IMAGE_LATEST / _INITIAL
//     for amd64, RELEASE_IMAGE_<ARCH>_LATEST / _INITIAL otherwise, both spellings for multi);
//   - a stream's architecture is its `-<arch>` name suffix (4-stable-arm64,
//     4.16.0-0.nightly-arm64), none meaning amd64; archStreamName is the inverse.
// Pure: no I/O.

export const ARCHITECTURES = ['amd64', 'arm64', 'ppc64le', 's390x', 'multi'] as const;
export type Architecture = (typeof ARCHITECTURES)[number];
export const DEFAULT_ARCHITECTURE: Architecture = 'amd64';

/** The architecture a string names, or null when it is none of ARCHITECTURES (exact, lower case). */
export function parseArchitecture(s: string): Architecture | null {
  return (ARCHITECTURES as readonly string[]).includes(s) ? (s as Architecture) : null;
}

/**
 * Environment variable names a job gets its release image under, by architecture: `LATEST` the
 * payload under test, `INITIAL` the upgrade source. Upstream's spelling; multi sets both the plain
 * and the MULTI name.
 */
export function releaseImageNames(arch: string, which: 'LATEST' | 'INITIAL'): string[] {
  switch (arch) {
    case 'arm64':
    case 's390x':
    case 'ppc64le':
      return [`RELEASE_IMAGE_${arch.toUpperCase()}_${which}`];
    case 'multi':
      return [`RELEASE_IMAGE_${which}`, `RELEASE_IMAGE_MULTI_${which}`];
    default:
      return [`RELEASE_IMAGE_${which}`];
  }
}

/** Every release-image variable name of any architecture (to clear those a run must not get). */
export function allReleaseImageNames(which: 'LATEST' | 'INITIAL'): string[] {
  return [...new Set(ARCHITECTURES.flatMap((a) => releaseImageNames(a, which)))];
}

/** The architecture a stream's payloads are built for: upstream's `-<arch>` name suffix, else amd64. */
export function streamArchitecture(streamName: string): Architecture {
  for (const a of ARCHITECTURES) if (a !== 'amd64' && streamName.endsWith(`-${a}`)) return a;
  return 'amd64';
}

/** The name of `base`'s counterpart stream for an architecture: `base` for amd64, else `base-<arch>`. */
export function archStreamName(base: string, arch: string): string {
  return arch === 'amd64' ? base : `${base}-${arch}`;
}
