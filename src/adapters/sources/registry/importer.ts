// Inputs from a registry (serve --inputs FILE): every tag of a repository is one component of an
// input stream, imported by digest (`repository@sha256:…`, never a moving tag) with its image
// config's provenance labels. Each input is polled every `interval`; one import is one atomic
// input change (setInputTags, replacing the input: a tag deleted in the registry leaves it), and an
// unchanged repository changes nothing. Registry
// notifications trigger an import at once. A failing import keeps the last good input and is
// retried with backoff; status() says what failed.
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { parseDuration } from '../../../domain/duration.ts';
import type { RegistryClient } from '../../registry/client.ts';
import { parseRepository } from '../../registry/reference.ts';

export interface InputSpec {
  name: string;
  host: string;
  repository: string;
  intervalMs: number;
  include: string[];
  exclude: string[];
}

/** labels kept from component images: what changelogs and image-references use */
export const PROVENANCE_LABELS = [
  'io.openshift.build.commit.id',
  'io.openshift.build.source-location',
  'io.openshift.build.commit.url',
  'io.openshift.build.commit.ref',
  'org.opencontainers.image.revision',
  'org.opencontainers.image.source',
  'vcs-ref',
  'vcs-url',
  'io.openshift.release.operator',
];

const COMPONENT = /^[a-z0-9]([-a-z0-9._]*[a-z0-9])?$/i;

function globRe(g: string): RegExp {
  return new RegExp(`^${g.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`);
}

export function parseInputsFile(text: string, file: string): InputSpec[] {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (e) {
    throw new Error(`${file}: not YAML: ${(e as Error).message}`);
  }
  const inputs = (doc as { inputs?: unknown } | null)?.inputs;
  if (!inputs || typeof inputs !== 'object' || Array.isArray(inputs)) throw new Error(`${file}: expected "inputs:" mapping input stream names to {repository, interval, include, exclude}`);
  const out: InputSpec[] = [];
  for (const [name, raw] of Object.entries(inputs as Record<string, unknown>)) {
    const at = `${file}: inputs.${name}`;
    if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new Error(`${at}: expected a mapping`);
    const v = raw as Record<string, unknown>;
    for (const k of Object.keys(v)) if (!['repository', 'interval', 'include', 'exclude'].includes(k)) throw new Error(`${at}: unknown field ${JSON.stringify(k)}`);
    if (typeof v.repository !== 'string') throw new Error(`${at}.repository: required, HOST[:PORT]/REPOSITORY`);
    let repo: { host: string; repository: string };
    try {
      repo = parseRepository(v.repository);
    } catch (e) {
      throw new Error(`${at}.repository: ${(e as Error).message}`);
    }
    let intervalMs = 60_000;
    if (v.interval !== undefined) {
      try {
        intervalMs = parseDuration(String(v.interval));
      } catch (e) {
        throw new Error(`${at}.interval: ${(e as Error).message}`);
      }
      if (intervalMs < 1000) throw new Error(`${at}.interval: must be at least 1s`);
    }
    const list = (k: 'include' | 'exclude'): string[] => {
      if (v[k] === undefined) return [];
      if (!Array.isArray(v[k]) || !(v[k] as unknown[]).every((x) => typeof x === 'string' && x)) throw new Error(`${at}.${k}: expected a list of tag names or globs`);
      return v[k] as string[];
    };
    out.push({ name, ...repo, intervalMs, include: list('include'), exclude: list('exclude') });
  }
  return out;
}

export function loadInputsFile(file: string): InputSpec[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new Error(`inputs file ${file}: ${(e as Error).message}`);
  }
  return parseInputsFile(text, file);
}

export interface ImportSink {
  /** `replace`: the input becomes exactly these tags (a tag deleted in the registry leaves it) */
  setInputTags(input: string, tags: Record<string, string>, user: string, labels: Record<string, Record<string, string>>, opts: { replace: true }): Promise<void>;
}

export interface InputStatus {
  input: string;
  repository: string;
  lastImport: string | null;
  components: number;
  error: string | null;
  errorSince: string | null;
  failures: number;
}

interface Slot {
  spec: InputSpec;
  timer: NodeJS.Timeout | null;
  running: Promise<void> | null;
  again: boolean;
  status: InputStatus;
}

export class RegistryImporter {
  private readonly slots: Slot[];
  /** manifest digest → labels, so an unchanged tag costs one manifest GET */
  private readonly labelCache = new Map<string, Record<string, string>>();
  private stopped = false;

  constructor(
    private readonly o: {
      client: RegistryClient;
      sink: ImportSink;
      inputs: InputSpec[];
      log?: { info(o: object, m: string): void; warn(o: object, m: string): void };
      /** first retry after a failed import, doubled up to the interval; default 1 s */
      retryMs?: number;
    },
  ) {
    this.slots = o.inputs.map((spec) => ({
      spec,
      timer: null,
      running: null,
      again: false,
      status: { input: spec.name, repository: `${spec.host}/${spec.repository}`, lastImport: null, components: 0, error: null, errorSince: null, failures: 0 },
    }));
  }

  start(): void {
    for (const s of this.slots) this.schedule(s, 0);
  }

  stop(): void {
    this.stopped = true;
    for (const s of this.slots) if (s.timer) clearTimeout(s.timer);
  }

  status(): InputStatus[] {
    return this.slots.map((s) => ({ ...s.status }));
  }

  /** a one-line summary of failing imports, null when all are fine */
  problem(): string | null {
    const bad = this.slots.filter((s) => s.status.error);
    return bad.length ? bad.map((s) => `input ${s.spec.name}: ${s.status.error}`).join('; ') : null;
  }

  /** `host/repository` when `input` is imported from a registry (its tags then come only from there), else null */
  polled(input: string): string | null {
    return this.slots.find((s) => s.spec.name === input)?.status.repository ?? null;
  }

  /** imports every input bound to `host/repository` now (registry notifications); returns their names */
  trigger(host: string | null, repository: string): string[] {
    const hit = this.slots.filter((s) => s.spec.repository === repository && (!host || s.spec.host === host));
    for (const s of hit) this.schedule(s, 0);
    return hit.map((s) => s.spec.name);
  }

  /** runs one import of `input` now and waits for it (tests, CLI) */
  async importNow(input: string): Promise<void> {
    const s = this.slots.find((x) => x.spec.name === input);
    if (!s) throw new Error(`no input ${input} in the inputs file`);
    while (s.running) await s.running;
    if (s.timer) clearTimeout(s.timer);
    s.timer = null;
    await this.launch(s);
  }

  private launch(s: Slot): Promise<void> {
    s.running = this.run(s).finally(() => {
      s.running = null;
      if (s.again) {
        s.again = false;
        this.schedule(s, 0);
      }
    });
    return s.running;
  }

  private schedule(s: Slot, ms: number): void {
    if (this.stopped) return;
    if (s.running) {
      s.again = true;
      return;
    }
    if (s.timer) clearTimeout(s.timer);
    s.timer = setTimeout(() => {
      s.timer = null;
      void this.launch(s);
    }, ms);
    s.timer.unref();
  }

  private async run(s: Slot): Promise<void> {
    let next = s.spec.intervalMs;
    try {
      await this.importOnce(s);
      s.status = { ...s.status, lastImport: new Date().toISOString(), error: null, errorSince: null, failures: 0 };
    } catch (e) {
      const msg = (e as Error).message;
      s.status = { ...s.status, error: msg, errorSince: s.status.errorSince ?? new Date().toISOString(), failures: s.status.failures + 1 };
      next = Math.min(s.spec.intervalMs, (this.o.retryMs ?? 1000) * 2 ** Math.min(s.status.failures - 1, 10));
      this.o.log?.warn({ input: s.spec.name, failures: s.status.failures }, `importing input ${s.spec.name} from ${s.status.repository} failed (the last good input is kept; retrying in ${next} ms): ${msg}`);
    }
    if (!this.stopped && !s.again) this.schedule(s, next);
  }

  private async importOnce(s: Slot): Promise<void> {
    const { host, repository, include, exclude } = s.spec;
    const inc = include.map(globRe);
    const exc = exclude.map(globRe);
    const all = await this.o.client.listTags(host, repository);
    const names = all.filter((t) => COMPONENT.test(t) && (inc.length === 0 || inc.some((r) => r.test(t))) && !exc.some((r) => r.test(t))).sort();
    if (names.length === 0) throw new Error(`${host}/${repository}: no tags${include.length || exclude.length ? ' match include/exclude' : ''}`);
    const tags: Record<string, string> = {};
    const labels: Record<string, Record<string, string>> = {};
    for (const t of names) {
      const m = await this.o.client.getManifest(host, repository, t);
      tags[t] = `${host}/${repository}@${m.digest}`;
      let l = this.labelCache.get(m.digest);
      if (!l) {
        l = await this.labelsOf(host, repository, t, m.json);
        this.labelCache.set(m.digest, l);
      }
      labels[t] = l;
    }
    await this.o.sink.setInputTags(s.spec.name, tags, 'registry-import', labels, { replace: true });
    s.status = { ...s.status, components: names.length };
  }

  private async labelsOf(host: string, repository: string, tag: string, json: { config?: { digest: string }; manifests?: { digest: string; platform?: { os?: string; architecture?: string } }[] }): Promise<Record<string, string>> {
    let cfgDigest = json.config?.digest;
    if (!cfgDigest && json.manifests?.length) {
      // an index: the linux/amd64 image's labels (or the first image's)
      const pick = json.manifests.find((d) => d.platform?.os === 'linux' && d.platform?.architecture === 'amd64') ?? json.manifests[0];
      const inner = await this.o.client.getManifest(host, repository, pick.digest);
      cfgDigest = inner.json.config?.digest;
    }
    if (!cfgDigest) return {};
    const raw = (await this.o.client.getBlob(host, repository, cfgDigest)).toString('utf8');
    let cfg: { config?: { Labels?: Record<string, string> | null } } | null;
    try {
      cfg = JSON.parse(raw) as typeof cfg;
    } catch (e) {
      throw new Error(`${host}/${repository}: tag ${tag}: image config ${cfgDigest} is not JSON: ${(e as Error).message}`);
    }
    const all = cfg?.config?.Labels ?? {};
    const out: Record<string, string> = {};
    for (const k of PROVENANCE_LABELS) if (typeof all[k] === 'string') out[k] = all[k];
    return out;
  }
}
