import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { renderMatrixHtml, type Matrix } from '../conformance/matrix.ts';
import { renderHtml } from '../conformance/reporters/html.ts';
import { VERDICTS } from '../conformance/runner.ts';
import { escapeBytes } from '../conformance/wire/escape.ts';
import { HOSTILE_BYTES, MIXED, recordOf, reportOf } from './support/run-report.ts';

const ROOT = new URL('..', import.meta.url).pathname;
const CHROMIUM = '/usr/bin/chromium';
const chromiumMissing = existsSync(CHROMIUM) ? null : `${CHROMIUM} is not installed: apt-get install -y chromium`;
/** As this machine's Chromium needs it: no sandbox as root, and nothing that reaches for the (closed) network. */
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const SCREENSHOT = join(ROOT, 'reports/html-report.png');
/** Bounded below the hook's own limit, so a Chromium that never comes up fails the run instead of holding it. */
const LAUNCH = { executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, timeout: 45_000 };

// Starting Chromium on a loaded CI machine takes a few seconds.
vi.setConfig({ testTimeout: 60_000, hookTimeout: 60_000 });

let folder: string;
let context: BrowserContext | null = null;

beforeAll(async () => {
  folder = await mkdtemp(join(tmpdir(), 'h1spec-html-'));
  if (chromiumMissing) return;
  context = await chromium.launchPersistentContext(join(folder, 'profile'), LAUNCH);
});

afterAll(async () => {
  await context?.close();
  await rm(folder, { recursive: true, force: true });
});

interface Opened {
  page: Page;
  /** Every URL the page asked for: a self-contained page asks for nothing but itself. */
  requests: string[];
  errors: string[];
}

async function open(name: string, html: string, pageContext: BrowserContext = context!): Promise<Opened> {
  const file = join(folder, name);
  await writeFile(file, html);
  const page = await pageContext.newPage();
  const requests: string[] = [];
  const errors: string[] = [];
  page.on('request', (request) => requests.push(request.url()));
  page.on('pageerror', (error) => errors.push(error.message));
  await page.goto(pathToFileURL(file).href);
  return { page, requests, errors };
}

const visibleRows = (page: Page): Promise<string[]> => page.locator('#results tr[data-verdicts]:visible td.id').allTextContents();

describe.skipIf(chromiumMissing)(`the HTML report in headless Chromium${chromiumMissing ? ` — skipped: ${chromiumMissing}` : ''}`, () => {
  it('shows the counts and every requirement, asks for nothing over the network, and filters by verdict and area', async () => {
    const report = reportOf(MIXED);
    const { page, requests, errors } = await open('run.html', renderHtml(report));

    for (const verdict of VERDICTS) {
      expect(await page.locator(`#totals [data-verdict="${verdict}"] .count`).textContent(), verdict).toBe(String(report.counts[verdict]));
    }
    expect(await visibleRows(page)).toEqual(MIXED.map((record) => record.id));
    expect(await page.locator('#shown').textContent()).toBe('7');

    await page.getByLabel('pass', { exact: true }).uncheck();
    expect(await visibleRows(page)).not.toContain('ENV-PASS');
    expect(await page.locator('#shown').textContent()).toBe('6');

    await page.getByLabel('RFC (3)').uncheck();
    expect(await visibleRows(page)).toEqual(['ENV-FAIL', 'KA-SKIP', 'KA-ERROR']);

    await page.getByLabel('pass', { exact: true }).check();
    await page.getByLabel('RFC (3)').check();
    expect(await page.locator('#shown').textContent()).toBe('7');

    await mkdir(join(ROOT, 'reports'), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    expect(existsSync(SCREENSHOT)).toBe(true);
    expect(requests).toEqual([page.url()]);
    expect(errors).toEqual([]);
  });

  it('a failure links to its evidence: what was expected and seen, and the bytes', async () => {
    const { page } = await open('evidence.html', renderHtml(reportOf(MIXED)));
    await page.locator('tr:has(td.id:text-is("ENV-FAIL")) td.verdict a').click();
    expect(new URL(page.url()).hash).toBe('#ev-0-ENV-FAIL');
    const article = page.locator('#ev-0-ENV-FAIL');
    await expect.poll(() => article.isVisible()).toBe(true);
    expect(await article.locator('h3').textContent()).toContain('ENV-FAIL · fail');
    expect(await article.locator('pre').nth(1).textContent()).toBe(escapeBytes(HOSTILE_BYTES));
    // A pass keeps its bytes too, for a single run; a skip has none to link to.
    expect(await page.locator('tr:has(td.id:text-is("ENV-PASS")) td.verdict a').count()).toBe(1);
    expect(await page.locator('tr:has(td.id:text-is("KA-SKIP")) td.verdict a').count()).toBe(0);
  });

  it('is readable with scripts off: the whole table is there', async () => {
    const noScript = await chromium.launchPersistentContext(join(folder, 'profile-no-script'), { ...LAUNCH, javaScriptEnabled: false });
    try {
      const { page } = await open('no-script.html', renderHtml(reportOf(MIXED)), noScript);
      expect(await visibleRows(page)).toEqual(MIXED.map((record) => record.id));
      expect(await page.locator('td.verdict.v-xfail').textContent()).toBe('xfail');
    } finally {
      await noScript.close();
    }
  });

  it('the matrix page puts servers side by side: n/a outside a server\'s profiles, a server that did not run says why', async () => {
    const matrix: Matrix = {
      tool: { name: 'h1spec', version: '0.1.0' },
      requirements: [
        { id: 'ENV-ONE', title: 'one', level: 'MUST', profiles: ['wsgi'], source: 's' },
        { id: 'RFC-TWO', title: 'two', level: 'SHOULD', profiles: ['rfc'], source: 's' },
      ],
      servers: [
        { name: 'alpha', version: 'alpha 1.0', mode: 'threaded', profiles: ['wsgi', 'rfc'], manifest: 'conformance/expectations/alpha.yaml', targetFlags: [], problem: null,
          report: reportOf([recordOf('ENV-ONE', 'pass'), recordOf('RFC-TWO', 'fail', { evidence: [] })]) },
        { name: 'beta', version: 'beta 2.0', mode: 'serial', profiles: ['rfc'], manifest: 'conformance/expectations/beta.yaml', targetFlags: [], problem: null,
          report: reportOf([recordOf('RFC-TWO', 'pass')]) },
        { name: 'gamma', version: null, mode: 'threaded', profiles: ['rfc'], manifest: 'conformance/expectations/gamma.yaml', targetFlags: [], problem: 'peer gamma cannot run here', report: null },
      ],
    };
    const { page, errors } = await open('matrix.html', renderMatrixHtml(matrix));
    expect(await page.locator('th.server').allTextContents()).toEqual([
      expect.stringContaining('alpha'),
      expect.stringContaining('beta'),
      expect.stringContaining('peer gamma cannot run here'),
    ]);
    const row = (id: string) => page.locator(`tr:has(td.id:text-is("${id}")) td.verdict`).allTextContents();
    expect(await row('ENV-ONE')).toEqual(['pass', 'n/a', 'n/a']);
    expect(await row('RFC-TWO')).toEqual(['fail', 'pass', 'n/a']);
    expect(await page.locator('#totals [data-verdict="pass"] .count').textContent()).toBe('2');

    // Hiding passes keeps a row in which any server failed.
    await page.getByLabel('pass', { exact: true }).uncheck();
    expect(await visibleRows(page)).toEqual(['RFC-TWO']);
    expect(errors).toEqual([]);
  });
});
