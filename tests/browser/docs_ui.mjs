// Opens the API documentation pages in headless Chromium with every request to a host other
// than the app's blocked, waits until each shows what it must, screenshots it, and prints as
// JSON what each page showed and every request that was blocked:
// node docs_ui.mjs BASE_URL SCREENSHOT_DIR
import { launch } from "./launch.mjs";

const [base, shots] = process.argv.slice(2);
const app = new URL(base).host;
const blocked = [];
const browser = await launch();
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  await context.route("**/*", (route) => {
    const url = route.request().url();
    if (new URL(url).host === app) return route.continue();
    blocked.push(url);
    return route.abort();
  });
  const page = await context.newPage();
  page.setDefaultTimeout(20000);
  const shown = {};

  await page.goto(new URL("/docs", base).href);
  await page.locator(".opblock-summary-path").first().waitFor();
  await page.locator(".opblock-summary-path").first().click(); // expand the first operation
  await page.locator(".opblock-body").first().waitFor();
  shown.docs = await page.locator(".opblock-summary-path").allTextContents();
  await page.screenshot({ path: `${shots}/swagger-ui.png` });

  await page.goto(new URL("/redoc", base).href);
  await page.locator('[data-section-id^="operation/"]').first().waitFor();
  shown.redoc = await page.locator('[data-section-id^="operation/"] h2').allTextContents();
  await page.screenshot({ path: `${shots}/redoc.png` });

  await page.goto(new URL("/asyncapi", base).href);
  const viewer = page.locator("asyncapi-viewer");
  await viewer.getByText("/chat/{room}").first().waitFor();
  await viewer.getByText("Said").first().waitFor();
  const text = await viewer.evaluate((el) => (el.shadowRoot ?? el).textContent);
  shown.asyncapi = ["/chat/{room}", "Say", "Typing", "Said", "Presence", "4009"].filter((t) =>
    text.includes(t),
  );
  await page.screenshot({ path: `${shots}/asyncapi.png` });

  console.log(JSON.stringify({ shown, blocked }));
} finally {
  await browser.close();
}
