// The dashboard (/dashboards/overview), the inconsistency page and the consistentImages alerts in a
// real browser (Debian chromium via playwright-core) against the real stack: SQLite store,
// controller, local executor running bash scripts, local builder, the HTTP app with the console.
// Every user-controlled string here (check names, parent names, inconsistency messages) is hostile
// markup that must stay text.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { type Browser } from 'playwright-core';
import { CHROMIUM, SHOTS, launchBrowser, watchPage } from '../helpers/browser.ts';
import { buildApp } from '../../src/http/app.ts';
import { createPages } from '../../src/http/pages/index.ts';
import { cleanup, config, pullSpec, startHarness, tempDir, waitFor, writeScripts, type Harness } from '../helpers/harness.ts';

const CHECK = `<b>images</b> match <img src=x onerror="alert('check')">`;
const PARENT_GONE = `nope<script>alert('parent')</script>`;
const INCONSISTENT = `<script>alert('msg')</script> built from another commit`;

test('dashboard, inconsistency page and consistentImages alerts in a browser', { skip: !existsSync(CHROMIUM) && 'chromium not installed' }, async () => {
  const dir = tempDir('rc-dashboards-e2e-');
  const s = writeScripts(dir, { ok: 'sleep 0.1; exit 0', fail: 'sleep 0.1; exit 1' });
  const jobsYaml = `
jobs:
  "fail-*": { command: ["bash", "${s.fail}"] }
  "*": { command: ["bash", "${s.ok}"] }
`;
  const ci = config({
    name: '4.20.0-0.ci',
    to: 'release',
    mirrorPrefix: '4.20',
    verify: { e2e: { prowJob: { name: 'ci-e2e' } }, upgrade: { optional: true, upgrade: true, prowJob: { name: 'ci-upgrade' } } },
  });
  const nightly = config({
    name: '4.20.0-0.nightly',
    to: 'release',
    mirrorPrefix: '4.20-art-latest',
    maxUnreadyReleases: 1,
    verify: { e2e: { prowJob: { name: 'fail-e2e' } } },
    check: { [CHECK]: { consistentImages: { parent: ci.name } }, gone: { consistentImages: { parent: PARENT_GONE } } },
  });
  let h: Harness | undefined;
  let browser: Browser | undefined;
  let app: Awaited<ReturnType<typeof buildApp>> | undefined;
  try {
    h = await startHarness({ dir, configs: [nightly, ci], jobsYaml });
    const c = h.controller;
    app = await buildApp({ ops: c, logger: false, registerPages: createPages(c) });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;

    const cli = pullSpec('cli');
    await c.setInputTags('4.20-art-latest', { cli, installer: pullSpec('installer'), rhcos: pullSpec('rhcos') }, 'test', {
      cli: { 'release.openshift.io/inconsistency': JSON.stringify([INCONSISTENT, 'second']) },
    });
    const rejected = await waitFor('nightly payload rejected', () => c.state.payloads(nightly.name).find((p) => p.phase === 'Rejected'), 30_000);
    // input times have whole seconds: the parent's installer must be updated in a later second
    const second = new Date().toISOString().slice(0, 19);
    await waitFor('the next second', () => new Date().toISOString().slice(0, 19) !== second, 3000);
    await c.setInputTags('4.20', { cli, installer: pullSpec('installer') }, 'test');
    await waitFor('ci payload 1 accepted', () => c.state.payloads(ci.name).find((p) => p.phase === 'Accepted'), 30_000);
    await c.setInputTags('4.20', { installer: pullSpec('installer') }, 'test');
    const up = await waitFor('ci payload 2 accepted with its upgrade passed', () => {
      const p = c.state.payloads(ci.name)[0];
      return c.state.payloads(ci.name).length === 2 && p.phase === 'Accepted' && c.state.upgradesInto(p.tag).some((u) => u.state === 'Succeeded') ? p : undefined;
    }, 30_000);

    browser = await launchBrowser();
    const dialogs: string[] = [];
    const errors: string[] = [];
    const page = watchPage(await browser.newPage({ viewport: { width: 1360, height: 900 } }), dialogs, errors);

    // ---- the dashboard, reached from the site navigation
    await page.goto(base + '/');
    await page.getByRole('link', { name: 'Dashboard', exact: true }).click();
    await page.waitForURL(`${base}/dashboards/overview`);
    await page.getByRole('heading', { name: 'Release Dashboard' }).waitFor();
    const nSec = page.locator(`section[data-stream="${nightly.name}"]`);
    const cSec = page.locator(`section[data-stream="${ci.name}"]`);
    assert.equal((await nSec.locator('.no-accepted').innerText()).trim(), 'This release has no recently accepted payloads, investigation required.');
    assert.equal(await cSec.locator('.no-accepted').count(), 0, 'no maxUnreadyReleases → never failing (as upstream)');
    const row = cSec.locator(`tr[data-tag="${up.tag}"]`);
    assert.equal((await row.locator('td.up-ok').innerText()).trim(), '1', 'one successful incoming upgrade');
    assert.equal((await row.locator('td.up-run').innerText()).trim(), '0');
    assert.equal((await row.locator('td.up-fail').innerText()).trim(), '');
    assert.deepEqual(await page.locator('table.dashboard thead th').first().allInnerTexts(), ['Name']);
    // the check alerts: hostile check and parent names are text
    const alerts = nSec.locator('.check-alert');
    assert.equal(await alerts.count(), 2);
    const checkText = await nSec.locator(`.check-alert[data-check="${CHECK.replace(/"/g, '\\"')}"]`).innerText();
    assert.ok(checkText.startsWith(`${CHECK} failures:`), checkText);
    assert.match(checkText, /Components not in the parent stream 4\.20\.0-0\.ci \(input 4\.20\): rhcos/);
    assert.match(checkText, /Components older than in the parent stream 4\.20\.0-0\.ci \(input 4\.20\): installer/);
    assert.ok(!checkText.includes('cli'), 'the same cli image in both streams is consistent');
    assert.ok((await nSec.locator('.check-alert[data-check="gone"]').innerText()).includes(`The parent stream ${PARENT_GONE} could not be found.`));
    assert.equal(await alerts.locator('b, img, script').count(), 0, 'no element injected');
    assert.equal(await cSec.locator('.check-alert').count(), 0);
    await page.screenshot({ path: join(SHOTS, 'dashboard-overview.png'), fullPage: true });

    // ---- the same alerts on the index and the stream page
    await page.goto(base + '/');
    assert.equal(await page.locator(`section[data-stream="${nightly.name}"] .check-alert`).count(), 2);
    await page.goto(`${base}/releasestream/${nightly.name}`);
    assert.equal(await page.locator('.check-alert').count(), 2);

    // ---- the inconsistency icon leads to the inconsistency page
    await page.locator(`tr[data-tag="${rejected.tag}"] a.inconsistency`).click();
    await page.waitForURL(`${base}/releasestream/${nightly.name}/inconsistency/${rejected.tag}`);
    const cliRow = page.locator('table.inconsistencies tr[data-component="cli"]');
    assert.equal((await cliRow.locator('td').nth(2).innerText()).trim(), `${INCONSISTENT}; second`);
    assert.equal(await page.locator('table.inconsistencies tbody tr').count(), 1, 'only components that carried a message');
    assert.equal(await page.locator('main script, main img').count(), 0);
    await page.screenshot({ path: join(SHOTS, 'inconsistency.png'), fullPage: true });
    const missing = await page.goto(`${base}/releasestream/${nightly.name}/inconsistency/nope`);
    assert.equal(missing?.status(), 404);

    assert.deepEqual(dialogs, [], 'no script ran');
    assert.deepEqual(errors, []);
  } finally {
    await browser?.close();
    await app?.close();
    await h?.close();
    cleanup(dir);
  }
});
