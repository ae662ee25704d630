// The ProwJob of a run, built as upstream builds it (upstream-behavior.md §4.4–§4.5): the name is
// the run id (already safe-named by the domain), the spec a deep copy of the periodic as Prow
// builds a periodic run, release labels and annotations, initial state `triggered`, and the
// environment rules for RELEASE_IMAGE_LATEST / _INITIAL and their architecture variants, and for
// IMAGE_FORMAT / IMAGE_<NAME> from the payload's mirror repository (JobSpec.imageFormatRepository:
// a declared IMAGE_FORMAT becomes `<mirror>:${component}`, any other declared IMAGE_<NAME>
// `<mirror>:<name lowercased, _ → ->`; nothing is appended; without a mirror — the local builder —
// they are left as the periodic has them).
// Not (yet) done: `--cluster-group`, and the `scheduling` initial state.
import { releaseImageNames } from '../../../domain/architecture.ts';
import { imageEnvValue } from '../../../domain/mirror.ts';
import type { JobSpec } from '../../../ports/executor.ts';
import type { KubeObject } from '../../kube/client.ts';
import type { Periodic } from './config.ts';

export const PROW_GROUP = 'prow.k8s.io';
export const PROW_VERSION = 'v1';
export const PROW_PLURAL = 'prowjobs';
export const LABEL_VERIFY = 'release.openshift.io/verify';
export const LABEL_PAYLOAD = 'release.openshift.io/payload';
export const LABEL_AGGREGATOR = 'release.openshift.io/aggregator';
export const LABEL_ANALYSIS = 'release.openshift.io/analysis';
export const ANNOTATION_JOB = 'prow.k8s.io/job';
export const ANNOTATION_SOURCE = 'release.openshift.io/source';
export const ANNOTATION_TAG = 'release.openshift.io/tag';
export const ANNOTATION_FROM_TAG = 'release.openshift.io/from-tag';
export const ANNOTATION_ARCH = 'release.openshift.io/architecture';
/** the controller's label telling the run kind (blocking, aggregator, analysis …), from JobSpec.labels */
const LABEL_KIND = 'release.openshift.io/kind';

export interface BuildOptions {
  /** namespace the release image streams live in, for `release.openshift.io/source` (default "ocp") */
  sourceNamespace: string;
  /** --release-architecture: amd64 (default), arm64, s390x, ppc64le, multi */
  architecture: string;
  /** namespace the job pods run in (Prow's pod_namespace, default "ci") */
  podNamespace: string;
  now: Date;
}

export class InvalidProwJob extends Error {}

interface EnvVar {
  name: string;
  value?: string;
  [k: string]: unknown;
}
interface Container {
  env?: EnvVar[];
  args?: string[];
  [k: string]: unknown;
}

/** Prow's label value rule: at most 63 characters, alphanumeric at both ends (pjutil). */
function labelValue(v: string): string {
  let s = v.length > 63 ? v.slice(0, 63) : v;
  s = s.replace(/^[^A-Za-z0-9]+/, '').replace(/[^A-Za-z0-9]+$/, '');
  return s;
}

/** The tag of a pull spec `repo:tag` ("" for a digest or no tag). */
function tagOf(pullSpec: string): string {
  if (!pullSpec || pullSpec.includes('@')) return '';
  const slash = pullSpec.lastIndexOf('/');
  const colon = pullSpec.lastIndexOf(':');
  return colon > slash ? pullSpec.slice(colon + 1) : '';
}

export function buildProwJob(spec: JobSpec, periodic: Periodic, o: BuildOptions): KubeObject {
  const kind = spec.labels[LABEL_KIND] ?? '';
  const p = structuredClone(periodic) as Record<string, unknown>;
  const upgrade = spec.initialPullSpec !== '';
  const aggregator = kind === 'aggregator';
  const analysis = kind === 'analysis';
  const jobName = aggregator ? `${spec.verifyName}-${periodic.name}` : periodic.name;

  // Prow's periodic spec (pjutil.PeriodicSpec)
  const pjSpec: Record<string, unknown> = {
    type: 'periodic',
    agent: (p.agent as string | undefined) ?? 'kubernetes',
    cluster: (p.cluster as string | undefined) ?? 'default',
    namespace: o.podNamespace,
    job: jobName,
    report: true,
  };
  for (const [from, to] of [
    ['max_concurrency', 'max_concurrency'],
    ['error_on_eviction', 'error_on_eviction'],
    ['hidden', 'hidden'],
    ['reporter_config', 'reporter_config'],
    ['rerun_auth_config', 'rerun_auth_config'],
    ['job_queue_name', 'job_queue_name'],
    ['decoration_config', 'decoration_config'],
    ['extra_refs', 'extra_refs'],
  ] as const) {
    if (p[from] !== undefined) pjSpec[to] = p[from];
  }
  if (p.decorate === true && pjSpec.decoration_config === undefined) pjSpec.decoration_config = {};
  const podSpec = p.spec as { containers?: Container[] } | undefined;
  if (podSpec) {
    pjSpec.pod_spec = podSpec;
    injectEnv(podSpec.containers ?? [], spec, upgrade, aggregator || spec.env.VERIFICATION_JOB_NAME !== undefined, o);
  }

  const labels: Record<string, string> = {
    ...((p.labels as Record<string, string> | undefined) ?? {}),
    'created-by-prow': 'true',
    'prow.k8s.io/type': 'periodic',
    'prow.k8s.io/job': labelValue(jobName),
    'capability/rce': 'rce',
    [LABEL_PAYLOAD]: spec.tag,
  };
  if (analysis) labels[LABEL_ANALYSIS] = spec.tag;
  else labels[LABEL_VERIFY] = 'true';
  if (aggregator) labels[LABEL_AGGREGATOR] = spec.tag;

  const annotations: Record<string, string> = {
    ...((p.annotations as Record<string, string> | undefined) ?? {}),
    [ANNOTATION_JOB]: jobName,
    [ANNOTATION_SOURCE]: `${o.sourceNamespace}/${spec.stream}`,
    [ANNOTATION_TAG]: spec.tag,
    [ANNOTATION_ARCH]: o.architecture,
  };
  const fromTag = upgrade ? tagOf(spec.initialPullSpec) : '';
  if (fromTag) annotations[ANNOTATION_FROM_TAG] = fromTag;

  return {
    apiVersion: `${PROW_GROUP}/${PROW_VERSION}`,
    kind: 'ProwJob',
    metadata: { name: spec.runId, labels, annotations },
    spec: pjSpec,
    status: { state: 'triggered', startTime: o.now.toISOString().replace(/\.\d{3}Z$/, 'Z') },
  };
}

/** upstream-behavior.md §4.5 "Environment", per container; the seen-flags are shared across containers. */
function injectEnv(containers: Container[], spec: JobSpec, upgrade: boolean, fillAnalysis: boolean, o: BuildOptions): void {
  let hasLatest = false;
  let hasInitial = false;
  for (const c of containers) {
    const env = (c.env ??= []);
    for (const e of env) {
      const image = imageEnvValue(e.name, spec.imageFormatRepository);
      if (image !== null) {
        e.value = image;
        delete e.valueFrom;
      } else if (e.name === 'RELEASE_IMAGE_LATEST') {
        e.value = spec.pullSpec;
        delete e.valueFrom;
        hasLatest = true;
      } else if (e.name === 'RELEASE_IMAGE_INITIAL') {
        if (!spec.initialPullSpec) throw new InvalidProwJob('the periodic declares RELEASE_IMAGE_INITIAL but this run has no upgrade source');
        e.value = spec.initialPullSpec;
        delete e.valueFrom;
        hasInitial = true;
      } else if (fillAnalysis && (e.name === 'PAYLOAD_TAG' || e.name === 'VERIFICATION_JOB_NAME' || e.name === 'JOB_START_TIME') && spec.env[e.name] !== undefined) {
        e.value = spec.env[e.name];
        delete e.valueFrom;
      }
    }
    if (!hasLatest) {
      for (const n of releaseImageNames(o.architecture, 'LATEST')) env.push({ name: n, value: spec.pullSpec });
      hasLatest = true;
    }
    if (!hasInitial) {
      // non-upgrade jobs get the tag itself as their "initial" release, so ci-operator never needs a second one
      for (const n of releaseImageNames(o.architecture, 'INITIAL')) env.push({ name: n, value: upgrade ? spec.initialPullSpec : spec.pullSpec });
      hasInitial = true;
    }
    env.push({ name: 'OPENSHIFT_INSTALL_AWS_PUBLIC_ONLY', value: 'false' });
    c.args = [...(c.args ?? []), '--multi-stage-param=RELEASE_CONTROLLER_JOB=true'];
  }
}
