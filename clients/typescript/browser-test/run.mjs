// Headless Chromium (the system's, through puppeteer-core: nothing is
// downloaded) opens a page on the origin http://localhost:5173, which the
// demo allows cross-origin; the page's document is answered by request
// interception, its gRPC-Web calls go to the real gateway (CORS included).
//
//   node run.mjs GATEWAY_ADDR CHROMIUM PAGE_BUNDLE
import { readFileSync } from "node:fs";
import puppeteer from "puppeteer-core";

const [addr, chromium, bundle] = process.argv.slice(2);
const origin = "http://localhost:5173";
const html = `<!doctype html><html><body><pre id="result"></pre><script src="/page.js"></script></body></html>`;
const script = readFileSync(bundle, "utf8");

const browser = await puppeteer.launch({
  executablePath: chromium,
  headless: true,
  // Containers and CI run as root without user namespaces.
  args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-features=LocalNetworkAccessChecks"],
});
try {
  const page = await browser.newPage();
  await page.setRequestInterception(true);
  page.on("request", (req) => {
    if (req.url() === `${origin}/page.js`) {
      req.respond({ status: 200, contentType: "text/javascript", body: script });
    } else if (req.url().startsWith(origin + "/")) {
      req.respond({ status: 200, contentType: "text/html", body: html });
    } else {
      req.continue();
    }
  });
  page.on("console", (m) => console.log(`page: ${m.text()}`));
  await page.goto(`${origin}/?gateway=${encodeURIComponent("http://" + addr)}`);
  await page.waitForSelector("#result[data-done]", { timeout: 60_000 });
  const text = await page.$eval("#result", (e) => e.textContent);
  console.log(text);
  const got = JSON.parse(text);
  const ok =
    got.ok &&
    got.ok.names.length === 3 &&
    got.ok.names.every((n) => n.startsWith("workspaces/demo-dataworks/releasePackages/")) &&
    got.ok.nextPageToken &&
    got.ok.invalid.code === 3 &&
    got.ok.invalid.fields.includes("page_size") &&
    got.ok.invalid.reason === "INVALID_ARGUMENT";
  if (!ok) {
    console.error("browser test: the page did not list three release packages and read INVALID_ARGUMENT's details over gRPC-Web");
    process.exit(1);
  }
  console.log("browser test: datastudio-gateway-client/web listed release packages and read BadRequest and ErrorInfo over gRPC-Web from a cross-origin page");
} finally {
  await browser.close();
}
