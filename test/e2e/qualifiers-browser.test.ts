// Qualifier badges in a real browser (Debian chromium via playwright-core) over the qualifiers
// seed written through the real SQLite store: the release page lists every qualifier with its
// state (text and colour), the stream page only the propagated ones, hostile badge names stay text.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { type Browser } from 'playwright-core';
import { QualifiersConfig } from '../../src/controller/qualifiers.ts';
import { parseQualifiersFile } from '../../src/domain/qualifiers.ts';
import { buildApp } from '../../src/http/app.ts';
import { createPages } from '../../src/http/pages/index.ts';
import type { Store } from '../../src/ports/store.ts';
import { ReadOps } from '../helpers/api-seed.ts';
import { CHROMIUM, SHOTS, launchBrowser, watchPage } from '../helpers/browser.ts';
import { cleanup, tempDir } from '../helpers/harness.ts';
import { QUALIFIERS, STREAM, TAG, seedQualifiersStore } from '../helpers/qualifiers-seed.ts';

const HOSTILE = `<img src=x onerror="alert('badge')">`;

test('qualifier badges on the release and stream pages in a browser', { skip: !existsSync(CHROMIUM) && 'chromium not installed' }, async () => {
  const dir = tempDir('rc-qualifiers-e2e-');
  let store: Store | undefined;
  let browser: Browser | undefined;
  let app: Awaited<ReturnType<typeof buildApp>> | undefined;
  try {
    store = await seedQualifiersStore(dir);
    // the RT badge gets a hostile name
    const qualifiers = new QualifiersConfig(parseQualifiersFile(QUALIFIERS.replace('badgeName: RT', `badgeName: ${JSON.stringify(HOSTILE)}`), 'release-qualifiers.yaml'));
    const ops = await ReadOps.load(store);
    app = await buildApp({ ops, logger: false, qualifiers, registerPages: createPages(ops, { qualifiers }) });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
    browser = await launchBrowser();
    const dialogs: string[] = [];
    const errors: string[] = [];
    const page = watchPage(await browser.newPage({ viewport: { width: 1400, height: 900 } }), dialogs, errors);
    const badges = (scope: string) =>
      page.$$eval(`${scope} .qualifier-badge`, (bs) => bs.map((b) => `${b.getAttribute('data-qualifier')} | ${b.textContent!.trim()} | ${b.getAttribute('title')} | ${getComputedStyle(b).color}`));
    const GREEN = 'rgb(17, 99, 41)';
    const RED = 'rgb(164, 14, 38)';

    await page.goto(`${base}/releasestream/${STREAM}/release/${TAG(1)}`);
    await page.waitForSelector('#qualifiers');
    assert.deepEqual(await badges('#qualifiers'), [
      `fips | ✓ FIPS!: Passed | FIPS!: Passed | ${GREEN}`,
      `rt | ✗ ${HOSTILE}: Failed | ${HOSTILE}: Failed | ${RED}`,
      `trt | ✓ TRT: Accepted | TRT: Accepted | ${GREEN}`,
    ]);
    assert.equal(await page.locator('img').count(), 0, 'the hostile badge name stays text');
    assert.equal(await page.locator('#qualifiers .failure-labels').textContent(), 'Failure labels: needs-triage rt-broken');
    await page.screenshot({ path: join(SHOTS, 'qualifiers-release.png'), fullPage: true });

    // the status api link answers the summary
    await page.click('#qualifiers a:text("status api")');
    await page.waitForURL((u) => u.pathname === `/api/v1/releasetag/${TAG(1)}/qualifiers`);
    const summary = JSON.parse((await page.locator('body').textContent())!) as { qualifiers: Record<string, unknown> };
    assert.deepEqual(Object.keys(summary.qualifiers), ['fips', 'rt', 'trt']);

    await page.goto(`${base}/releasestream/${STREAM}`);
    await page.waitForSelector('table#tags');
    assert.deepEqual(await badges(`tr[data-tag="${TAG(2)}"]`), [`trt | ✗ TRT: Rejected | TRT: Rejected | ${RED}`], 'only propagated badges in a row');
    assert.equal((await badges(`tr[data-tag="${TAG(1)}"]`)).length, 3);
    assert.equal(await page.locator('img').count(), 0);
    await page.screenshot({ path: join(SHOTS, 'qualifiers-stream.png'), fullPage: true });
    assert.deepEqual(dialogs, []);
    assert.deepEqual(errors, []);
  } finally {
    await browser?.close();
    await app?.close();
    await store?.close();
    cleanup(dir);
  }
});
