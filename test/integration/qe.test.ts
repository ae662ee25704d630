// QE jobs end to end: real controller, real SQLite file, real child processes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cleanup, config, pidAlive, pullSpec, startHarness, tempDir, waitFor, writeScripts, type Harness } from '../helpers/harness.ts';

test('QE jobs start after the informing jobs, label the payload, reject on failure and on timeout', async () => {
  const dir = tempDir();
  const st = join(dir, 'st');
  // every script records when its process started and ended (ns), so ordering is checked on real processes
  const rec = `echo "start $(date +%s%N)" >> "${st}-times-$JOB_NAME-$PAYLOAD_TAG"; trap 'echo "end $(date +%s%N)" >> "${st}-times-$JOB_NAME-$PAYLOAD_TAG"' EXIT`;
  const s = writeScripts(dir, {
    blocking: `${rec}\nsleep 0.3; exit 0`,
    informing: `${rec}\nsleep 0.8; exit 0`,
    qe: `${rec}\nif [ -e "${st}-qe-fail" ]; then exit 1; fi; if [ -e "${st}-qe-hang" ]; then echo $$ >> "${st}-hang-pids"; sleep 300 & echo $! >> "${st}-hang-pids"; wait; fi; exit 0`,
    flaky: `${rec}\nf="${st}-flaky-$PAYLOAD_TAG"; if [ -e "$f" ]; then exit 0; fi; touch "$f"; exit 1`,
    upgrade: `${rec}\necho "$RELEASE_IMAGE_INITIAL" > "${st}-initial-$PAYLOAD_TAG"; exit 0`,
  });
  const jobsYaml = `
jobs:
  "blocking-*": { command: ["bash", "${s.blocking}"] }
  "informing-*": { command: ["bash", "${s.informing}"] }
  "qe-flaky": { command: ["bash", "${s.flaky}"] }
  "qe-upgrade": { command: ["bash", "${s.upgrade}"] }
  "qe-*": { command: ["bash", "${s.qe}"], timeout: 1m }
`;
  const cfg = config({
    name: '4.18.0-0.nightly',
    to: 'release',
    publish: { qe: { tagRef: { name: '4.18-qe-accepted' }, on: 'QEAccepted' }, tag: { tagRef: { name: '4.18' } } },
    verify: {
      'e2e-aws': { prowJob: { name: 'blocking-e2e-aws' } },
      'e2e-gcp': { prowJob: { name: 'blocking-e2e-gcp' } },
      'metal-ipi': { optional: true, prowJob: { name: 'informing-metal' } },
      'vsphere': { optional: true, prowJob: { name: 'informing-vsphere' } },
      'qe-e2e': { qe: true, prowJob: { name: 'qe-e2e' } },
      'qe-retry': { qe: true, maxRetries: 1, prowJob: { name: 'qe-flaky' } },
      'qe-upgrade': { qe: true, optional: true, upgrade: true, prowJob: { name: 'qe-upgrade' } },
    },
    qe: { gate: 'InformingPassed', timeout: '5s' },
  });
  const name = cfg.name;
  let h: Harness | undefined;
  try {
    h = await startHarness({ dir, configs: [cfg], jobsYaml, killGraceMs: 200 });
    const c = h.controller;
    const times = (job: string, tag: string) => {
      const f = `${st}-times-${job}-${tag}`;
      const lines = existsSync(f) ? readFileSync(f, 'utf8').trim().split('\n') : [];
      return { start: lines.filter((l) => l.startsWith('start')).map((l) => BigInt(l.split(' ')[1])), end: lines.filter((l) => l.startsWith('end')).map((l) => BigInt(l.split(' ')[1])) };
    };

    // ---- payload 1: QEAccepted
    await c.setInputTags(name, { cli: pullSpec('cli') }, 'test');
    const p1 = await waitFor('payload 1 QE verdict', () => c.state.payloads(name).find((p) => p.qe.state === 'QEAccepted' || p.qe.state === 'QERejected'), 30_000);
    assert.equal(p1.phase, 'Accepted');
    assert.equal(p1.qe.state, "QEAccepted", JSON.stringify(p1.qe) + JSON.stringify(c.state.runs(name, p1.tag).map((r) => [r.verifyName, r.kind, r.state, r.reason])));
    // order: no QE process started before the last informing job ended
    const informingEnd = [...times('informing-metal', p1.tag).end, ...times('informing-vsphere', p1.tag).end];
    const qeStart = [...times('qe-e2e', p1.tag).start, ...times('qe-flaky', p1.tag).start];
    assert.equal(informingEnd.length, 2);
    assert.ok(qeStart.length >= 2);
    const lastInforming = informingEnd.reduce((a, b) => (a > b ? a : b));
    for (const t of qeStart) assert.ok(t >= lastInforming, 'a QE job started before the informing jobs ended');
    // the flaky QE job was retried once; the upgrade QE job had no source yet
    const retry = c.state.runs(name, p1.tag).filter((r) => r.kind === 'qe' && r.verifyName === 'qe-retry');
    assert.deepEqual(retry.map((r) => r.state).sort(), ['Failed', 'Succeeded']);
    // durable QE state and annotations
    assert.ok(p1.qe.startedAt && p1.qe.deadline);
    assert.equal(p1.annotations['release.openshift.io/qe-phase'], 'QEAccepted');
    const verify = JSON.parse(p1.annotations['release.openshift.io/qe-verify']);
    assert.deepEqual(Object.keys(verify).sort(), ['qe-e2e', 'qe-retry', 'qe-upgrade']);
    assert.equal(verify['qe-retry'].state, 'Succeeded');
    assert.equal(verify['qe-retry'].retries, 1);
    await waitFor('publish on QEAccepted', () => c.state.published(name).find((r) => r.name === '4.18-qe-accepted')?.tag === p1.tag);

    // ---- payload 2: a required QE job fails → QERejected; still Accepted by CI
    await new Promise((r) => setTimeout(r, 1100));
    writeFileSync(`${st}-qe-fail`, '');
    const before2 = new Set(c.state.payloads(name).map((p) => p.tag));
    await c.setInputTags(name, { cli: pullSpec('cli') }, 'test');
    const p2 = await waitFor('payload 2 QE verdict', () => c.state.payloads(name).find((p) => !before2.has(p.tag) && (p.qe.state === 'QERejected' || p.qe.state === 'QEAccepted')), 30_000);
    assert.equal(p2.phase, 'Accepted', 'failing QE jobs never reject a payload');
    assert.equal(p2.qe.state, 'QERejected');
    assert.equal(p2.qe.reason, 'QEJobsFailed');
    assert.match(p2.qe.message, /qe-e2e/);
    // the upgrade QE job of payload 2 was launched to upgrade from payload 1; the verdict ended it
    // if it was still running (a QE verdict cancels the QE runs still going)
    const up2 = c.state.runs(name, p2.tag).find((r) => r.kind === 'qe' && r.verifyName === 'qe-upgrade')!;
    assert.equal(up2.upgradeFrom, p1.tag);
    assert.equal(up2.upgradeFromPullSpec, p1.pullSpec);
    const up2done = await waitFor('upgrade QE run ended', () => (c.state.run(up2.id)?.state !== 'Pending' ? c.state.run(up2.id) : null));
    if (up2done.state === 'Succeeded') assert.equal(readFileSync(`${st}-initial-${p2.tag}`, 'utf8').trim(), p1.pullSpec);
    else assert.deepEqual([up2done.state, up2done.reason], ['Aborted', 'QEVerdict']);
    // publish on QEAccepted still points at payload 1, the plain tag at payload 2
    await c.idle();
    assert.equal(c.state.published(name).find((r) => r.name === '4.18-qe-accepted')?.tag, p1.tag);
    assert.equal(c.state.published(name).find((r) => r.name === '4.18')?.tag, p2.tag);
    rmSync(`${st}-qe-fail`);

    // ---- payload 3: a QE job hangs → QERejected / QETimeout, the hung process is gone
    await new Promise((r) => setTimeout(r, 1100));
    writeFileSync(`${st}-qe-hang`, '');
    const before3 = new Set(c.state.payloads(name).map((p) => p.tag));
    await c.setInputTags(name, { cli: pullSpec('cli') }, 'test');
    const p3 = await waitFor('payload 3 QE verdict', () => c.state.payloads(name).find((p) => !before3.has(p.tag) && (p.qe.state === 'QERejected' || p.qe.state === 'QEAccepted')), 30_000);
    assert.equal(p3.qe.state, 'QERejected');
    assert.equal(p3.qe.reason, 'QETimeout');
    const hung = await waitFor('hung run aborted', () => c.state.runs(name, p3.tag).find((r) => r.verifyName === 'qe-e2e' && r.state === 'Aborted'));
    assert.equal(hung.reason, 'QETimeout');
    const pids = readFileSync(`${st}-hang-pids`, 'utf8').trim().split('\n').map(Number);
    await waitFor('hung processes gone', () => pids.every((pid) => !pidAlive(pid)));
    rmSync(`${st}-qe-hang`);

    // ---- re-run the QE jobs of payload 3: fresh time limit, new attempts, audited
    await c.qeRerun(name, p3.tag, 'infra fixed', 'qe-lead');
    const p3b = await waitFor('payload 3 re-run verdict', () => {
      const p = c.state.payload(name, p3.tag);
      return p && p.qe.generation === 1 && (p.qe.state === 'QEAccepted' || p.qe.state === 'QERejected') ? p : null;
    }, 30_000);
    assert.equal(p3b.qe.state, 'QEAccepted');
    assert.notEqual(p3b.qe.startedAt, p3.qe.startedAt);
    const events = await c.listEvents({ stream: name, tag: p3.tag });
    assert.ok(events.some((e) => e.type === 'QERerun' && e.actor === 'qe-lead'));

    // ---- an override wins until a re-run
    await c.qeVerdict(name, p3.tag, 'QERejected', 'manual check found a regression', 'qe-lead');
    await c.idle();
    assert.equal(c.state.payload(name, p3.tag)!.qe.state, 'QERejected');
    assert.equal(c.state.payload(name, p3.tag)!.qe.override?.user, 'qe-lead');
    assert.ok(readdirSync(join(dir, 'runs')).length > 0);
  } finally {
    await h?.close();
    cleanup(dir);
  }
});

test('a stream without QE jobs keeps the QE state empty', async () => {
  const dir = tempDir();
  const s = writeScripts(dir, { pass: 'exit 0' });
  const cfg = config({ name: '4.19.0-0.okd', to: 'release', verify: { 'e2e-aws': { prowJob: { name: 'e2e' } } } });
  let h: Harness | undefined;
  try {
    h = await startHarness({ dir, configs: [cfg], jobsYaml: `jobs:\n  "*": { command: ["bash", "${s.pass}"] }\n` });
    await h.controller.setInputTags(cfg.name, { cli: pullSpec('cli') }, 'test');
    const p = await waitFor('accepted', () => h!.controller.state.payloads(cfg.name).find((x) => x.phase === 'Accepted'));
    assert.equal(p.qe.state, '');
    assert.equal(p.annotations['release.openshift.io/qe-phase'], undefined);
  } finally {
    await h?.close();
    cleanup(dir);
  }
});
