// Upgrade lanes on the stream page, "Untested upgrades" on a release page and the candidates page
// in a real browser (Debian chromium via playwright-core), over the API seed written through the
// real SQLite store plus upgrades between nightlies and a promoted 4.16 release whose declared
// `previous` list carries hostile markup (it must stay text).
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { type Browser } from 'playwright-core';
import { CHROMIUM, SHOTS, launchBrowser, watchPage } from '../helpers/browser.ts';
import { AnnotationFromTag } from '../../src/domain/candidate.ts';
import { AnnotationPrevious } from '../../src/domain/graph.ts';
import { emptyQEStatus } from '../../src/domain/qe.ts';
import type { Payload, UpgradeResult } from '../../src/domain/types.ts';
import { buildApp } from '../../src/http/app.ts';
import { createPages } from '../../src/http/pages/index.ts';
import type { Store } from '../../src/ports/store.ts';
import { NIGHTLY, ReadOps, STABLE, T, seedStore } from '../helpers/api-seed.ts';
import { cleanup, tempDir } from '../helpers/harness.ts';

const HOSTILE = `<img src=x onerror="alert('prev')">`;

const up = (from: string, to: string, state: UpgradeResult['state'], id: string): UpgradeResult => ({ from, to, state, url: `https://prow.example/lanes/${id}`, runId: `lanes-${id}` });

test('upgrade lanes, untested upgrades and promotion candidates in a browser', { skip: !existsSync(CHROMIUM) && 'chromium not installed' }, async () => {
  const dir = tempDir('rc-upgrade-lanes-e2e-');
  let store: Store | undefined;
  let browser: Browser | undefined;
  let app: Awaited<ReturnType<typeof buildApp>> | undefined;
  try {
    store = await seedStore(dir);
    const promoted: Payload = {
      stream: STABLE, tag: '4.16.1', phase: 'Accepted', createdAt: '2024-05-02T12:00:00Z', inputHash: 'sha256:x', pullSpec: 'registry.local/ocp/release:4.16.1', digest: `sha256:${'9'.repeat(64)}`,
      components: {}, reason: '', message: '', annotations: { [AnnotationFromTag]: T(1), [AnnotationPrevious]: `4.16.0-rc.1,4.15.10,${HOSTILE}` }, override: null, qe: emptyQEStatus(), phaseChangedAt: '2024-05-02T12:00:00Z',
    };
    await store.commit([
      { kind: 'putPayload', payload: promoted },
      // lanes among the nightlies (seed: T(3) → T(5) succeeded)
      { kind: 'putUpgrade', result: up(T(2), T(6), 'Pending', 'a') },
      { kind: 'putUpgrade', result: up(T(1), T(4), 'Failed', 'b') },
      // into the promoted release: one declared source tested, one undeclared (not listed: upstream)
      { kind: 'putUpgrade', result: up('4.16.0-rc.1', '4.16.1', 'Succeeded', 'c') },
      { kind: 'putUpgrade', result: up(T(4), '4.16.1', 'Succeeded', 'd') },
    ]);
    const ops = await ReadOps.load(store);
    app = await buildApp({ ops, logger: false, registerPages: createPages(ops) });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;

    browser = await launchBrowser();
    const dialogs: string[] = [];
    const errors: string[] = [];
    const page = watchPage(await browser.newPage({ viewport: { width: 1500, height: 900 } }), dialogs, errors);

    // --- stream page: lanes ---
    await page.goto(`${base}/releasestream/${NIGHTLY}`);
    await page.waitForSelector('table#tags th.upgrades');
    assert.equal(await page.locator('th.upgrades').getAttribute('colspan'), '4', 'three lanes plus the external cell');
    const dots = await page.$$eval('a.upgrade-track-dot', (as) =>
      as.map((a) => ({ row: a.closest('tr')!.getAttribute('data-tag'), from: a.getAttribute('data-from'), to: a.getAttribute('data-to'), title: a.getAttribute('title'), href: a.getAttribute('href'), color: getComputedStyle(a).borderTopColor, lane: Array.from(a.closest('tr')!.querySelectorAll('td.upgrade-track')).indexOf(a.closest('td')!) })),
    );
    const key = (d: (typeof dots)[number]) => `${d.row}: ${d.from} → ${d.to} lane ${d.lane} ${d.color}`;
    const GREEN = 'rgb(40, 167, 69)';
    const RED = 'rgb(220, 53, 69)';
    const BLUE = 'rgb(0, 123, 255)';
    assert.deepEqual(dots.map(key).sort(), [
      `${T(1)}: ${T(1)} → ${T(4)} lane 2 ${RED}`,
      `${T(2)}: ${T(2)} → ${T(6)} lane 0 ${BLUE}`,
      `${T(3)}: ${T(3)} → ${T(5)} lane 1 ${GREEN}`,
      `${T(4)}: ${T(1)} → ${T(4)} lane 2 ${RED}`,
      `${T(5)}: ${T(3)} → ${T(5)} lane 1 ${GREEN}`,
      `${T(6)}: ${T(2)} → ${T(6)} lane 0 ${BLUE}`,
    ].sort());
    const t5 = dots.find((d) => d.row === T(5))!;
    assert.equal(t5.title, '1/1 succeeded');
    assert.equal(t5.href, `/releasetag/${T(5)}?from=${encodeURIComponent(T(3))}`);
    // a line passes through the rows between an edge's ends: T(4)'s row carries lane 0 (pending) and lane 1 (succeeded) lines
    const t4Lines = await page.$$eval(`tr[data-tag="${T(4)}"] td.upgrade-track .upgrade-track-line`, (ls) => ls.map((l) => `${l.className} ${getComputedStyle(l).display}`));
    assert.deepEqual(t4Lines, ['upgrade-track-line middle lane-pending block', 'upgrade-track-line middle lane-ok block', 'upgrade-track-line start lane-fail block']);
    // upgrades from outside the page: newest version first, green with a success, red with failures only
    const ext = await page.$$eval(`tr[data-tag="${T(3)}"] .upgrade-external`, (es) => es.map((e) => `${e.textContent!.trim()} ${getComputedStyle(e.querySelector('a')!).color}`));
    assert.deepEqual(ext, ['4.15.10 rgb(26, 127, 55)', '4.15.3 rgb(26, 127, 55)']);
    const ext4 = await page.$$eval(`tr[data-tag="${T(4)}"] .upgrade-external`, (es) => es.map((e) => `${e.textContent!.trim()} ${getComputedStyle(e.querySelector('a')!).color}`));
    assert.deepEqual(ext4, ['4.15.10 rgb(26, 127, 55)', '4.15.3 rgb(207, 34, 46)']);
    await page.screenshot({ path: join(SHOTS, 'upgrade-lanes.png'), fullPage: true });

    // a click on a dot opens the release page comparing against the upgrade's source
    await page.click(`tr[data-tag="${T(5)}"] a.upgrade-track-dot`);
    await page.waitForURL((u) => u.pathname === `/releasetag/${T(5)}` && u.searchParams.get('from') === T(3));
    assert.equal(await page.locator('h1').first().textContent(), T(5));

    // --- release page: untested upgrades from the declared previous list ---
    await page.goto(`${base}/releasetag/4.16.1`);
    await page.waitForSelector('#upgrades');
    const untested = page.locator('#upgrades .untested-upgrades');
    assert.equal((await untested.textContent())!.replace(/\s+/g, ' ').trim(), `Untested upgrades: 4.15.10, ${HOSTILE}`);
    assert.equal(await page.locator('#upgrades img').count(), 0, 'hostile markup stays text');
    const fromItems = await page.$$eval('#upgrades h3 + * li, #upgrades ul li', (ls) => [...new Set(ls.map((l) => l.textContent!.split(' — ')[0].trim()))]);
    assert.ok(fromItems.includes('4.16.0-rc.1'), fromItems.join(' | '));
    assert.ok(!fromItems.includes(T(4)), 'an upgrade from an undeclared source is not listed (upstream)');
    await page.screenshot({ path: join(SHOTS, 'untested-upgrades.png'), fullPage: true });

    // --- candidates page ---
    await page.goto(`${base}/releasestream/${NIGHTLY}`);
    await page.click('text=Promotion candidates');
    await page.waitForSelector('#release-candidates');
    assert.equal(await page.locator('#release-candidates h1').textContent(), 'Release Candidates for 4.16.2');
    const rows = await page.$$eval('#candidates tbody tr', (trs) => trs.map((tr) => Array.from(tr.querySelectorAll('td')).map((td) => td.textContent!.trim())));
    // QE stream: only QE-accepted and Accepted payloads created after 4.16.1's origin T(1) — T(4); upgrade sources above 80 %
    assert.deepEqual(rows, [[T(4), '4.15.10', '2024-05-04T00:00:00Z']]);
    await page.click(`#candidates a:text("${T(4)}")`);
    await page.waitForURL((u) => u.pathname === `/releasestream/${NIGHTLY}/release/${T(4)}`);
    await page.goto(`${base}/releasestream/${NIGHTLY}/candidates?format=json`);
    const json = JSON.parse((await page.locator('body').textContent())!) as Record<string, { items: { fromTag: string; name: string; upgradeFrom?: string[]; creationTime: string; tag: { name: string } }[] | null }>;
    assert.deepEqual(Object.keys(json), [NIGHTLY]);
    assert.deepEqual(json[NIGHTLY].items!.map((i) => [Object.keys(i), i.fromTag, i.name, i.upgradeFrom, i.tag.name]), [
      [['fromTag', 'name', 'upgradeFrom', 'creationTime', 'tag'], T(4), '4.16.2', ['4.15.10'], T(4)],
    ]);
    assert.deepEqual(dialogs, []);
    assert.deepEqual(errors, []);
  } finally {
    await browser?.close();
    await app?.close();
    await store?.close();
    cleanup(dir);
  }
});
