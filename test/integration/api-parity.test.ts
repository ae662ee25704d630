// Upstream parity on a real controller (real SQLite file, real job processes, the real local
// builder's files): /releasetag/{tag}/json from the manifests the builder wrote, and /metrics with
// the default process metrics and the job-duration / verdict-latency histograms observed from the
// controller's events.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { LocalBuilder } from '../../src/adapters/builder/local/index.ts';
import { buildApp } from '../../src/http/app.ts';
import { cleanup, config, pullSpec, startHarness, tempDir, waitFor, writeScripts, type Harness } from '../helpers/harness.ts';

/** `name{labels} value` lines of a Prometheus exposition, for one metric name. */
function samples(text: string, name: string): { labels: Record<string, string>; value: number }[] {
  const out: { labels: Record<string, string>; value: number }[] = [];
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2];
    out.push({ labels, value: Number(m[3]) });
  }
  return out;
}
const one = (text: string, name: string, want: Record<string, string>) => {
  const found = samples(text, name).filter((s) => Object.entries(want).every(([k, v]) => s.labels[k] === v));
  assert.equal(found.length, 1, `${name} ${JSON.stringify(want)}: ${JSON.stringify(samples(text, name))}`);
  return found[0].value;
};

test('parity on a real controller: /releasetag/{tag}/json and the /metrics histograms', async () => {
  const dir = tempDir('rc-parity-');
  const s = writeScripts(dir, { pass: 'sleep 1; exit 0', fail: 'sleep 0.2; exit 1' });
  const jobsYaml = `
jobs:
  "fail-*": { command: ["bash", "${s.fail}"] }
  "*": { command: ["bash", "${s.pass}"] }
`;
  const cfg = config({
    name: '4.18.0-0.nightly',
    to: 'release',
    verify: {
      e2e: { prowJob: { name: 'blocking-e2e' } },
      flaky: { optional: true, prowJob: { name: 'fail-informing' } },
      'qe-e2e': { qe: true, prowJob: { name: 'qe-e2e' } },
    },
    qe: { gate: 'Accepted' },
  });
  let h: Harness | undefined;
  try {
    h = await startHarness({ dir, configs: [cfg], jobsYaml });
    const c = h.controller;
    const app = await buildApp({ ops: c, builder: new LocalBuilder(join(dir, 'payloads')) });
    try {
      const before = Date.now();
      await c.setInputTags(cfg.name, { cli: pullSpec('cli'), installer: pullSpec('installer') }, 'test');
      const p = await waitFor('QE verdict', () => c.state.payloads(cfg.name).find((x) => x.qe.state === 'QEAccepted'), 30_000);
      await waitFor('informing job done', () => c.state.runs(cfg.name, p.tag).some((r) => r.verifyName === 'flaky' && r.state === 'Failed'));
      const elapsed = (Date.now() - before) / 1000;

      // ---- /releasetag/{tag}/json: oc adm release info's fields, from the builder's manifests
      const r = await app.inject({ url: `/releasetag/${p.tag}/json` });
      assert.equal(r.statusCode, 200, r.body);
      assert.equal(r.headers['content-type'], 'application/json');
      const info = r.json();
      assert.deepEqual(Object.keys(info), ['image', 'digest', 'contentDigest', 'listDigest', 'config', 'metadata', 'references']);
      assert.equal(info.digest, p.digest);
      assert.equal(info.config, null, 'the local builder makes no image, so no image config');
      assert.match(info.image, /@sha256:[0-9a-f]{64}$/);
      assert.equal(info.metadata.kind, 'cincinnati-metadata-v0');
      assert.equal(info.metadata.version, p.tag);
      assert.equal(info.references.kind, 'ImageStream');
      assert.deepEqual(info.references.spec.tags.map((t: { name: string }) => t.name), ['cli', 'installer']);
      assert.equal(info.references.spec.tags[0].from.name, p.components.cli.pullSpec);
      const unknown = await app.inject({ url: '/releasetag/nope/json' });
      assert.equal(unknown.statusCode, 400);
      assert.equal(unknown.body, 'could not find tag: nope\n');
      const noBuilder = await buildApp({ ops: c });
      try {
        const nb = await noBuilder.inject({ url: `/releasetag/${p.tag}/json` });
        assert.equal(nb.statusCode, 400);
        assert.match(nb.body, /no release manifests/);
      } finally {
        await noBuilder.close();
      }

      // ---- /metrics
      const m = (await app.inject({ url: '/metrics' })).body;
      assert.ok(one(m, 'process_cpu_user_seconds_total', {}) > 0, 'default process metrics');
      assert.ok(one(m, 'nodejs_heap_size_used_bytes', {}) > 0, 'default Node.js metrics');
      const job = (kind: string, state: string, what: string) => one(m, `release_controller_job_duration_seconds_${what}`, { stream: cfg.name, kind, state });
      assert.equal(job('blocking', 'Succeeded', 'count'), 1);
      assert.ok(job('blocking', 'Succeeded', 'sum') >= 0.9 && job('blocking', 'Succeeded', 'sum') < elapsed, `blocking job took about 1 s: ${job('blocking', 'Succeeded', 'sum')}`);
      assert.equal(job('informing', 'Failed', 'count'), 1);
      assert.ok(job('informing', 'Failed', 'sum') < elapsed);
      assert.equal(job('qe', 'Succeeded', 'count'), 1);
      assert.equal(one(m, 'release_controller_job_duration_seconds_bucket', { stream: cfg.name, kind: 'blocking', state: 'Succeeded', le: '1' }), 0, 'a 1 s sleep is over the 1 s bucket');
      assert.equal(one(m, 'release_controller_job_duration_seconds_bucket', { stream: cfg.name, kind: 'blocking', state: 'Succeeded', le: '10' }), 1);
      const verdict = (kind: string, v: string, what: string) => one(m, `release_controller_verdict_latency_seconds_${what}`, { stream: cfg.name, kind, verdict: v });
      assert.equal(verdict('ci', 'Accepted', 'count'), 1);
      assert.equal(verdict('qe', 'QEAccepted', 'count'), 1);
      // creation times have whole seconds: the latency is at least the jobs' time minus that rounding
      assert.ok(verdict('ci', 'Accepted', 'sum') >= 0 && verdict('ci', 'Accepted', 'sum') <= elapsed + 1);
      assert.ok(verdict('qe', 'QEAccepted', 'sum') >= verdict('ci', 'Accepted', 'sum'), 'QE decides after CI');
      assert.ok(verdict('qe', 'QEAccepted', 'sum') >= 1, 'QE waited for a 1 s CI job and a 1 s QE job');

      // an override is a person's decision: not observed as a verdict latency
      await c.overridePhase(cfg.name, p.tag, 'Rejected', 'testing metrics', 'admin');
      const m2 = (await app.inject({ url: '/metrics' })).body;
      assert.equal(samples(m2, 'release_controller_verdict_latency_seconds_count').filter((x) => x.labels.verdict === 'Rejected').length, 0);
    } finally {
      await app.close();
    }
  } finally {
    await h?.close();
    cleanup(dir);
  }
});
