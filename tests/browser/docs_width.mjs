// Opens pages of the built docs in headless Chromium at one viewport size and prints, as JSON,
// every code block whose content is wider than its box (scrollWidth > clientWidth), with the
// width of that box in characters of its font:
//   node docs_width.mjs WIDTH HEIGHT URL...
import { launch } from "./launch.mjs";

const [width, height, ...urls] = process.argv.slice(2);
const browser = await launch();
try {
  const page = await browser.newPage({
    viewport: { width: Number(width), height: Number(height) },
    deviceScaleFactor: 1,
  });
  page.setDefaultTimeout(20000);
  const pages = [];
  for (const url of urls) {
    await page.goto(url);
    const measured = await page.evaluate(() => {
      const blocks = [...document.querySelectorAll("div.highlight pre, pre.literal-block")];
      const probe = document.createElement("span");
      probe.textContent = "x".repeat(100);
      const first = blocks[0];
      let columns = null;
      if (first) {
        first.appendChild(probe);
        const style = getComputedStyle(first);
        const inner = first.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
        columns = Math.floor(inner / (probe.getBoundingClientRect().width / 100));
        probe.remove();
      }
      const overflowing = blocks
        .filter((pre) => pre.scrollWidth > pre.clientWidth)
        .map((pre) => ({
          scrollWidth: pre.scrollWidth,
          clientWidth: pre.clientWidth,
          line: pre.textContent.split("\n").reduce((a, b) => (b.length > a.length ? b : a), ""),
        }));
      return { blocks: blocks.length, columns, overflowing };
    });
    pages.push({ url, ...measured });
  }
  console.log(JSON.stringify(pages));
} finally {
  await browser.close();
}
