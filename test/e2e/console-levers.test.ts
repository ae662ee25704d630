// Operator levers in a real browser (Debian chromium via playwright-core) against the real stack
// (SQLite, controller, local executor running bash, local builder, HTTP app with the console): a
// signed-in admin locks the stream and keeps a payload through the UI and sees the effect; the
// "why" lines say why no payload starts and why a payload is not accepted yet; unlock and prune.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, type Page } from 'playwright-core';
import { CHROMIUM, SHOTS, launchBrowser } from '../helpers/browser.ts';
import { buildApp } from '../../src/http/app.ts';
import { createPages } from '../../src/http/pages/index.ts';
import { cleanup, config, pullSpec, startHarness, tempDir, waitFor, writeScripts, type Harness } from '../helpers/harness.ts';

const ADMIN_TOKEN = 'admin-token-0123456789abcdef';

test('console levers in a browser: Lock, Keep, why lines, Unlock and Prune by a signed-in admin', { skip: !existsSync(CHROMIUM) && 'chromium not installed' }, async () => {
  const dir = tempDir('rc-console-levers-');
  const gate = join(dir, 'e2e-go');
  // the blocking job waits for the test to let it finish, so the payload is Ready (not accepted yet) meanwhile
  const s = writeScripts(dir, { e2e: `while [ ! -e "${gate}" ]; do sleep 0.05; done; exit 0` });
  const stream = config({ name: '4.22.0-0.nightly', to: 'release', mirrorPrefix: '4.22-art-latest', verify: { 'e2e-aws': { prowJob: { name: 'blocking-e2e-aws' } } } });
  const input = '4.22-art-latest';

  let h: Harness | undefined;
  let browser: Browser | undefined;
  let app: Awaited<ReturnType<typeof buildApp>> | undefined;
  try {
    h = await startHarness({ dir, configs: [stream], jobsYaml: `jobs:\n  "*": { command: ["bash", "${s.e2e}"] }\n`, killGraceMs: 200 });
    const c = h.controller;
    app = await buildApp({ ops: c, tokens: [{ user: 'rel-admin', token: ADMIN_TOKEN, roles: ['admin'] }], logger: false, registerPages: createPages(c) });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;

    await c.setInputTags(input, { cli: pullSpec('cli') }, 'test');
    const p1 = await waitFor('payload 1 Ready with its job running', () => c.state.payloads(stream.name).find((p) => p.phase === 'Ready' && c.state.runs(stream.name, p.tag).some((r) => r.state === 'Pending')), 30_000);

    browser = await launchBrowser();
    const page: Page = await (await browser.newContext({ viewport: { width: 1360, height: 900 } })).newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    const act = async (selector: string, reason: string) => {
      await page.locator(selector).click();
      await page.locator('#action-dialog[open]').waitFor();
      await page.fill('#action-reason', reason);
      await page.click('#action-submit');
    };

    // ---- release page: "Not accepted yet" names the running blocking job
    await page.goto(`${base}/releasestream/${stream.name}/release/${p1.tag}`);
    assert.match(await page.locator('[data-not-accepted]').innerText(), /^Not accepted yet: blocking job running: e2e-aws$/);
    // ---- sign in as admin; the lever buttons appear
    const keepBtn = page.locator('button[data-action="keep"]');
    assert.equal(await keepBtn.isVisible(), false, 'hidden until signed in');
    await page.fill('#token', ADMIN_TOKEN);
    await page.click('#signin button[type="submit"]');
    await keepBtn.waitFor({ state: 'visible' });
    // ---- Keep through the UI: the kept fact shows, live (no reload)
    await page.evaluate(() => ((window as unknown as { __noReload: number }).__noReload = 1));
    await act('button[data-action="keep"]', 'evidence for OCPBUGS-7');
    await page.locator('[data-kept]', { hasText: 'evidence for OCPBUGS-7' }).waitFor({ timeout: 10_000 });
    assert.equal(await page.evaluate(() => (window as unknown as { __noReload?: number }).__noReload), 1, 'not reloaded');
    assert.equal(await page.locator('button[data-action="prune"]').count(), 0, 'a kept payload offers no Prune');
    assert.equal(c.state.payload(stream.name, p1.tag)!.annotations['release.openshift.io/keep'], 'evidence for OCPBUGS-7');
    // upstream §3.4: a kept payload does not count as "same images", so the same input makes a new payload
    const p2 = await waitFor('payload 2 from the same images', () => c.state.payloads(stream.name).find((p) => p.tag !== p1.tag), 10_000);
    assert.equal(p2.inputHash, p1.inputHash);
    await page.screenshot({ path: join(SHOTS, 'levers-release.png'), fullPage: true });

    // ---- stream page: the kept payload has its star; Lock through the UI shows the banner and the why row
    await page.goto(`${base}/releasestream/${stream.name}`);
    assert.equal(await page.locator(`tr[data-tag="${p1.tag}"] [title="keep"]`).count(), 1);
    await act('button[data-action="lock"]', 'registry migration tonight');
    const banner = page.locator('.lock-banner');
    await banner.waitFor({ timeout: 10_000 });
    assert.match(await banner.innerText(), /Locked by rel-admin .*: registry migration tonight — no new payloads are created/);
    assert.equal(await page.locator('[data-why]').innerText(), 'Next payload may not start: locked: registry migration tonight');
    assert.equal(c.state.stream(stream.name)!.locked, true);
    // new input while locked: nothing is created
    await c.setInputTags(input, { cli: pullSpec('cli') }, 'test');
    await c.idle();
    assert.equal(c.state.payloads(stream.name).length, 2, 'locked: no payload');
    // the overview shows the lock too
    const overview = await (await browser.newContext()).newPage();
    await overview.goto(base + '/');
    assert.match(await overview.locator(`section[data-stream="${stream.name}"] .lock-banner`).innerText(), /Locked by rel-admin .*: registry migration tonight/);
    await overview.close();
    await page.screenshot({ path: join(SHOTS, 'levers-stream-locked.png'), fullPage: true });

    // ---- Unlock: the waiting input makes payload 3, which appears on the open page
    await act('button[data-action="unlock"]', 'migration done');
    await page.locator('.lock-banner').waitFor({ state: 'detached', timeout: 10_000 });
    const p3 = await waitFor('payload 3', () => c.state.payloads(stream.name).find((p) => p.tag !== p1.tag && p.tag !== p2.tag), 10_000);
    await page.locator(`tr[data-tag="${p3.tag}"]`).waitFor({ timeout: 10_000 });

    // ---- Prune payload 2 from its release page: back on the stream page, its row is gone; its running job was cancelled
    await page.goto(`${base}/releasestream/${stream.name}/release/${p2.tag}`);
    await act('button[data-action="prune"]', 'duplicate build');
    await page.waitForURL(`${base}/releasestream/${stream.name}`);
    await page.locator(`tr[data-tag="${p1.tag}"]`).waitFor();
    assert.equal(await page.locator(`tr[data-tag="${p2.tag}"]`).count(), 0);
    assert.equal(c.state.payload(stream.name, p2.tag), undefined);
    assert.deepEqual(errors, [], 'no script errors');
    writeFileSync(gate, '');
  } finally {
    await browser?.close().catch(() => undefined);
    await app?.close().catch(() => undefined);
    await h?.close().catch(() => undefined);
    cleanup(dir);
  }
});
