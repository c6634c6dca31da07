/**
 * The `nca play` HTTP server: the site of site.ts on 127.0.0.1 (a free port unless one is asked
 * for), GET/HEAD only, nothing else. It sends the cross-origin isolation headers (COOP/COEP) so the
 * bench page may use onnxruntime-web's threads; the page itself needs none of it.
 */
import { createServer, type Server } from 'node:http';
import { UserError } from '../errors.js';
import { contentType, type Site } from './site.js';

export interface PlayServer {
  /** http://127.0.0.1:<port>/ */
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

/** Serve `site` on 127.0.0.1:`port` (0 = a free port chosen by the system). */
export async function startServer(site: Site, port = 0): Promise<PlayServer> {
  const server: Server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://localhost').pathname).replace(/^\/+/, '') || 'index.html';
    const entry = site.get(path.endsWith('/') ? `${path}index.html` : path);
    const headers = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp', 'Cache-Control': 'no-cache' };
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { ...headers, Allow: 'GET, HEAD' }).end();
      return;
    }
    if (!entry) {
      res.writeHead(404, { ...headers, 'Content-Type': 'text/plain' }).end(`not found: /${path}\n`);
      return;
    }
    entry.read().then(
      (body) => {
        res.writeHead(200, { ...headers, 'Content-Type': contentType(path), 'Content-Length': body.byteLength });
        res.end(req.method === 'HEAD' ? undefined : body);
      },
      (e: unknown) => {
        res.writeHead(500, { ...headers, 'Content-Type': 'text/plain' }).end(`${e instanceof Error ? e.message : String(e)}\n`);
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) =>
      reject(e.code === 'EADDRINUSE' ? new UserError(`port ${port} is in use; choose another with --port or leave it out for a free one`) : e.code === 'EACCES' ? new UserError(`port ${port} needs privileges; choose one above 1023 with --port`) : e),
    );
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  const actual = typeof address === 'object' && address ? address.port : port;
  return {
    url: `http://127.0.0.1:${actual}/`,
    port: actual,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
