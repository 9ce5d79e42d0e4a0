/**
 * Small gateway applications for the reference server's tests, keyed by the first segment of the path. The same
 * catalogue, in Python, runs under real Django in test/support/python-oracle.py (`serve`): keep the two in step, so
 * that one request sent to both servers must come back the same.
 */
import type { Application, Environ, HeaderList, InputStream, StartResponse } from '../../reference/gateway.ts';
import { HTTP_STATUS } from '../../reference/http-status.ts';

const text = (): HeaderList => [['Content-Type', 'text/plain']];
const bytes = (value: string) => Buffer.from(value, 'latin1');

/** Printable ASCII as is, every other latin-1 byte (and %) as %XX: exact, and readable in a diff. */
function percentEscape(value: string): string {
  let out = '';
  for (const ch of value) {
    const code = ch.charCodeAt(0);
    out += code >= 0x21 && code <= 0x7e && ch !== '%' ? ch : '%' + code.toString(16).toUpperCase().padStart(2, '0');
  }
  return out;
}

/** The environ as text: the keys the server set (not inherited unchanged from the process environment), sorted. */
function environLines(environ: Environ): string {
  const lines: string[] = [];
  for (const key of Object.keys(environ).sort()) {
    const value = environ[key];
    let rendered: string;
    if (key.startsWith('wsgi.')) {
      if (typeof value === 'boolean') rendered = String(value);
      else if (key === 'wsgi.version') rendered = (value as number[]).join('.');
      else if (typeof value === 'string') rendered = value;
      else rendered = 'present';
    } else if (typeof value === 'string' && process.env[key] !== value) {
      rendered = percentEscape(value);
    } else {
      continue;
    }
    lines.push(`${key}: ${rendered}\n`);
  }
  return lines.join('');
}

const input = (environ: Environ) => environ['wsgi.input'] as InputStream;

const badStatus =
  (status: string): Application =>
  (_environ, startResponse) => {
    startResponse(status, text());
    return [bytes('unreachable')];
  };

/** 128 MiB with a Content-Length, far more than the socket buffers hold, in blocks: a client can hang up while the server is still writing. */
const BIG_CHUNK_SIZE = 65536;
const BIG_CHUNKS = 2048;

const CATALOGUE: Readonly<Record<string, Application>> = {
  hello: (_environ, startResponse) => {
    startResponse('200 OK', text());
    return [bytes('hello')];
  },
  status: (environ, startResponse) => {
    const code = Number(environ['QUERY_STRING']);
    startResponse(`${code} ${HTTP_STATUS.get(code)!.phrase}`, text());
    return [bytes('status')];
  },
  'status-short': badStatus('200'),
  'status-nondigit': badStatus('2x0 OK'),
  'status-nospace': badStatus('200-OK'),
  'header-nonstring': (_environ, startResponse) => {
    // What a dynamically typed application can hand over; the server must check it.
    startResponse('200 OK', [['X-Count', 5 as unknown as string]]);
    return [bytes('unreachable')];
  },
  hop: (environ, startResponse) => {
    startResponse('200 OK', [[String(environ['QUERY_STRING']), 'x']]);
    return [bytes('unreachable')];
  },
  'headers-twice': (_environ, startResponse) => {
    startResponse('200 OK', text());
    startResponse('201 Created', text());
    return [bytes('unreachable')];
  },
  'exc-info-early': (_environ, startResponse) => {
    startResponse('200 OK', text());
    try {
      throw new Error('before any byte was sent');
    } catch (err) {
      startResponse('503 Service Unavailable', text(), err);
    }
    return [bytes('recovered')];
  },
  'exc-info-late': (_environ, startResponse) => {
    startResponse('200 OK', text());
    return (function* () {
      yield bytes('first');
      try {
        throw new Error('after the headers were sent');
      } catch (err) {
        startResponse('500 Internal Server Error', text(), err);
      }
      yield bytes('never');
    })();
  },
  chunks: (_environ, startResponse) => {
    startResponse('200 OK', text());
    return [bytes('a'), bytes('b'), bytes('c')];
  },
  generator: (_environ, startResponse) => {
    startResponse('200 OK', text());
    return (function* () {
      yield bytes('gen');
    })();
  },
  empty: (_environ, startResponse) => {
    startResponse('200 OK', text());
    return [];
  },
  'empty-chunk': (_environ, startResponse) => {
    startResponse('200 OK', text());
    return [Buffer.alloc(0)];
  },
  'preset-length': (_environ, startResponse) => {
    startResponse('200 OK', [...text(), ['Content-Length', '10']]);
    return [];
  },
  'own-date-server': (_environ, startResponse) => {
    startResponse('200 OK', [...text(), ['Date', 'Thu, 01 Jan 1970 00:00:00 GMT'], ['Server', 'mine']]);
    return [bytes('own')];
  },
  read: async (environ, startResponse) => {
    const argument = String(environ['QUERY_STRING']);
    const data = argument === 'all' ? await input(environ).read() : await input(environ).read(Number(argument));
    startResponse('200 OK', text());
    return [data];
  },
  readlines: async (environ, startResponse) => {
    const stream = input(environ);
    const lines = [await stream.readline(), await stream.readline(-1), await stream.readline()];
    startResponse('200 OK', text());
    return [Buffer.concat(lines.flatMap((line, i) => (i === 0 ? [line] : [bytes('|'), line])))];
  },
  'write-callable': async (_environ, startResponse: StartResponse) => {
    const write = startResponse('200 OK', text());
    await write(bytes('legacy '));
    return [bytes('tail')];
  },
  raise: () => {
    throw new Error('before start_response');
  },
  'raise-in-iter': (_environ, startResponse) => {
    startResponse('200 OK', text());
    return (function* (): Generator<Buffer> {
      throw new Error('before the first chunk');
    })();
  },
  nonbytes: (_environ, startResponse) => {
    startResponse('200 OK', text());
    return ['text' as unknown as Buffer];
  },
  'latin1-header': (_environ, startResponse) => {
    startResponse('200 OK', [...text(), ['X-Euro', '\u20ac']]);
    return [bytes('x')];
  },
  environ: (environ, startResponse) => {
    startResponse('200 OK', text());
    return [bytes(environLines(environ))];
  },
  big: (_environ, startResponse) => {
    startResponse('200 OK', [...text(), ['Content-Length', String(BIG_CHUNK_SIZE * BIG_CHUNKS)]]);
    return (function* () {
      for (let i = 0; i < BIG_CHUNKS; i++) yield Buffer.alloc(BIG_CHUNK_SIZE, 'x');
    })();
  },
};

/** Dispatches on the first path segment; anything unknown says hello. */
export const catalogueApplication: Application = (environ, startResponse) => {
  const name = String(environ['PATH_INFO']).split('/')[1] ?? '';
  return (CATALOGUE[name] ?? CATALOGUE['hello']!)(environ, startResponse);
};
