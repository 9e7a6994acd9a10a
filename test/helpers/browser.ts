import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { createDemoApp } from '../../examples/demo/app.js';
import { MaintenanceService } from '../../src/index.js';
import { captureLogger } from './app.js';

/** Debian's Chromium (or CHROMIUM_PATH). */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
/** Where screenshots go (looked at by people; not committed). */
export const RESULTS = resolve(__dirname, '..', '..', '..', 'test-results');
/** Chromium logs the document's own 503 status as a console error; that one line is the expected answer. */
const DOCUMENT_503 =
  'console: Failed to load resource: the server responded with a status of 503 (Service Unavailable)';
/** The problems of a page other than its own 503 status. */
export const unexpected = (problems: string[]) => problems.filter((p) => p !== DOCUMENT_503);

/** Every console error, page error, failed or external request of a page, so a test can assert there were none. */
export function watch(page: Page) {
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  page.on('requestfailed', (r) => problems.push(`requestfailed: ${r.url()} ${r.failure()?.errorText}`));
  page.on('request', (r) => {
    if (!r.url().startsWith('http://127.0.0.1:') && !r.url().startsWith('data:')) problems.push(`external: ${r.url()}`);
  });
  return problems;
}

/** Headless Debian Chromium, quiet (no background requests). */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** The demo app on a free port with its own state file, and headless Chromium to look at it. */
export interface BrowserDemo {
  readonly base: string;
  readonly browser: Browser;
  readonly service: MaintenanceService;
  newPage(options?: {
    viewport?: { width: number; height: number };
    locale?: string;
    colorScheme?: 'light' | 'dark';
  }): Promise<{ page: Page; problems: string[] }>;
  /** Signs `page` in as the demo superuser. */
  signIn(page: Page): Promise<void>;
  close(): Promise<void>;
}

/** Starts the demo and Chromium (call after `requireBinary(this, CHROMIUM, 'chromium')`). */
export async function startBrowserDemo(): Promise<BrowserDemo> {
  mkdirSync(RESULTS, { recursive: true });
  const dir = mkdtempSync(join(tmpdir(), 'kmm-browser-'));
  // storeTimeoutMs 5 s: these tests look at pages, and a file write beside a running Chromium on 2 busy cores once
  // took longer than the default 500 ms.
  const service = new MaintenanceService({
    stateFilePath: join(dir, 'state.json'),
    logger: captureLogger(),
    storeTimeoutMs: 5000,
  });
  const server: Server = createDemoApp({ service }).listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const browser = await launchChromium();
  const contexts: BrowserContext[] = [];
  return {
    base,
    browser,
    service,
    async newPage(options = {}) {
      const context = await browser.newContext({
        viewport: options.viewport ?? { width: 1280, height: 800 },
        colorScheme: options.colorScheme ?? 'light',
        ...(options.locale ? { locale: options.locale } : {}),
      });
      contexts.push(context);
      const page = await context.newPage();
      return { page, problems: watch(page) };
    },
    async signIn(page) {
      await page.goto(`${base}/login`);
      await page.fill('input[name=username]', 'demo');
      await page.fill('input[name=password]', 'demo');
      await Promise.all([page.waitForURL(`${base}/`), page.click('#sign-in')]);
    },
    async close() {
      await Promise.all(contexts.map((c) => c.close()));
      await browser.close();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
      await service.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
