// Drives the real 4.16 nightly fixture config through the real controller, a real SQLite file and
// real child processes (scripts that pass, fail, fail once then pass, and hang past their timeout).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cleanup, config, pidAlive, pullSpec, startHarness, tempDir, waitFor, writeScripts, type Harness } from '../helpers/harness.ts';

const fixture = JSON.parse(readFileSync(new URL('../fixtures/openshift-release/releases/release-ocp-4.16.json', import.meta.url), 'utf8'));

test('the 4.16 nightly fixture: accepted with a retry, rejected naming the failed job, timeouts kill the job', async () => {
  const dir = tempDir();
  const state = join(dir, 'state');
  const s = writeScripts(dir, {
    pass: 'echo "ok $BUILD_ID"; exit 0',
    // fails on the first attempt of each payload, passes on the retry
    flaky: `f="${state}-flaky-$PAYLOAD_TAG"; if [ -e "$f" ]; then echo pass; exit 0; fi; touch "$f"; echo "first attempt fails"; exit 1`,
    // fails when the test asked this payload to be rejected
    gate: `if [ -e "${state}-reject" ]; then echo "failing on purpose"; exit 3; fi; exit 0`,
    // hangs (with a grandchild) when asked to, else passes
    hang: `if [ -e "${state}-hang" ]; then sleep 300 & echo $! >> "${state}-hang-pids"; echo $$ >> "${state}-hang-pids"; wait; fi; exit 0`,
    upgrade: `echo "$RELEASE_IMAGE_INITIAL" > "${state}-initial-$BUILD_ID"; exit 0`,
  });
  const jobsYaml = `
concurrency: 4
jobs:
  "*-e2e-aws-ovn-serial": { command: ["bash", "${s.flaky}"] }
  "*-e2e-metal-ipi-ovn-bm": { command: ["bash", "${s.gate}"] }
  "*-fips-payload-scan": { command: ["bash", "${s.hang}"], timeout: 2s }
  "*upgrade*": { command: ["bash", "${s.upgrade}"] }
  "*": { command: ["bash", "${s.pass}"] }
`;
  // The fixture as published upstream, with its 4-hour creation interval shortened for the test.
  const cfg = config({ ...fixture, minCreationIntervalSeconds: 0 });
  let h: Harness | undefined;
  try {
    h = await startHarness({ dir, configs: [cfg], jobsYaml, killGraceMs: 200 });
    const c = h.controller;
    const input = '4.16-art-latest';
    const payloads = () => c.state.payloads('4.16.0-0.nightly');

    // ---- payload 1: every blocking job passes, aws-ovn-serial only on its retry
    await c.setInputTags(input, { cli: pullSpec('cli'), installer: pullSpec('installer') }, 'test');
    // the blocking minor-upgrade job takes its source from the 4.15 nightly stream, which is not
    // loaded here: the payload waits in Ready with the reason (it is never accepted untested) …
    const waiting = await waitFor('payload 1 waiting for an upgrade source', () =>
      payloads().find((p) => p.phase === 'Ready' && /waiting for an upgrade source for gcp-ovn-rt-upgrade-4\.16-minor: candidate stream 4\.15\.0-0\.nightly is not loaded/.test(p.message)),
    );
    // … until a person waives that entry
    await c.waiveJob('4.16.0-0.nightly', waiting.tag, 'gcp-ovn-rt-upgrade-4.16-minor', '4.15 nightlies are tested elsewhere', 'release-engineer');
    const p1 = await waitFor('payload 1 accepted', () => payloads().find((p) => p.phase === 'Accepted'), 30_000);
    assert.equal(p1.jobs?.waivers['gcp-ovn-rt-upgrade-4.16-minor']?.user, 'release-engineer');
    assert.match(p1.tag, /^4\.16\.0-0\.nightly-\d{4}-\d{2}-\d{2}-\d{6}$/);
    const runs1 = c.state.runs(p1.stream, p1.tag);
    const serial = runs1.filter((r) => r.verifyName === 'aws-ovn-serial').sort((a, b) => a.attempt - b.attempt);
    assert.deepEqual(serial.map((r) => [r.attempt, r.state]), [[0, 'Failed'], [1, 'Succeeded']]);
    assert.equal(serial[0].reason, 'exit code 1');
    // disabled entries never run; upgrade jobs of the stream's first payload have no source: not run, never "Succeeded"
    assert.ok(!runs1.some((r) => r.verifyName === 'install-analysis-all'));
    assert.ok(!runs1.some((r) => r.verifyName === 'aws-sdn-upgrade-4.16-micro'));
    assert.ok(!runs1.some((r) => r.verifyName === 'gcp-ovn-rt-upgrade-4.16-minor'));
    assert.equal(p1.annotations['release.openshift.io/phase'], 'Accepted');
    assert.equal(c.state.published('4.16.0-0.nightly').find((r) => r.name === '4.16')?.tag, p1.tag, 'tagRef 4.16 follows the newest accepted payload');

    // ---- payload 2: metal-ipi-ovn-bm fails twice (maxRetries 1) → Rejected naming it
    await new Promise((r) => setTimeout(r, 1100)); // tag names have one-second resolution
    const before = new Set(payloads().map((p) => p.tag));
    writeFileSync(`${state}-reject`, '');
    await c.setInputTags(input, { cli: pullSpec('cli') }, 'test');
    const p2tag = await waitFor('payload 2 created', () => payloads().find((p) => !before.has(p.tag))?.tag);
    const p2 = await waitFor('payload 2 rejected', () => payloads().find((p) => p.tag === p2tag && p.phase === 'Rejected'), 30_000);
    assert.equal(p2.reason, 'VerificationFailed');
    assert.match(p2.message, /metal-ipi-ovn-bm/);
    const bm = c.state.runs(p2.stream, p2.tag).filter((r) => r.verifyName === 'metal-ipi-ovn-bm');
    assert.equal(bm.length, 2, 'first attempt + one retry');
    // upgrade jobs of payload 2 start from payload 1 (Previous = newest accepted)
    const up = c.state.runs(p2.stream, p2.tag).find((r) => r.verifyName === 'aws-sdn-upgrade-4.16-micro')!;
    await waitFor('upgrade run finished', () => c.state.run(up.id)?.state !== 'Pending');
    assert.equal(up.upgradeFrom, p1.tag);
    assert.equal(readFileSync(`${state}-initial-${up.id}`, 'utf8').trim(), p1.pullSpec);
    // the upgrade edge p1 → p2 is recorded
    assert.ok(c.state.upgradesInto(p2.tag).some((u) => u.from === p1.tag));
    rmSync(`${state}-reject`);

    // ---- payload 3: fips-payload-scan hangs → Timeout (process group killed) → retried → Rejected
    await new Promise((r) => setTimeout(r, 1100));
    const before3 = new Set(payloads().map((p) => p.tag));
    writeFileSync(`${state}-hang`, '');
    await c.setInputTags(input, { installer: pullSpec('installer') }, 'test');
    const p3tag = await waitFor('payload 3 created', () => payloads().find((p) => !before3.has(p.tag))?.tag);
    const p3 = await waitFor('payload 3 rejected', () => payloads().find((p) => p.tag === p3tag && p.phase === 'Rejected'), 40_000);
    const fips = c.state.runs(p3.stream, p3.tag).filter((r) => r.verifyName === 'fips-scan');
    assert.deepEqual(fips.map((r) => r.reason).sort(), ['Timeout', 'Timeout']);
    assert.match(p3.message, /fips-scan/);
    if (existsSync(`${state}-hang-pids`)) {
      const pids = readFileSync(`${state}-hang-pids`, 'utf8').trim().split('\n').map(Number);
      await waitFor('hung processes gone', () => pids.every((pid) => !pidAlive(pid)));
    }

    // ---- idempotency: a pass with no external change does nothing
    await c.idle();
    const plan = await c.reconcile('4.16.0-0.nightly');
    assert.ok(plan);
    assert.equal(plan.payloads.length + plan.runs.length + plan.events.length + plan.launches.length, 0);

    // ---- events: every transition is recorded with who/what/why
    const events = await c.listEvents({ stream: '4.16.0-0.nightly', tag: p2.tag });
    assert.ok(events.some((e) => e.type === 'PhaseChanged' && e.data.phase === 'Rejected'));
    assert.ok(events.some((e) => e.type === 'JobLaunched'));
  } finally {
    await h?.close();
    cleanup(dir);
  }
});

test('garbage collection removes what upstream removes', async () => {
  const dir = tempDir();
  const s = writeScripts(dir, {
    verdict: `if [ -e "${dir}/accept" ]; then exit 0; fi; exit 1`,
  });
  const cfg = config({
    name: '4.17.0-0.nightly',
    to: 'release',
    verify: { 'e2e-aws': { prowJob: { name: 'periodic-e2e-aws' } } },
  });
  let h: Harness | undefined;
  try {
    h = await startHarness({ dir, configs: [cfg], jobsYaml: `jobs:\n  "*": { command: ["bash", "${s.verdict}"] }\n` });
    const c = h.controller;
    const created: string[] = [];
    // P1 rejected, P2 accepted, P3..P8 rejected
    for (let i = 1; i <= 8; i++) {
      if (i > 1) await new Promise((r) => setTimeout(r, 1050));
      const before = new Set(c.state.payloads(cfg.name).map((p) => p.tag));
      if (i === 2) writeFileSync(join(dir, 'accept'), '');
      await c.setInputTags('4.17.0-0.nightly', { cli: pullSpec('cli') }, 'test');
      const tag = await waitFor(`payload ${i}`, () => c.state.payloads(cfg.name).find((p) => !before.has(p.tag))?.tag);
      created.push(tag);
      await waitFor(`payload ${i} decided`, () => ['Accepted', 'Rejected'].includes(c.state.payload(cfg.name, tag)?.phase ?? ''), 15_000);
      if (i === 2) {
        assert.equal(c.state.payload(cfg.name, tag)?.phase, 'Accepted');
        rmSync(join(dir, 'accept'));
      }
    }
    await c.idle();
    const left = new Set(c.state.payloads(cfg.name).map((p) => p.tag));
    assert.ok(!left.has(created[0]), 'Rejected older than the oldest Accepted is removed');
    assert.ok(!left.has(created[2]), 'only the newest 5 Rejected stay');
    for (const t of [created[1], ...created.slice(3)]) assert.ok(left.has(t), `${t} stays`);
    // removed from the durable store too, runs included; the events stay
    const snap = await h.store.load();
    assert.ok(!snap.payloads.some((p) => p.tag === created[0]));
    assert.ok(!snap.jobRuns.some((r) => r.tag === created[0]));
    const ev = await c.listEvents({ stream: cfg.name, tag: created[0] });
    assert.ok(ev.some((e) => e.type === 'PayloadDeleted'));
  } finally {
    await h?.close();
    cleanup(dir);
  }
});
