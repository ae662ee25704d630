// The console in a real browser (Debian chromium via playwright-core) against the real stack:
// SQLite store, controller, local executor running bash scripts, local builder, the HTTP app with
// the console pages. Asserts what a user sees, live updates without reload, actions through the UI
// and that a hostile stream message stays text.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, type Page } from 'playwright-core';
import { CHROMIUM, SHOTS, launchBrowser, watchPage } from '../helpers/browser.ts';
import { buildApp } from '../../src/http/app.ts';
import { createPages } from '../../src/http/pages/index.ts';
import { cleanup, config, pullSpec, startHarness, tempDir, waitFor, writeScripts, type Harness } from '../helpers/harness.ts';

const QE_TOKEN = 'qe-token-0123456789abcdef';
const CI_TOKEN = 'ci-token-0123456789abcdef';
const XSS = `<script>alert('xss')</script><img src=x onerror="alert('img')">`;

test('console in a browser: overview, stream and release pages, live QE label, QE override through the UI, safe message', { skip: !existsSync(CHROMIUM) && 'chromium not installed' }, async () => {
  const dir = tempDir('rc-console-e2e-');
  const gate = join(dir, 'qe-release');
  const s = writeScripts(dir, {
    ok: 'echo "running $JOB_NAME for $PAYLOAD_TAG"; sleep 0.2; echo "all tests passed"; exit 0',
    // QE jobs keep running until the test lets them go, so the QE state stays QERunning meanwhile
    qe: `echo "qe $JOB_NAME on $PAYLOAD_TAG"; while [ ! -e "${gate}" ]; do sleep 0.1; done; exit 0`,
    // fails on its first run for a payload, passes when retried
    flaky: `f="${dir}/flaky-$PAYLOAD_TAG"; if [ -e "$f" ]; then echo "passed on retry"; exit 0; fi; touch "$f"; echo "flaked"; exit 1`,
  });
  const jobsYaml = `
jobs:
  "qe-*": { command: ["bash", "${s.qe}"], timeout: 5m }
  "flaky-*": { command: ["bash", "${s.flaky}"] }
  "*": { command: ["bash", "${s.ok}"] }
`;
  const nightly = config({
    name: '4.19.0-0.nightly',
    to: 'release',
    message: `Nightly **payloads** ${XSS} for [docs](https://docs.example.com/x)`,
    mirrorPrefix: '4.19-art-latest',
    verify: {
      'e2e-aws': { prowJob: { name: 'blocking-e2e-aws' } },
      'e2e-gcp': { optional: true, prowJob: { name: 'informing-e2e-gcp' } },
      'qe-e2e-aws': { qe: true, prowJob: { name: 'qe-e2e-aws' } },
      'qe-e2e-gcp': { qe: true, optional: true, prowJob: { name: 'qe-e2e-gcp' } },
    },
    qe: { gate: 'InformingPassed', timeout: '1h' },
  });
  const ci = config({ name: '4.19.0-0.ci', to: 'release', mirrorPrefix: '4.19', verify: { 'e2e-aws': { prowJob: { name: 'ci-e2e-aws' } }, 'e2e-flaky': { optional: true, prowJob: { name: 'flaky-e2e' } } } });
  const hidden = config({ name: '4.19.0-0.okd', to: 'release-okd', mirrorPrefix: 'okd-4.19', hide: true });
  const eol = config({ name: '4.10.0-0.nightly', to: 'release', mirrorPrefix: '4.10-art-latest', endOfLife: true });

  let h: Harness | undefined;
  let browser: Browser | undefined;
  let app: Awaited<ReturnType<typeof buildApp>> | undefined;
  try {
    h = await startHarness({ dir, configs: [nightly, ci, hidden, eol], jobsYaml, killGraceMs: 200 });
    const c = h.controller;
    app = await buildApp({
      ops: c,
      tokens: [
        { user: 'quinn-qe', token: QE_TOKEN, roles: ['qe'] },
        { user: 'casey-ci', token: CI_TOKEN, roles: ['ci'] },
      ],
      logger: false,
      registerPages: createPages(c),
    });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;

    const labels = (n: number) => ({
      cli: { 'io.openshift.build.commit.id': `${n}`.repeat(40).slice(0, 40), 'io.openshift.build.source-location': 'https://github.com/openshift/oc' },
    });
    const newPayload = async (n: number) => {
      const before = new Set(c.state.payloads(nightly.name).map((p) => p.tag));
      await c.setInputTags('4.19-art-latest', { cli: pullSpec('cli'), installer: pullSpec('installer') }, 'test', labels(n));
      return waitFor(`payload ${n} in QE`, () => c.state.payloads(nightly.name).find((p) => !before.has(p.tag) && p.qe.state === 'QERunning'), 30_000);
    };
    const p1 = await newPayload(1);
    await c.setInputTags('4.19', { cli: pullSpec('cli') }, 'test');
    const ciPayload = await waitFor('ci payload accepted, flaky job failed', () => c.state.payloads(ci.name).find((p) => p.phase === 'Accepted' && c.state.runs(ci.name, p.tag).some((r) => r.verifyName === 'e2e-flaky' && r.state === 'Failed')), 30_000);

    browser = await launchBrowser();
    const ctx = await browser.newContext({ viewport: { width: 1360, height: 900 } });
    const dialogs: string[] = [];
    const errors: string[] = [];
    const watch = (page: Page) => watchPage(page, dialogs, errors);

    // ---- overview
    const page = await ctx.newPage();
    watch(page);
    await page.goto(base + '/');
    await page.getByRole('heading', { name: nightly.name, exact: true }).waitFor();
    const headings = await page.locator('main section.stream h2').allTextContents();
    assert.deepEqual(headings.slice(0, 2), ['4.19.0-0.ci', '4.19.0-0.nightly']);
    assert.ok(!headings.includes('4.10.0-0.nightly'), 'end-of-life stream not listed');
    assert.equal(await page.locator('details.hidden-streams').getAttribute('open'), null, 'hidden streams collapsed');
    const row1 = page.locator(`tr[data-tag="${p1.tag}"]`);
    assert.equal((await row1.locator('[data-phase]').innerText()).trim(), '✓ Accepted');
    assert.equal((await row1.locator('[data-qe]').innerText()).trim(), '▶ QE Running');
    // the hostile message is text: visible literally, nothing executed, no element injected
    const msg = page.locator(`section[data-stream="${nightly.name}"] .message`);
    assert.ok((await msg.innerText()).includes(`<script>alert('xss')</script>`), await msg.innerText());
    assert.equal(await msg.locator('script, img').count(), 0);
    assert.equal(await msg.locator('strong').innerText(), 'payloads');
    assert.ok((await page.locator('main').innerText()).includes('Last accepted'));
    await page.locator('#live[data-state="open"]').waitFor({ timeout: 5000 });
    await page.screenshot({ path: join(SHOTS, 'overview.png'), fullPage: true });

    // ---- click through to the stream page
    await page.locator(`section[data-stream="${nightly.name}"] h2 a`).click();
    await page.waitForURL(`${base}/releasestream/${nightly.name}`);
    await page.locator(`tr[data-tag="${p1.tag}"]`).waitFor();
    assert.equal((await page.locator(`tr[data-tag="${p1.tag}"] [data-qe]`).innerText()).trim(), '▶ QE Running');
    assert.match(await page.locator(`tr[data-tag="${p1.tag}"] td.pull code`).getAttribute('title') ?? '', new RegExp(`^registry\\.local/release(:${p1.tag}|@sha256:[0-9a-f]{64})$`));
    // server-side filter from the form (works without script, submitted by the select here)
    await page.selectOption('select[name="qe"]', 'QEAccepted');
    await page.waitForURL(/qe=QEAccepted/);
    assert.ok((await page.locator('main').innerText()).includes('No payloads match these filters.'));
    await page.goto(`${base}/releasestream/${nightly.name}`);
    await page.screenshot({ path: join(SHOTS, 'stream.png'), fullPage: true });

    // ---- click through to the release page
    await page.getByRole('link', { name: p1.tag, exact: true }).first().click();
    await page.waitForURL(`${base}/releasestream/${nightly.name}/release/${p1.tag}`);
    const qe = page.locator('section#qe');
    await qe.waitFor();
    const qeText = await qe.innerText();
    assert.match(qeText, /InformingPassed — open: payload Accepted and informing jobs passed/);
    assert.match(qeText, /qe-e2e-aws/);
    assert.match(qeText, /qe-e2e-gcp \(optional\)/);
    assert.match(qeText, /left/);
    assert.equal(await qe.locator('tr[data-verify="qe-e2e-aws"] [data-job-state]').getAttribute('data-job-state'), 'Pending');
    await page.screenshot({ path: join(SHOTS, 'release.png'), fullPage: true });

    // a second tab on the stream page, to see live updates there too
    const streamTab = await ctx.newPage();
    watch(streamTab);
    await streamTab.goto(`${base}/releasestream/${nightly.name}`);
    await streamTab.locator('#live[data-state="open"]').waitFor({ timeout: 5000 });
    await page.locator('#live[data-state="open"]').waitFor({ timeout: 5000 });
    await page.evaluate(() => ((window as unknown as { __noReload: number }).__noReload = 1));
    await streamTab.evaluate(() => ((window as unknown as { __noReload: number }).__noReload = 1));

    // ---- QE verdict through the API → the open pages change without reload
    const res = await fetch(`${base}/api/v1/releasestream/${nightly.name}/release/${p1.tag}/qe`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${QE_TOKEN}` },
      body: JSON.stringify({ verdict: 'QEAccepted', reason: 'QE sign-off via API' }),
    });
    assert.equal(res.status, 200, await res.text());
    await page.locator('[data-live="head"] [data-qe="QEAccepted"]').waitFor({ timeout: 10_000 });
    await streamTab.locator(`tr[data-tag="${p1.tag}"] [data-qe="QEAccepted"]`).waitFor({ timeout: 10_000 });
    assert.equal(await page.evaluate(() => (window as unknown as { __noReload?: number }).__noReload), 1, 'release page was not reloaded');
    assert.equal(await streamTab.evaluate(() => (window as unknown as { __noReload?: number }).__noReload), 1, 'stream page was not reloaded');
    assert.match(await page.locator('section#qe').innerText(), /set manually by quinn-qe/);
    assert.match(await page.locator('section#events').innerText(), /QE sign-off via API/);

    // ---- a new payload appears on the open stream page
    const p2 = await newPayload(2);
    await streamTab.locator(`tr[data-tag="${p2.tag}"]`).waitFor({ timeout: 10_000 });
    assert.equal(await streamTab.evaluate(() => (window as unknown as { __noReload?: number }).__noReload), 1);
    // background tabs get throttled animation frames, which slows every click; work in one tab from here
    await streamTab.close();
    await page.bringToFront();

    // ---- QE override through the UI: refused for a ci token (message shown), done with a qe token
    await page.goto(`${base}/releasestream/${nightly.name}/release/${p2.tag}`);
    const rejectBtn = page.locator('section#qe button[data-value="QERejected"]');
    assert.equal(await rejectBtn.isVisible(), false, 'actions hidden until signed in');
    await page.fill('#token', CI_TOKEN);
    await page.click('#signin button[type="submit"]');
    await rejectBtn.waitFor({ state: 'visible' });
    await rejectBtn.click();
    await page.locator('#action-dialog[open]').waitFor();
    await page.fill('#action-reason', 'should not be allowed');
    await page.click('#action-submit');
    await page.locator('#action-error', { hasText: 'Refused (403)' }).waitFor({ timeout: 5000 });
    assert.match(await page.locator('#action-error').innerText(), /casey-ci lacks a required role/);
    await page.click('#action-cancel');
    await page.click('#signout');
    await page.fill('#token', QE_TOKEN);
    await page.click('#signin button[type="submit"]');
    await rejectBtn.click();
    await page.fill('#action-reason', 'QE found a regression: https://issues.example.com/browse/OCPBUGS-42');
    await page.click('#action-submit');
    await page.locator('[data-live="head"] [data-qe="QERejected"]').waitFor({ timeout: 10_000 });
    assert.equal(await page.locator('#action-dialog[open]').count(), 0);
    const qe2 = await page.locator('section#qe').innerText();
    assert.match(qe2, /QE Rejected, set manually by quinn-qe/);
    assert.match(qe2, /OCPBUGS-42/);
    assert.equal(c.state.payload(nightly.name, p2.tag)?.qe.state, 'QERejected');
    assert.equal(c.state.payload(nightly.name, p2.tag)?.qe.override?.user, 'quinn-qe');
    // the reason's URL is a link
    assert.equal(await page.locator('section#qe a[href="https://issues.example.com/browse/OCPBUGS-42"]').count(), 1);
    // changelog against payload 1 names the changed component and its commits
    assert.match(await page.locator('section#changelog').innerText(), /cli\s+Changed[\s\S]*1111111111[\s\S]*2222222222/);

    // ---- the log link of a finished job opens its output
    const logHref = await page.locator('tr[data-verify="e2e-aws"] a', { hasText: 'log' }).getAttribute('href');
    assert.match(logHref ?? '', /^\/logs\//);
    const logPage = await ctx.newPage();
    await logPage.goto(base + logHref);
    assert.match(await logPage.locator('body').innerText(), /all tests passed/);
    await logPage.close();

    // ---- retry a failed job through the UI (role ci)
    await page.click('#signout');
    await page.fill('#token', CI_TOKEN);
    await page.click('#signin button[type="submit"]');
    await page.goto(`${base}/releasestream/${ci.name}/release/${ciPayload.tag}`);
    const flakyRow = page.locator('tr[data-verify="e2e-flaky"]');
    assert.equal(await flakyRow.locator('[data-job-state]').getAttribute('data-job-state'), 'Failed');
    await flakyRow.locator('button[data-action="retry"]').click();
    await page.fill('#action-reason', 'infra flake');
    await page.click('#action-submit');
    await flakyRow.locator('[data-job-state="Succeeded"]').waitFor({ timeout: 15_000 });
    assert.match(await page.locator('tr[data-verify="e2e-flaky"]').innerText(), /2 \(1 \+ 1 manual\)/);
    assert.match(await page.locator('section#events').innerText(), /e2e-flaky retried \(attempt 2\): infra flake/);

    assert.deepEqual(dialogs, [], 'no alert or dialog fired');
    assert.deepEqual(errors, [], 'no script errors');
    writeFileSync(gate, '');
  } finally {
    await browser?.close().catch(() => undefined);
    await app?.close().catch(() => undefined);
    await h?.close().catch(() => undefined);
    cleanup(dir);
  }
});
