import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import type { AppEnv } from '../../api/http/env.js';
import { limitBody } from '../../api/http/middleware/body-limit.js';

/** An app behind the limit whose handler echoes the body's length, so a passed body is seen to arrive whole. */
function appWithLimit(maxSize: number) {
  const app = new Hono<AppEnv>();
  app.use('*', limitBody({ maxSize, onError: (c) => c.json({ code: 'payload_too_large' }, 413) }));
  app.all('*', async (c) => c.json({ length: (await c.req.text()).length }));
  return app;
}

const streamOf = (text: string) =>
  new ReadableStream<Uint8Array>({
    start(controller) {
      const bytes = new TextEncoder().encode(text);
      for (let i = 0; i < bytes.length; i += 100) controller.enqueue(bytes.subarray(i, i + 100));
      controller.close();
    },
  });

describe('limitBody', () => {
  it('refuses a body whose declared Content-Length is over the limit', async () => {
    const response = await appWithLimit(1000).request('/', {
      method: 'POST',
      headers: { 'content-length': '1001' },
      body: 'x'.repeat(1001),
    });
    expect(response.status).toBe(413);
  });

  it('passes a declared body at the limit through whole', async () => {
    const response = await appWithLimit(1000).request('/', {
      method: 'POST',
      headers: { 'content-length': '1000' },
      body: 'x'.repeat(1000),
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ length: 1000 });
  });

  it('counts a body sent without a length (chunked) and refuses it past the limit', async () => {
    const app = appWithLimit(1000);
    const send = (text: string) =>
      app.request('/', { method: 'POST', body: streamOf(text), duplex: 'half' } as RequestInit);
    expect((await send('x'.repeat(1001))).status).toBe(413);
    const passed = await send('x'.repeat(999));
    expect(passed.status).toBe(200);
    expect(await passed.json()).toEqual({ length: 999 });
  });

  it('decides a declared length from the header without opening the body stream', async () => {
    // On the Node server, the first read of `request.body` builds a full Request with a web stream over the socket.
    let bodyReads = 0;
    const counting = (request: Request) =>
      new Proxy(request, {
        get(target, key) {
          if (key === 'body') bodyReads += 1;
          const value = Reflect.get(target, key, target);
          return typeof value === 'function' ? value.bind(target) : value;
        },
      });
    const app = new Hono<AppEnv>();
    app.use('*', limitBody({ maxSize: 1000, onError: (c) => c.json({ code: 'payload_too_large' }, 413) }));
    app.post('*', (c) => c.body(null, 204));
    const send = (size: number) =>
      app.fetch(
        counting(
          new Request('http://broker.test/', {
            method: 'POST',
            headers: { 'content-length': String(size) },
            body: 'x'.repeat(size),
          }),
        ),
      );
    expect((await send(10)).status).toBe(204);
    expect((await send(1001)).status).toBe(413);
    expect(bodyReads).toBe(0);
  });

  it('lets GET through', async () => {
    const response = await appWithLimit(10).request('/');
    expect(response.status).toBe(200);
  });
});
