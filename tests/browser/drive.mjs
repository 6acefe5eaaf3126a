// Opens the demo's page in headless Chromium, sends one message with its form, and prints the
// lines the page shows, as JSON: node drive.mjs URL MESSAGE [SCREENSHOT.png]
import { launch } from "./launch.mjs";

const [url, message, screenshot] = process.argv.slice(2);
const browser = await launch();
try {
  const page = await browser.newPage();
  page.setDefaultTimeout(20000);
  await page.goto(url);
  await page.locator("#messages p", { hasText: "Connected to server" }).waitFor();
  await page.fill("#messageInput", message);
  await page.click("button");
  await page.locator("#messages p", { hasText: "Server: " }).waitFor();
  const lines = await page.locator("#messages p").allTextContents();
  if (screenshot) await page.screenshot({ path: screenshot });
  console.log(JSON.stringify({ lines, input: await page.inputValue("#messageInput") }));
} finally {
  await browser.close();
}
