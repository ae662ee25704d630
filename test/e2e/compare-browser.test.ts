// The compare dashboard (/dashboards/compare) in a real browser (Debian chromium via
// playwright-core) against the real Controller on a real SQLite file (the compare seed: 4.16.1 and
// 4.16.2 in 4-stable) and the real HTTP app: reached from the site navigation, two releases chosen
// in the form, the changelog and image differences read back; a release promoted through
// PUT /api/v1/releasestream/4-stable/release/4.16.3 appears and compares; the JSON format; a
// hostile component version and hostile query parameters stay text.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { type Browser } from 'playwright-core';
import { CHROMIUM, SHOTS, launchBrowser, watchPage } from '../helpers/browser.ts';
import { buildApp } from '../../src/http/app.ts';
import type { TokenEntry } from '../../src/http/auth.ts';
import { createPages } from '../../src/http/pages/index.ts';
import type { Store } from '../../src/ports/store.ts';
import type { Controller } from '../../src/controller/controller.ts';
import { NIGHTLY, T } from '../helpers/api-seed.ts';
import { HOSTILE_VERSION, compareController } from '../helpers/compare-seed.ts';
import { cleanup, tempDir, waitFor } from '../helpers/harness.ts';

const TOKENS: TokenEntry[] = [{ user: 'rita-admin', token: 'admin-token-0123456789abcdef', roles: ['admin'] }];
const EVIL = `<img src=x onerror="alert('from')">`;

test('compare dashboard in a browser: form, changelog, a promoted release, JSON, escaping', { skip: !existsSync(CHROMIUM) && 'chromium not installed' }, async () => {
  const dir = tempDir('rc-compare-e2e-');
  let store: Store | undefined;
  let c: Controller | undefined;
  let browser: Browser | undefined;
  let app: Awaited<ReturnType<typeof buildApp>> | undefined;
  try {
    ({ controller: c, store } = await compareController(dir));
    app = await buildApp({ ops: c, tokens: TOKENS, logger: false, registerPages: createPages(c) });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;

    browser = await launchBrowser();
    const dialogs: string[] = [];
    const errors: string[] = [];
    const page = watchPage(await browser.newPage({ viewport: { width: 1360, height: 900 } }), dialogs, errors);

    // ---- reached from the site navigation; the form offers the Stable releases only
    await page.goto(base + '/');
    await page.getByRole('navigation', { name: 'Site' }).getByRole('link', { name: 'Compare', exact: true }).click();
    await page.waitForURL(`${base}/dashboards/compare`);
    await page.getByRole('heading', { name: 'Release Comparison Dashboard' }).waitFor();
    const fromOptions = await page.locator('select#from option:not([disabled])').allInnerTexts();
    assert.deepEqual(fromOptions, ['4.16.2', '4.16.1', '4.16.0-rc.1', '4.15.10', '4.15.3']);
    assert.equal(await page.locator('#changelog').count(), 0);

    // ---- choose 4.16.1 → 4.16.2 and compare
    await page.getByLabel('From release').selectOption('4.16.1');
    await page.getByLabel('To release').selectOption('4.16.2');
    await page.getByRole('button', { name: 'Compare' }).click();
    await page.waitForURL(`${base}/dashboards/compare?from=4.16.1&to=4.16.2&format=html`);
    const cl = page.locator('#changelog');
    assert.equal(await cl.getByRole('heading', { name: 'Changes from 4.16.1' }).count(), 1);
    const components = await cl.locator('h3:text-is("Components") + ul li').allInnerTexts();
    assert.deepEqual(components, [`cli ${HOSTILE_VERSION} (from 4.16.1-cli)`, 'Kubernetes 1.29.2 (from 1.29.1)'], 'the hostile version is text');
    assert.deepEqual(await cl.locator('h3:text-is("New images") + ul li a').first().allInnerTexts(), ['fresh']);
    assert.deepEqual(await cl.locator('h3:text-is("Removed images") + ul li a').first().allInnerTexts(), ['gone']);
    assert.equal(await page.locator('main script, main img').count(), 0, 'no element injected');
    const diffRows = page.locator('#image-differences tbody tr');
    assert.deepEqual(await diffRows.locator('td:first-child').allInnerTexts(), ['cli', 'fresh', 'gone', 'hyperkube']);
    assert.equal(await page.locator('select#from').inputValue(), '4.16.1', 'the choice stays in the form');
    assert.equal(await page.locator('select#to').inputValue(), '4.16.2');
    await page.screenshot({ path: join(SHOTS, 'compare-changelog.png'), fullPage: true });

    // ---- a release promoted through the API shows up and compares (built: it has a pull spec)
    const put = await app.inject({
      method: 'PUT', url: '/api/v1/releasestream/4-stable/release/4.16.3', payload: JSON.stringify({ from: `${NIGHTLY}/${T(4)}`, reason: 'release train' }),
      headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKENS[0].token}` },
    });
    assert.equal(put.statusCode, 201, put.body);
    await waitFor('4.16.3 built', () => c!.state.payload('4-stable', '4.16.3')?.pullSpec, 30_000);
    await page.goto(`${base}/dashboards/compare`);
    assert.equal((await page.locator('select#to option:not([disabled])').allInnerTexts())[0], '4.16.3');
    await page.getByLabel('From release').selectOption('4.16.2');
    await page.getByLabel('To release').selectOption('4.16.3');
    await page.getByLabel('Format').selectOption('json');
    await page.getByRole('button', { name: 'Compare' }).click();
    await page.waitForURL(`${base}/dashboards/compare?from=4.16.2&to=4.16.3&format=json`);
    const json = JSON.parse(await page.locator('pre.changelog-json').innerText()) as { from: { name: string }; to: { name: string }; newImages?: { name: string }[] };
    assert.equal(json.from.name, '4.16.2');
    assert.equal(json.to.name, '4.16.3');
    // T(4)'s components: cli, installer, fresh, same — installer is new against 4.16.2
    assert.ok(json.newImages?.some((i) => i.name === 'installer'), JSON.stringify(json.newImages));
    const api = await app.inject({ method: 'GET', url: '/changelog?from=4.16.2&to=4.16.3&format=json' });
    assert.deepEqual(json, api.json(), 'the JSON /changelog serves');

    // ---- the release page links to its comparison
    await page.goto(`${base}/releasestream/4-stable/release/4.16.2`);
    await page.locator('a.compare-link').click();
    await page.waitForURL(`${base}/dashboards/compare?from=4.16.1&to=4.16.2`);
    assert.equal(await page.locator('#changelog').getAttribute('data-from'), '4.16.1');

    // ---- hostile and unknown parameters: a 400 page that shows them as text
    const bad = await page.goto(`${base}/dashboards/compare?from=${encodeURIComponent(EVIL)}&to=4.16.2`);
    assert.equal(bad?.status(), 400);
    assert.equal((await page.locator('.compare-error').innerText()).trim(), `Unable to locate release(s): ${EVIL}`);
    assert.equal(await page.locator('main img, main script').count(), 0);
    assert.equal(await page.locator('#changelog').count(), 0);
    assert.equal(await page.locator('select#to').inputValue(), '4.16.2', 'the known half stays chosen');
    await page.screenshot({ path: join(SHOTS, 'compare-unknown.png'), fullPage: true });

    assert.deepEqual(dialogs, [], 'no script ran');
    assert.deepEqual(errors, []);
  } finally {
    await browser?.close();
    await app?.close();
    await c?.stop();
    await store?.close();
    cleanup(dir);
  }
});
