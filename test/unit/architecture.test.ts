// Release architecture rules (src/domain/architecture.ts): flag values, job environment names,
// stream name suffixes.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { allReleaseImageNames, archStreamName, parseArchitecture, releaseImageNames, streamArchitecture } from '../../src/domain/architecture.ts';
import { streamArchitecture as fromGraph } from '../../src/domain/graph.ts';

test('parseArchitecture: the five upstream values, exactly', () => {
  const cases: [string, string | null][] = [
    ['amd64', 'amd64'], ['arm64', 'arm64'], ['ppc64le', 'ppc64le'], ['s390x', 's390x'], ['multi', 'multi'],
    ['', null], ['AMD64', null], ['x86_64', null], ['aarch64', null], [' arm64', null], ['arm', null],
  ];
  for (const [s, want] of cases) assert.equal(parseArchitecture(s), want, JSON.stringify(s));
});

test('releaseImageNames: upstream’s environment names per architecture', () => {
  const cases: [string, string[], string[]][] = [
    ['amd64', ['RELEASE_IMAGE_LATEST'], ['RELEASE_IMAGE_INITIAL']],
    ['arm64', ['RELEASE_IMAGE_ARM64_LATEST'], ['RELEASE_IMAGE_ARM64_INITIAL']],
    ['ppc64le', ['RELEASE_IMAGE_PPC64LE_LATEST'], ['RELEASE_IMAGE_PPC64LE_INITIAL']],
    ['s390x', ['RELEASE_IMAGE_S390X_LATEST'], ['RELEASE_IMAGE_S390X_INITIAL']],
    ['multi', ['RELEASE_IMAGE_LATEST', 'RELEASE_IMAGE_MULTI_LATEST'], ['RELEASE_IMAGE_INITIAL', 'RELEASE_IMAGE_MULTI_INITIAL']],
    ['', ['RELEASE_IMAGE_LATEST'], ['RELEASE_IMAGE_INITIAL']], // upstream's default branch
  ];
  for (const [arch, latest, initial] of cases) {
    assert.deepEqual(releaseImageNames(arch, 'LATEST'), latest, arch);
    assert.deepEqual(releaseImageNames(arch, 'INITIAL'), initial, arch);
  }
  assert.deepEqual(allReleaseImageNames('INITIAL').sort(), [
    'RELEASE_IMAGE_ARM64_INITIAL', 'RELEASE_IMAGE_INITIAL', 'RELEASE_IMAGE_MULTI_INITIAL', 'RELEASE_IMAGE_PPC64LE_INITIAL', 'RELEASE_IMAGE_S390X_INITIAL',
  ]);
});

test('streamArchitecture and archStreamName: the -<arch> suffix, none for amd64', () => {
  const cases: [string, string][] = [
    ['4-stable', 'amd64'], ['4-stable-arm64', 'arm64'], ['4-stable-multi', 'multi'], ['4-stable-ppc64le', 'ppc64le'], ['4-stable-s390x', 's390x'],
    ['4.16.0-0.nightly', 'amd64'], ['4.16.0-0.nightly-arm64', 'arm64'], ['4.16.0-0.ci-multi', 'multi'],
    ['4.16.0-0.nightly-amd64', 'amd64'], ['arm64', 'amd64'], ['4.16.0-0.nightly-arm64-priv', 'amd64'],
  ];
  for (const [name, want] of cases) {
    assert.equal(streamArchitecture(name), want, name);
    assert.equal(fromGraph(name), want, `${name} (graph.ts re-export)`);
  }
  const names: [string, string, string][] = [
    ['4-stable', 'amd64', '4-stable'], ['4-stable', 'arm64', '4-stable-arm64'], ['4-stable', 'multi', '4-stable-multi'],
    ['4.16.0-0.nightly', 's390x', '4.16.0-0.nightly-s390x'], ['4.16.0-0.nightly', 'ppc64le', '4.16.0-0.nightly-ppc64le'],
  ];
  for (const [base, arch, want] of names) {
    assert.equal(archStreamName(base, arch), want, `${base} ${arch}`);
    assert.equal(streamArchitecture(archStreamName(base, arch)), arch, 'round trip');
  }
});
