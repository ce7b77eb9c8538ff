// The browser's side of tests/browser.rs: one headless Chromium, driven by
// Playwright, doing what the Rust test asks and saying what it sees.
//
// The test writes one command a line on our standard input, its words
// separated by tabs; we answer each with one line on standard output:
// `ok`, then a tab and the result's words, tab-separated, or `fail`, a tab
// and why. The test decides what is right: this side only acts, waits
// (never longer than PATIENCE_MS) and reports. The lines the page shows are
// escaped (render.rs's `^[`), so no tab or newline ever hides in a result.
//
// Commands:
//   launch                  start the browser (once, first)
//   open URL                a fresh phone-sized page at URL; result: its CSP
//   line                    the log's next line; result: its class, its text
//                           as shown (with its time when Times is on)
//   sender                  the sender's name in the line `line` last gave,
//                           and `bold` if it alone is bold there, or `plain`
//   style                   the line `line` last gave: its font weight and
//                           the style of its left border
//   times                   click Times, then the input; result: that
//                           line's text now
//   placeholder             what the input's placeholder says now
//   type TEXT               type TEXT into the focused input, then Enter
//   paste TEXT              paste TEXT there at once, then Enter
//   enter                   Enter in the input
//   clear                   empty the input, as a person would
//   value                   what the input holds
//   me                      the header's `You are NAME`
//   who                     the list named `Who is here`: its items' texts,
//                           none when it is not shown
//   title                   the document's title
//   hide, show              the tab goes to the background, comes back:
//                           the page is told so as by a browser (headless
//                           Chromium keeps every tab visible)
//   wait-status TEXT        wait until the status has said TEXT since the
//                           last wait-status
//   statuses                every status said since the page opened
//   try-now                 click Try now
//   keyboard-reconnect      Shift+Tab from the input to Reconnect, then Enter
//   wait-open               wait until the page says it is connected
//   wait-closed             wait until the page waits to be asked to
//                           reconnect; result: the status
//   safe                    no <img> anywhere, window.__pwned unset
//   layout                  the input in view, nothing wider than the screen
//   scroll-up               scroll the log up, as a reader would
//   at-end                  whether the log shows its last line: yes or no
//   screenshot PATH SCHEME  a screenshot, in the light or dark scheme
//   errors                  what the page logged as errors since it opened

import { createInterface } from 'node:readline';
import { chromium } from 'playwright-core';

const PATIENCE_MS = 20_000;

let browser = null;
let context = null;
let page = null;
// How many of the log's lines `line` has reported.
let cursor = 0;
// How many of the statuses seen `wait-status` has gone past.
let statusCursor = 0;
// Errors the page logged (a CSP violation among them) and its exceptions.
let errors = [];

const commands = {
  async launch() {
    browser = await chromium.launch({
      executablePath: process.env.CHAT_CHROMIUM || '/usr/bin/chromium',
      // As root (CI) Chromium's sandbox cannot start; the rest keep it off
      // the network it has no business with.
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
        // The TLS test's certificate, made at test time: trusted by its
        // key's hash, and nothing else is.
        ...(process.env.CHAT_TRUST_SPKI
          ? [`--ignore-certificate-errors-spki-list=${process.env.CHAT_TRUST_SPKI}`]
          : []),
      ],
      timeout: 60_000,
    });
    return [browser.version()];
  },

  async open(url) {
    if (context !== null) await context.close();
    context = await browser.newContext({
      viewport: { width: 390, height: 740 },
      deviceScaleFactor: 2,
      isMobile: true,
      hasTouch: true,
      colorScheme: 'light',
    });
    page = await context.newPage();
    page.setDefaultTimeout(PATIENCE_MS);
    cursor = 0;
    statusCursor = 0;
    errors = [];
    page.on('console', (message) => {
      if (message.type() === 'error') errors.push(message.text());
    });
    page.on('pageerror', (error) => errors.push(String(error)));
    const response = await page.goto(url);
    // Every status the page says, in order: a countdown's steps pass
    // faster than a test asks.
    await page.evaluate(() => {
      const status = document.getElementById('status');
      window.__statuses = [status.textContent];
      new MutationObserver(() => {
        const text = status.textContent;
        if (window.__statuses.at(-1) !== text) window.__statuses.push(text);
      }).observe(status, { childList: true, characterData: true, subtree: true });
    });
    return [response.headers()['content-security-policy'] ?? '(no CSP)'];
  },

  async line() {
    try {
      await page.locator('#log > *').nth(cursor).waitFor({ state: 'attached' });
    } catch {
      const shown = await page.$$eval('#log > *', (lines) => lines.map((line) => line.textContent));
      throw new Error(`no line ${cursor + 1} within ${PATIENCE_MS} ms; the log: ${JSON.stringify(shown)}`);
    }
    const [kind, text] = await page.$eval(
      `#log > :nth-child(${cursor + 1})`,
      (line) => [line.className, line.innerText],
    );
    cursor += 1;
    return [kind, text];
  },

  async sender() {
    return await page.$eval(`#log > :nth-child(${cursor})`, (line) => {
      const name = line.querySelector('.who');
      if (name === null) return ['(none)', 'plain'];
      const weight = (element) => Number(getComputedStyle(element).fontWeight);
      return [name.textContent, weight(name) >= 600 && weight(line) < 600 ? 'bold' : 'plain'];
    });
  },

  async style() {
    return await page.$eval(`#log > :nth-child(${cursor})`, (line) => {
      const style = getComputedStyle(line);
      return [String(style.fontWeight), style.borderLeftStyle];
    });
  },

  async times() {
    await page.getByLabel('Times').click();
    // Then back to the input, as a person would, to type on.
    await page.locator('#line').click();
    return [await page.$eval(`#log > :nth-child(${cursor})`, (line) => line.innerText)];
  },

  async clear() {
    await focusedInput();
    await page.keyboard.press('ControlOrMeta+A');
    await page.keyboard.press('Backspace');
    return [];
  },

  async value() {
    return [await page.$eval('#line', (input) => input.value)];
  },

  async me() {
    return [await page.$eval('#me', (me) => me.textContent)];
  },

  async who() {
    const list = page.getByRole('list', { name: 'Who is here' });
    if (await list.count() === 0) return [];
    return await list.getByRole('listitem').allTextContents();
  },

  async title() {
    return [await page.title()];
  },

  async hide() {
    await visibility('hidden');
    return [];
  },

  async show() {
    await visibility('visible');
    return [];
  },

  async 'wait-status'(text) {
    const at = await page.waitForFunction(([text, from]) => {
      const at = window.__statuses.indexOf(text, from);
      return at >= 0 ? at + 1 : null;
    }, [text, statusCursor]).then((handle) => handle.jsonValue()).catch(async () => {
      const seen = await page.evaluate(() => window.__statuses);
      throw new Error(`the status never said ${JSON.stringify(text)}: ${JSON.stringify(seen)}`);
    });
    statusCursor = at;
    return [];
  },

  async statuses() {
    return await page.evaluate(() => window.__statuses);
  },

  async 'try-now'() {
    await page.getByRole('button', { name: 'Try now' }).click();
    return [];
  },

  async placeholder() {
    return [await page.$eval('#line', (input) => input.placeholder)];
  },

  async type(text) {
    await focusedInput();
    await page.keyboard.type(text);
    await page.keyboard.press('Enter');
    return [];
  },

  async paste(text) {
    await focusedInput();
    await page.keyboard.insertText(text);
    await page.keyboard.press('Enter');
    return [];
  },

  async enter() {
    await focusedInput();
    await page.keyboard.press('Enter');
    return [];
  },

  async 'keyboard-reconnect'() {
    await focusedInput();
    for (let tries = 0; tries < 5; tries++) {
      await page.keyboard.press('Shift+Tab');
      if (await page.evaluate(() => document.activeElement.id === 'reconnect')) {
        await page.keyboard.press('Enter');
        return [];
      }
    }
    throw new Error('Shift+Tab from the input never reached the Reconnect button');
  },

  async 'wait-open'() {
    await page.locator('#bar[data-state="open"]').waitFor({ state: 'attached' });
    return [];
  },

  async 'wait-closed'() {
    await page.locator('#bar[data-state="closed"]').waitFor({ state: 'attached' });
    return [await page.$eval('#status', (status) => status.textContent)];
  },

  async safe() {
    const images = await page.evaluate(() => document.querySelectorAll('img').length);
    const pwned = await page.evaluate(() => typeof window.__pwned);
    if (images !== 0) throw new Error(`${images} <img> element(s) in the document`);
    if (pwned !== 'undefined') throw new Error(`window.__pwned is ${pwned}: a peer's markup ran`);
    return [];
  },

  async layout() {
    const facts = await page.evaluate(() => {
      const input = document.getElementById('line').getBoundingClientRect();
      return {
        inputTop: input.top,
        inputBottom: input.bottom,
        height: window.innerHeight,
        width: window.innerWidth,
        pageWidth: document.documentElement.scrollWidth,
      };
    });
    if (facts.inputTop < facts.height / 2 || facts.inputBottom > facts.height) {
      throw new Error(`the input is not at the bottom of the screen: ${JSON.stringify(facts)}`);
    }
    if (facts.pageWidth > facts.width) {
      throw new Error(`the page is wider than the screen: ${JSON.stringify(facts)}`);
    }
    return [];
  },

  async 'scroll-up'() {
    const overflow = await page.$eval('#log', (log) => log.scrollHeight - log.clientHeight);
    if (overflow < 20) throw new Error(`the log is not long enough to scroll up (${overflow} px more than it shows)`);
    await page.locator('#log').hover();
    await page.mouse.wheel(0, -100_000);
    await page.waitForFunction(() => document.getElementById('log').scrollTop === 0);
    // The page hears of the scroll at the next frame; wait for it too.
    await page.evaluate(() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done))));
    return [];
  },

  async 'at-end'() {
    const atEnd = await page.$eval('#log', (log) => log.scrollHeight - log.scrollTop - log.clientHeight < 4);
    return [atEnd ? 'yes' : 'no'];
  },

  async screenshot(path, scheme) {
    await page.emulateMedia({ colorScheme: scheme });
    await page.screenshot({ path });
    await page.emulateMedia({ colorScheme: 'light' });
    return [];
  },

  async errors() {
    return errors;
  },
};

// What a browser does when its tab is hidden or shown, for a headless one.
async function visibility(state) {
  await page.evaluate((state) => {
    for (const [name, value] of [['visibilityState', state], ['hidden', state === 'hidden']]) {
      Object.defineProperty(document, name, { configurable: true, get: () => value });
    }
    document.dispatchEvent(new Event('visibilitychange'));
  }, state);
}

// Typing goes where a person's keys would: the input must have the focus.
async function focusedInput() {
  const focused = await page.evaluate(() => document.activeElement && document.activeElement.id);
  if (focused !== 'line') throw new Error(`the input does not have the focus (${focused} has)`);
}

const input = createInterface({ input: process.stdin, crlfDelay: Infinity });
for await (const request of input) {
  const [name, ...args] = request.split('\t');
  const command = commands[name];
  let reply;
  try {
    if (command === undefined) throw new Error(`no command ${JSON.stringify(name)}`);
    reply = ['ok', ...(await command(...args))];
  } catch (error) {
    reply = ['fail', String(error.message || error).replace(/[\t\n\r]+/g, ' ')];
  }
  process.stdout.write(reply.map((word) => word.replace(/[\t\n]/g, ' ')).join('\t') + '\n');
}
if (browser !== null) await browser.close();
