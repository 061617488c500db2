// A throttling proxy for the browser tests (docs/webui.md "Tests"): the
// tiny stories260K answers in a few milliseconds, too fast to press Stop
// in the middle of it. The test routes the page's POST /api/chat here
// (playwright's route.continue with another URL, which the page does not
// see) and this server forwards it to the real `ccai serve`, then passes
// the NDJSON answer on one line every `delayMs`. When the browser drops
// the connection (Stop, Escape) it stops forwarding and aborts the request
// to the server, and records what it had passed on, so a test can compare
// the partial answer the page kept with the lines it was sent.
import https from 'node:https';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { makeCert } from './lying-verifier.mjs';

// target: the ccai server's origin (https, self-signed: not checked here,
// the proxy only slows the stream down). Resolves {url, last, close()};
// last is the latest request's record {body, lines: [string], clientClosed,
// upstreamEnded}.
export async function startSlowProxy({ dir, target, delayMs = 60 }) {
  mkdirSync(join(dir, 'proxy'), { recursive: true });
  const tls = makeCert(join(dir, 'proxy'));
  const t = new URL(target);
  const rec = { last: null };
  const server = https.createServer(tls, (req, res) => {
    const chunks = [];
    req.on('data', (d) => chunks.push(d));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const r = { body: body.toString('utf8'), lines: [], clientClosed: false, upstreamEnded: false };
      rec.last = r;
      const headers = { ...req.headers, host: t.host };
      const up = https.request({ host: t.hostname, port: t.port, path: req.url, method: req.method, headers,
        rejectUnauthorized: false }, (ur) => {
        res.writeHead(ur.statusCode, { 'Content-Type': ur.headers['content-type'] || 'application/octet-stream' });
        const queue = [];
        let buf = '';
        let timer = null;
        const pump = () => {
          timer = null;
          if (r.clientClosed) return;
          if (queue.length) {
            const l = queue.shift();
            r.lines.push(l);
            res.write(`${l}\n`);
            timer = setTimeout(pump, delayMs);
          } else if (r.upstreamEnded) {
            res.end();
          }
        };
        ur.setEncoding('utf8');
        ur.on('data', (d) => {
          buf += d;
          const parts = buf.split('\n');
          buf = parts.pop();
          queue.push(...parts.filter((l) => l.trim()));
          if (!timer) pump();
        });
        ur.on('end', () => {
          if (buf.trim()) queue.push(buf);
          r.upstreamEnded = true;
          if (!timer) pump();
        });
      });
      up.on('error', () => res.destroy());
      res.on('close', () => {
        if (!res.writableFinished) {
          r.clientClosed = true;
          up.destroy();
        }
      });
      up.end(body);
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `https://127.0.0.1:${server.address().port}`,
    get last() { return rec.last; },
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(resolve); }),
  };
}
