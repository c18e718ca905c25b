// The studio in a real browser: headless Chromium (driven by playwright-core) opens the page
// `pbi studio` serves, renders the connection's forms and every action's form, fills each
// (the manifest's example inputs, with the placeholder IDs replaced through the pickers by
// the emulator's seeded Sales workspace and its datasets, tables and report), runs it against
// the emulator and checks the output; one run fails and must name its field. Every request
// the browser makes must stay on the studio's origin (the page works offline), and no secret
// may reach the page.
//
// Run by crates/cli/tests/studio.rs:  STUDIO_URL=http://127.0.0.1:PORT/ SCREENSHOT_DIR=DIR
// [PBI_CHROMIUM=/usr/bin/chromium] node test/studio.test.mjs
// It prints one JSON line at the end: {"ok": true, "actions": N, "screenshots": [...]}.

import { chromium } from 'playwright-core';
import { mkdtempSync, rmSync, mkdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const base = process.env.STUDIO_URL;
const shots = process.env.SCREENSHOT_DIR;
const executablePath = process.env.PBI_CHROMIUM || '/usr/bin/chromium';
if (!base || !shots) {
  console.error('set STUDIO_URL and SCREENSHOT_DIR');
  process.exit(2);
}
const origin = new URL(base).origin;
mkdirSync(shots, { recursive: true });

// A value typed into the connection form's secret field: it must never come back.
const TYPED_SECRET = 'typed-Secret-9f3c2a7e';
// What the studio's own emulator token looks like (crates/cli/src/studio.rs).
const EMULATOR_TOKEN = /studio-[0-9a-f]{16}/;

function check(condition, message) {
  if (!condition) throw new Error(message);
}

// The seeded data each picker input resolves to (see pbi_service's seed: the Sales workspace
// is on dedicated capacity and holds the model dataset `Sales Model` and the report `Sales
// Overview`; `Sales Dataset` is the push dataset Create Dataset's example creates).
function pickFor(action, input) {
  switch (input) {
    case 'workspace':
      return 'Sales';
    case 'dataset-id':
      return ['refresh-dataset', 'get-refresh-history'].includes(action) ? 'Sales Model' : 'Sales Dataset';
    case 'table-name':
      return 'Sales';
    case 'report-id':
      return 'Sales Overview';
    default:
      return null;
  }
}

const userDataDir = mkdtempSync(join(tmpdir(), 'pbi-studio-chromium-'));
const context = await chromium.launchPersistentContext(userDataDir, {
  executablePath,
  headless: true,
  args: [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
  ],
  viewport: { width: 1000, height: 800 },
  deviceScaleFactor: 1,
});

const requested = [];
const apiAnswers = [];
const pageErrors = [];
context.on('request', (request) => requested.push(request.url()));
context.on('response', async (response) => {
  if (new URL(response.url()).pathname.startsWith('/api/')) {
    try {
      apiAnswers.push(await response.text());
    } catch {
      // A response whose body is gone (the page moved on) has nothing to check.
    }
  }
});

const taken = [];
async function screenshot(name, locator) {
  const path = join(shots, `${name}.png`);
  await locator.screenshot({ path });
  check(statSync(path).size > 0, `empty screenshot ${path}`);
  taken.push(`${name}.png`);
}

let page;
try {
  page = context.pages()[0] || (await context.newPage());
  page.on('pageerror', (error) => pageErrors.push(String(error)));
  page.setDefaultTimeout(60_000);
  await page.goto(base);
  await page.getByTestId('nav-connection').waitFor();

  const { manifest } = await (await page.request.get(new URL('/api/manifest', base).href)).json();
  const actionKeys = Object.keys(manifest.actions);
  check(actionKeys.length > 0, 'the manifest lists no action');

  // Every action is listed.
  for (const key of actionKeys) {
    await page.getByTestId(`nav-${key}`).waitFor();
  }

  // The connections' forms: the service principal's filled and shown, then OAuth 2.0 used.
  await page.getByTestId('nav-connection').click();
  const pane = page.getByTestId('pane-connection');
  for (const connection of [...manifest.connections].reverse()) {
    await page.getByTestId('connection-kind').selectOption(connection.key);
    const props = connection.schema.properties;
    const required = connection.schema.required || [];
    for (const [key, property] of Object.entries(props)) {
      // The required inputs without a default: the others keep their defaults (an empty
      // API Base URL means the cloud's).
      if (!required.includes(key) || property.default !== undefined || property.oneOf) continue;
      const value =
        property.format === 'password' ? TYPED_SECRET : property.examples?.[0] ?? '11111111-2222-4333-8444-555555555555';
      await page.fill(`#root_${key}`, String(value));
    }
    await screenshot(`connection-${connection.key}`, pane.getByTestId('form-pane'));
  }
  // The first connection (OAuth 2.0) is the one the runs use: the studio adds the token.
  await page.getByTestId('connection-kind').selectOption(manifest.connections[0].key);
  await pane.locator('button[type=submit]').click();
  await page.getByTestId('connection-in-use').filter({ hasText: manifest.connections[0].label }).waitFor();

  // Create Dataset first (the others use its dataset), the deletions last.
  const last = ['delete-rows', 'delete-dataset'];
  const order = [
    'create-dataset',
    'create-rows',
    ...actionKeys.filter((k) => !['create-dataset', 'create-rows', ...last].includes(k)),
    ...last,
  ].filter((k) => actionKeys.includes(k));

  const ran = [];
  for (const key of order) {
    const action = manifest.actions[key];
    await page.getByTestId(`nav-${key}`).click();
    const actionPane = page.getByTestId(`pane-${key}`);
    await actionPane.waitFor();
    if (action.exampleInputs?.length) {
      await actionPane.getByTestId('fill-example').click();
    }
    // Pickers, in form order (a dependent picker needs the ones before it).
    for (const input of action.inputs) {
      const label = input.dataSource ? pickFor(key, input.key) : null;
      if (!label) continue;
      await actionPane.getByTestId(`pick-${input.key}`).click();
      const select = actionPane.getByTestId(`choices-${input.key}`);
      await select.locator('option', { hasText: label }).first().waitFor({ state: 'attached' });
      await select.selectOption({ label });
      const value = await actionPane.locator(`#root_${input.key}`).inputValue();
      check(value.trim() !== '', `${key}: picking ${label} for ${input.key} left it empty`);
    }
    await screenshot(`action-${key}`, actionPane.getByTestId('form-pane'));
    await actionPane.locator('button[type=submit]').click();
    const result = actionPane.locator('[data-testid=result][data-status=ok], [data-testid=result][data-status=error]');
    await result.waitFor();
    const status = await result.getAttribute('data-status');
    if (status !== 'ok') {
      throw new Error(`${key} failed in the page: ${await result.innerText()}`);
    }
    const output = await actionPane.getByTestId('output').innerText();
    check(output.trim().length > 0, `${key}: no output shown`);
    const requests = await actionPane.getByTestId('requests').locator('tr').count();
    check(requests > 0, `${key}: no request shown`);
    if (key === 'execute-dax-query') {
      // Create Rows' example pushed two rows into the dataset the query counts.
      check(/\b2\b/.test(output), `execute-dax-query: the count of the two pushed rows is not in ${output}`);
    }
    if (key === 'list-datasets') {
      await screenshot('result-list-datasets', actionPane);
      // The whole page as a user sees it (1000 × 800), from the top.
      await page.evaluate(() => window.scrollTo(0, 0));
      await screenshot('overview', page);
    }
    ran.push(key);
  }

  // A value the form refuses names its field before anything is sent.
  await page.getByTestId('nav-get-dataset').click();
  const getDataset = page.getByTestId('pane-get-dataset');
  await getDataset.getByTestId('clear').click();
  await getDataset.locator('#root_dataset-id').fill('not-a-guid');
  await getDataset.locator('button[type=submit]').click();
  await getDataset.locator('.errors, .panel-danger').filter({ hasText: 'Dataset ID: must be a GUID' }).first().waitFor();

  // A run the component refuses shows its error, naming the field.
  await page.getByTestId('nav-create-rows').click();
  const createRows = page.getByTestId('pane-create-rows');
  await createRows.getByTestId('fill-example').click();
  await createRows.locator('#root_rows').fill('this is not JSON');
  await createRows.locator('button[type=submit]').click();
  const failed = createRows.locator('[data-testid=result][data-status=error]');
  await failed.waitFor();
  const named = await createRows.getByTestId('error-input').innerText();
  check(named.includes('rows') && named.includes('Rows'), `the error does not name the field: ${named}`);
  const message = await createRows.getByTestId('error').innerText();
  check(message.includes('invalid-input') && message.includes('rows'), `unexpected error: ${message}`);
  await screenshot('result-error-create-rows', createRows);

  // Nothing left 127.0.0.1: the page and everything it loaded came from the studio.
  const elsewhere = requested.filter((url) => new URL(url).origin !== origin);
  check(elsewhere.length === 0, `requests left the studio: ${elsewhere.join(', ')}`);
  check(requested.length > ran.length, 'no request was recorded');

  // No secret reached the page: neither the typed secret nor the emulator's token.
  const text = await page.evaluate(() => document.body.innerText);
  for (const answer of [text, ...apiAnswers]) {
    check(!answer.includes(TYPED_SECRET), 'the typed client secret came back to the page');
    check(!EMULATOR_TOKEN.test(answer), 'the emulator token reached the page');
  }
  check(pageErrors.length === 0, `errors in the page: ${pageErrors.join('; ')}`);

  console.log(JSON.stringify({ ok: true, actions: ran.length, requests: requested.length, screenshots: taken }));
} catch (error) {
  console.error(`studio test failed: ${error.stack || error}`);
  if (page) {
    try {
      await page.screenshot({ path: join(shots, 'failure.png'), fullPage: true });
      console.error(`(a screenshot of the page is in ${join(shots, 'failure.png')})`);
    } catch {
      // Nothing more to show.
    }
  }
  process.exitCode = 1;
} finally {
  await context.close();
  rmSync(userDataDir, { recursive: true, force: true });
}
