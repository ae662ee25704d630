// serve's registry wiring (DESIGN.md §15): --builder registry, --registry-auth, --registry-insecure,
// --registry-gc, --build-timeout and --inputs, kept here so serve.ts only calls it.
import { Gauge, type Registry } from 'prom-client';
import { RegistryBuilder } from '../builder/registry/index.ts';
import { loadInputsFile, RegistryImporter, type ImportSink } from '../sources/registry/importer.ts';
import { loadAuthFile, normalizeHost } from './auth.ts';
import { RegistryClient } from './client.ts';
import { formatReleaseInfo, releaseInfo } from './info.ts';
import { parseImageRef, parseRepository } from './reference.ts';
import { parseDuration } from '../../domain/duration.ts';
import { isStable, targetRepositoryName } from '../../domain/config/schema.ts';
import { mirrorsInUse, mirrorStreamName } from '../../domain/mirror.ts';
import type { WorldView } from '../../domain/world.ts';

export interface RegistrySetupOptions {
  /** local (default) or registry */
  builder?: string;
  /** containers/Docker auth file */
  auth?: string;
  /** comma-separated hosts spoken to over plain HTTP */
  insecure?: string;
  gc?: boolean;
  /** Go duration, default 10m */
  buildTimeout?: string;
  /** inputs file (YAML) */
  inputs?: string;
}

interface Log {
  info(o: object, m: string): void;
  warn(o: object, m: string): void;
}

/** What the controller's state answers: the stream of a payload tag, a stream's target repository. */
export interface RegistryStateView {
  repositoryOf(stream: string): string | null;
  streamOfTag(tag: string): string | null;
  /** the pull spec of a live payload tag (an adopted release lives where other tooling pushed it) */
  pullSpecOfTag(tag: string): string | null;
  repositories(): string[];
  /** the mirror repository of a payload tag, live or gone: of the stream whose name the tag starts with (the longest) */
  mirrorOfTag(tag: string): string | null;
}

export interface RegistrySetup {
  builder: RegistryBuilder | null;
  importer: RegistryImporter | null;
  /** starts importing into `sink` (the controller) */
  start(sink: ImportSink): void;
  stop(): void;
  degraded(): string | null;
  /** pins a pull spec to its digest through the registry (null without a registry client) */
  resolvePullSpec: ((pullSpec: string) => Promise<string>) | null;
  /** registry import and build gauges on the app's /metrics registry */
  bindMetrics(registry: Registry): void;
}

/** Validates the options (errors name the flag) and builds what they ask for; nothing starts yet. */
export function setupRegistry(o: RegistrySetupOptions & { registry?: string }, view: () => RegistryStateView, log: Log): RegistrySetup {
  const kind = o.builder ?? 'local';
  if (kind !== 'local' && kind !== 'registry') throw new Error(`--builder ${kind}: must be local or registry`);
  const wantsClient = kind === 'registry' || Boolean(o.inputs);
  if (!wantsClient) return { builder: null, importer: null, start() {}, stop() {}, degraded: () => null, bindMetrics() {}, resolvePullSpec: null };
  if (kind === 'registry') {
    try {
      parseRepository(o.registry ?? '');
    } catch (e) {
      throw new Error(`--registry ${o.registry}: with --builder registry it must be HOST[:PORT]/NAMESPACE: ${(e as Error).message}`);
    }
  }
  let buildTimeoutMs = 600_000;
  if (o.buildTimeout !== undefined) {
    try {
      buildTimeoutMs = parseDuration(o.buildTimeout);
    } catch (e) {
      throw new Error(`--build-timeout ${o.buildTimeout}: ${(e as Error).message}`);
    }
  }
  const auth = o.auth ? loadAuthFile(o.auth) : undefined;
  const insecure = (o.insecure ?? '')
    .split(',')
    .map((h) => h.trim())
    .filter(Boolean);
  const client = new RegistryClient({ auth, insecure });
  const builder =
    kind === 'registry'
      ? new RegistryBuilder({
          client,
          gc: Boolean(o.gc),
          buildTimeoutMs,
          repositoryOf: (s) => view().repositoryOf(s),
          streamOfTag: (t) => view().streamOfTag(t),
          pullSpecOfTag: (t) => view().pullSpecOfTag(t),
          repositories: () => view().repositories(),
          mirrorOfTag: (t) => view().mirrorOfTag(t),
          credentialsNamed: (name) => auth?.get(normalizeHost(name)) ?? null,
          log,
        })
      : null;
  const inputs = o.inputs ? loadInputsFile(o.inputs) : [];
  let importer: RegistryImporter | null = null;
  return {
    builder,
    get importer() {
      return importer;
    },
    start(sink: ImportSink) {
      if (inputs.length === 0) return;
      importer = new RegistryImporter({ client, sink, inputs, log });
      importer.start();
    },
    stop() {
      importer?.stop();
    },
    degraded() {
      const p = [importer?.problem(), builder?.problem()].filter(Boolean);
      return p.length ? p.join('; ') : null;
    },
    resolvePullSpec: (spec) => resolvePullSpec(client, spec),
    bindMetrics(registry: Registry) {
      const status = () => importer?.status() ?? [];
      new Gauge({
        name: 'release_controller_registry_import_failures',
        help: 'consecutive failed imports of an input from its registry repository (0: the last import succeeded)',
        labelNames: ['input', 'repository'],
        registers: [registry],
        collect() {
          this.reset();
          for (const s of status()) this.set({ input: s.input, repository: s.repository }, s.failures);
        },
      });
      new Gauge({
        name: 'release_controller_registry_import_last_success_timestamp_seconds',
        help: 'when an input was last imported from its registry repository (absent: never)',
        labelNames: ['input'],
        registers: [registry],
        collect() {
          this.reset();
          for (const s of status()) if (s.lastImport) this.set({ input: s.input }, Date.parse(s.lastImport) / 1000);
        },
      });
      new Gauge({
        name: 'release_controller_registry_build_retrying',
        help: '1 while a payload build is retrying a registry error',
        registers: [registry],
        collect() {
          this.set(builder?.problem() ? 1 : 0);
        },
      });
    },
  };
}

/** The view the builder needs, from the controller's state: payload tag → stream → `<registry>/<to>`. */
export function stateView(state: WorldView, registry: string): RegistryStateView {
  return {
    repositoryOf: (s) => {
      const rec = state.stream(s);
      return rec ? `${registry}/${targetRepositoryName(rec.config)}` : null;
    },
    streamOfTag: (t) => state.findTag(t)?.stream ?? null,
    pullSpecOfTag: (t) => state.findTag(t)?.pullSpec || null,
    repositories: () => state.streams().map((s) => `${registry}/${targetRepositoryName(s.config)}`),
    mirrorOfTag: (t) => {
      const live = state.findTag(t);
      if (live) return live.mirrorRepository || null;
      const rec = state.streams().filter((s) => !isStable(s.config) && t.startsWith(`${s.name}-`)).sort((a, b) => b.name.length - a.name.length)[0];
      if (!rec) return null;
      const mirror = `${registry}/${mirrorStreamName(rec.config, t)}`;
      // streams sharing a mirror prefix name their payloads' mirrors alike within one second: a live one keeps it
      return mirrorsInUse(state).has(mirror) ? null : mirror;
    },
  };
}

/** `host/repo[:tag][@digest]` → `host/repo@digest`, asking the registry for a tag's digest. */
export async function resolvePullSpec(client: RegistryClient, spec: string): Promise<string> {
  const r = parseImageRef(spec);
  if (r.digest) return `${r.host}/${r.repository}@${r.digest}`;
  const tag = r.tag ?? 'latest';
  let head: { digest: string } | null;
  try {
    head = await client.headManifest(r.host, r.repository, tag);
  } catch (e) {
    throw new Error(`${spec} has no digest and cannot be resolved to one: ${(e as Error).message}`);
  }
  if (!head) throw new Error(`${spec} has no digest and is not in the registry`);
  return `${r.host}/${r.repository}@${head.digest}`;
}

/** `release-controller release info PULLSPEC [-o json]` */
export async function releaseInfoCommand(pullSpec: string, o: { registryAuth?: string; registryInsecure?: string; output?: string }): Promise<string> {
  const client = new RegistryClient({
    auth: o.registryAuth ? loadAuthFile(o.registryAuth) : undefined,
    insecure: (o.registryInsecure ?? '').split(',').map((h) => h.trim()).filter(Boolean),
  });
  const info = await releaseInfo(client, pullSpec);
  return o.output === 'json' ? JSON.stringify(info, null, 2) : formatReleaseInfo(info);
}
