// Opens the Hub chat's page three times in headless Chromium: ann and bob in one room, cat in
// another. ann says hello, cat asks in its room; prints what each page shows, as JSON:
// node chat.mjs BASE_URL
import { launch } from "./launch.mjs";

const [base] = process.argv.slice(2);
const browser = await launch();

async function open(room, username) {
  const page = await browser.newPage();
  page.setDefaultTimeout(20000);
  await page.goto(`${base}?room=${room}&username=${username}`);
  await page.locator("#status", { hasText: "connected" }).waitFor();
  return page;
}

async function say(page, text) {
  await page.fill("#messageInput", text);
  await page.click("button");
}

async function shown(page) {
  return {
    lines: await page.locator("#messages p").allTextContents(),
    members: await page.textContent("#members"),
  };
}

try {
  const ann = await open("lobby", "ann");
  const bob = await open("lobby", "bob");
  await ann.locator("#messages p", { hasText: "bob joined" }).waitFor();
  const cat = await open("garden", "cat");
  await say(ann, "hello bob");
  await bob.locator("#messages p", { hasText: "ann: hello bob" }).waitFor();
  await say(cat, "anyone here?");
  await cat.locator("#messages p", { hasText: "cat: anyone here?" }).waitFor();
  await say(bob, "hi ann");
  await ann.locator("#messages p", { hasText: "bob: hi ann" }).waitFor();
  // cat's room has had its own message answered (above); anything of the lobby's would have
  // reached it before that, on the same connection
  console.log(
    JSON.stringify({ ann: await shown(ann), bob: await shown(bob), cat: await shown(cat) }),
  );
} finally {
  await browser.close();
}
