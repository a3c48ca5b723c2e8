// The "host page": a tenant's own site, on another origin than kefu (another port), that embeds the widget with
// the snippet from API.md. GET /?key=<widget key>[&base=<kefu base>][&stub=<JSON>] answers a plain page with
// `<script src="{base}/widget/kefu.js" data-widget-key="..." async></script>`. The page carries aggressive CSS
// of its own (every button restyled, a huge font) so the tests can see that the widget's shadow DOM is isolated.
// With `stub`, the page first defines `window.Kefu = {q: <stub>}`: calls queued before kefu.js loads.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

const escapeAttr = (s: string) => s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');

/** The page for a widget key and kefu base. */
export function hostPage(base: string, key: string, extraHead = ''): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Acme shop</title>
<style>
  body { font: 40px/1.2 Georgia, serif; margin: 0; padding: 2rem; background: #fafaf5; color: #222; }
  button, input, textarea, select, div { background: hotpink !important; border: 4px dashed lime !important; font-size: 40px !important; }
</style>
${extraHead}
</head>
<body>
<main>
<h1>Acme shop</h1>
<p>Welcome to our shop. Questions? Chat with us.</p>
</main>
<script src="${escapeAttr(base)}/widget/kefu.js" data-widget-key="${escapeAttr(key)}" async></script>
</body>
</html>
`;
}

/** Starts the host-page server on 127.0.0.1:0; `defaultBase` is used when the URL names no `base`. */
export async function startHostServer(defaultBase: string): Promise<{ base: string; server: Server }> {
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://host.invalid');
    if (url.pathname !== '/' && url.pathname !== '/index.html') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    const key = url.searchParams.get('key') ?? '';
    const base = url.searchParams.get('base') ?? defaultBase;
    const stub = url.searchParams.get('stub');
    // JSON inside a <script>: `<` is escaped so the value cannot close the element.
    const head = stub ? `<script>window.Kefu = { q: ${JSON.stringify(JSON.parse(stub)).replace(/</g, '\\u003c')} };</script>` : '';
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
    res.end(hostPage(base, key, head));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  // "localhost" rather than 127.0.0.1: a different host name as well as a different port, so that the page is
  // plainly another origin (and another site) than kefu's.
  return { base: `http://localhost:${port}`, server };
}
