// dashboard.mjs - the dashboard in headless Chromium (Debian's
// /usr/bin/chromium, driven by playwright-core; no browser is downloaded).
//
//   node tests/browser/dashboard.mjs SWEEP_PAGE_URL OUTDIR
//
// On the page of a sweep that `sweep local` is running: it draws (runs
// table, curves, parallel coordinates, importance, metric against time)
// with no console error; every run of the API is in the table; a value
// "<script>alert(1)</script>" shows as text and runs nothing; brushing an
// axis of the parallel coordinates narrows the table; runs that finish
// while the page is open appear without a reload; the sweeps page lists
// the sweep; a run's page shows its history. Screenshots go to OUTDIR.
// Prints "ok - ..." or "FAIL - ..." per check, then "N passed, N failed".
import { chromium } from 'playwright-core';

const [url, outdir] = process.argv.slice(2);
if (!url || !outdir) {
  console.error('usage: node dashboard.mjs SWEEP_PAGE_URL OUTDIR');
  process.exit(2);
}
const origin = new URL(url).origin;
const sweepId = new URL(url).pathname.split('/')[2];
let pass = 0, fail = 0;
function check(desc, cond, detail) {
  if (cond) { pass++; console.log(`ok - ${desc}`); }
  else { fail++; console.log(`FAIL - ${desc}${detail ? `\n      | ${detail}` : ''}`); }
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function api(path) {
  const r = await fetch(origin + path);
  return r.json();
}
// "12 of 30 runs" -> [12, 30]
async function runsCount(page) {
  const t = (await page.textContent('#runs-count').catch(() => '')) || '';
  const m = t.match(/(\d[\d,]*)\s+of\s+(\d[\d,]*)/);
  return m ? [Number(m[1].replace(/,/g, '')), Number(m[2].replace(/,/g, ''))] : [NaN, NaN];
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox'],
});
const errors = [];
let dialogs = 0;
try {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1800 } });
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('dialog', async (d) => { dialogs++; await d.dismiss(); });

  const t0 = Date.now();
  await page.goto(url);
  const ready = await page.waitForSelector('body[data-ready="1"]', { timeout: 15000 })
    .then(() => true, () => false);
  check(`the sweep page draws (data-ready after ${Date.now() - t0} ms)`, ready);
  await page.screenshot({ path: `${outdir}/sweep-page.png`, fullPage: true });

  for (const sel of ['#runs-table', '#curves', '#parcoords', '#importance', '#metric-time']) {
    const box = await page.$(sel).then((e) => (e ? e.boundingBox() : null));
    check(`panel ${sel} is on the page and has a size`, box && box.width > 50 && box.height > 50,
      JSON.stringify(box));
  }
  // the canvases have something drawn on them
  const inked = await page.evaluate(() => {
    const c = document.querySelector('#parcoords');
    if (!c || !c.getContext) return -1;
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++;
    return n;
  });
  check(`the parallel coordinates are drawn (${inked} pixels inked)`, inked > 500);
  const curveInk = await page.evaluate(() => {
    let n = 0;
    for (const c of document.querySelectorAll('#curves canvas')) {
      const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
      for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++;
    }
    return n;
  });
  check(`the curves are drawn (${curveInk} pixels inked)`, curveInk > 500);
  const impText = (await page.textContent('#importance')) || '';
  check('the importance panel names its method or why it is empty',
    /fanova|forest|spearman|importance needs|finished runs/i.test(impText), impText.slice(0, 200));

  const buttons = await page.$$eval('#controls button', (b) => b.length);
  check(`without a token the page is read-only: no control buttons (${buttons})`, buttons === 0);

  // every run of the API is counted by the table
  const all = await api(`/api/sweeps/${sweepId}/runs?limit=1000`);
  await sleep(1500);
  const [shown, total] = await runsCount(page);
  check(`the table counts every run (${shown} of ${total}; API ${all.total} then)`,
    total >= all.total && shown === total);
  const rows = await page.$$eval('#runs-table .run-row', (r) => r.length);
  check(`the table has rows (${rows})`, rows > 0);

  // escaping: the categorical value is text, and nothing ran
  const bodyText = await page.textContent('body');
  check('a value "<script>alert(1)</script>" is shown as text',
    bodyText.includes('<script>alert(1)</script>'));
  const injected = await page.$$eval('script', (s) => s.filter((x) => x.textContent.includes('alert(1)')).length);
  check(`no script element was made of it (${injected}) and no dialog opened (${dialogs})`,
    injected === 0 && dialogs === 0);

  // brushing: a vertical drag on one axis narrows the table
  const pc = await page.$('#parcoords');
  const box = await pc.boundingBox();
  const [before] = await runsCount(page);
  let narrowed = false, at = -1;
  for (let x = box.x + 2; x < box.x + box.width && !narrowed; x += 6) {
    await page.mouse.move(x, box.y + box.height * 0.15);
    await page.mouse.down();
    await page.mouse.move(x, box.y + box.height * 0.45, { steps: 4 });
    await page.mouse.up();
    await sleep(60);
    const [n] = await runsCount(page);
    if (n < before && n >= 0) { narrowed = true; at = Math.round(x - box.x); }
  }
  check(`brushing an axis narrows the table (${before} -> ${(await runsCount(page))[0]}, axis at x=${at})`, narrowed);
  await page.screenshot({ path: `${outdir}/brushed.png`, fullPage: true });
  // clear: reload the page state (no brush survives a reload)
  await page.reload();
  await page.waitForSelector('body[data-ready="1"]', { timeout: 15000 }).catch(() => {});

  // live: runs that finish while the page is open appear without reload
  const sw0 = await api(`/api/sweeps/${sweepId}`);
  const fin0 = (sw0.runs && sw0.runs.finished) || 0;
  const [, total0] = await runsCount(page);
  let grew = false, t1 = Date.now();
  while (Date.now() - t1 < 20000) {
    await sleep(250);
    const sw = await api(`/api/sweeps/${sweepId}`);
    const [, tot] = await runsCount(page);
    if (sw.runs_created > total0 && tot >= sw.runs_created - 1 && tot > total0) { grew = true; break; }
    if ((sw.runs.finished || 0) > fin0 && tot > total0) { grew = true; break; }
  }
  check(`runs created and finished while the page is open appear without reload (${total0} -> ${(await runsCount(page))[1]})`, grew);
  await page.screenshot({ path: `${outdir}/sweep-page-later.png`, fullPage: true });

  // the sweeps page, and a run's page
  await page.goto(origin + '/');
  await page.waitForSelector('body[data-ready="1"]', { timeout: 15000 }).catch(() => {});
  const list = (await page.textContent('#sweeps-table').catch(() => '')) || '';
  check('the sweeps page lists the sweep', list.includes(sweepId) || list.includes('browser test'), list.slice(0, 200));
  await page.screenshot({ path: `${outdir}/sweeps.png`, fullPage: true });
  const fin = (await api(`/api/sweeps/${sweepId}/runs?limit=1000`)).runs.find((r) => r.state === 'finished');
  if (fin) {
    await page.goto(`${origin}/sweeps/${sweepId}/runs/${fin.id}`);
    await page.waitForSelector('body[data-ready="1"]', { timeout: 15000 }).catch(() => {});
    const hist = (await page.textContent('#run-history').catch(() => '')) || '';
    check(`a run's page shows its history (${fin.id})`, /loss/.test(hist) && hist.includes(String(fin.summary.loss).slice(0, 4)), hist.slice(0, 200));
    await page.screenshot({ path: `${outdir}/run.png`, fullPage: true });
  } else {
    check('a finished run to open', false);
  }
  check(`no console errors (${errors.length})`, errors.length === 0, errors.slice(0, 5).join(' | '));
} catch (e) {
  check(`the browser test ran to its end: ${e}`, false);
} finally {
  await browser.close();
}
console.log(`${pass} passed, ${fail} failed`);
process.exit(fail ? 1 : 0);
