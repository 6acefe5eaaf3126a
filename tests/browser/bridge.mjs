// One page in headless Chromium, driven from a test through stdin and stdout, one JSON object a
// line each way: node bridge.mjs URL. Once the page has loaded and its module has set
// window.hubjs, it prints {"ok": "ready"}; then for each line it reads it prints one answer:
//   {"js": EXPRESSION}                   -> {"ok": its value (awaited)} or {"error": message}
//   {"wait": EXPRESSION, "timeout": ms}  -> {"ok": its first truthy value} (polled)
//   {"offline": true | false}            -> {"ok": null}: the browser's network goes off or on
//   {"reload": true}                     -> {"ok": null}: the page is loaded again
// The page's errors and console go to stderr.
import * as readline from "node:readline";

import { launch } from "./launch.mjs";

const [url] = process.argv.slice(2);
const browser = await launch();
try {
  const context = await browser.newContext();
  const page = await context.newPage();
  page.setDefaultTimeout(20000);
  page.on("pageerror", (error) => console.error(`page error: ${error}`));
  page.on("console", (message) => console.error(`console: ${message.text()}`));
  const load = async () => {
    await page.goto(url);
    await page.waitForFunction(() => window.hubjs !== undefined);
  };
  await load();
  console.log(JSON.stringify({ ok: "ready" }));
  for await (const line of readline.createInterface({ input: process.stdin })) {
    const command = JSON.parse(line);
    let answer;
    try {
      if ("js" in command) {
        answer = { ok: (await page.evaluate(command.js)) ?? null };
      } else if ("wait" in command) {
        const options = { timeout: command.timeout ?? 20000, polling: 50 };
        const handle = await page.waitForFunction(command.wait, null, options);
        answer = { ok: (await handle.jsonValue()) ?? null };
      } else if ("offline" in command) {
        await context.setOffline(command.offline);
        answer = { ok: null };
      } else if ("reload" in command) {
        await load();
        answer = { ok: null };
      } else {
        answer = { error: `unknown command ${line}` };
      }
    } catch (error) {
      answer = { error: String(error) };
    }
    console.log(JSON.stringify(answer));
  }
} finally {
  await browser.close();
}
