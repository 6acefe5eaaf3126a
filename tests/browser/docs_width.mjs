// Opens pages of the built docs in headless Chromium at each viewport size and prints, as
// JSON, for each size and page: its code blocks, the width of their box in characters of
// their font, and every block whose content is wider than its box (scrollWidth > clientWidth):
//   node docs_width.mjs WIDTHxHEIGHT[,WIDTHxHEIGHT...] URL...
import { launch } from "./launch.mjs";

const [sizes, ...urls] = process.argv.slice(2);

function measure() {
  const blocks = [...document.querySelectorAll("div.highlight pre, pre.literal-block")];
  let columns = null;
  if (blocks.length) {
    const pre = blocks[0];
    const probe = document.createElement("span");
    probe.textContent = "x".repeat(100);
    Object.assign(probe.style, { whiteSpace: "pre", display: "inline-block" });
    pre.appendChild(probe);
    const style = getComputedStyle(pre);
    const inner = pre.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
    columns = Math.floor(inner / (probe.getBoundingClientRect().width / 100));
    probe.remove();
  }
  const longest = (text) => text.split("\n").reduce((a, b) => (b.length > a.length ? b : a), "");
  const overflowing = blocks
    .filter((pre) => pre.scrollWidth > pre.clientWidth)
    .map((pre) => ({
      scrollWidth: pre.scrollWidth,
      clientWidth: pre.clientWidth,
      line: longest(pre.textContent),
    }));
  return { blocks: blocks.length, columns, overflowing };
}

const browser = await launch();
try {
  const result = {};
  for (const size of sizes.split(",")) {
    const [width, height] = size.split("x").map(Number);
    const page = await browser.newPage({ viewport: { width, height }, deviceScaleFactor: 1 });
    page.setDefaultTimeout(20000);
    result[size] = [];
    for (const url of urls) {
      await page.goto(url);
      result[size].push({ url, ...(await page.evaluate(measure)) });
    }
    await page.close();
  }
  console.log(JSON.stringify(result));
} finally {
  await browser.close();
}
