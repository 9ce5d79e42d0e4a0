/**
 * The generators of fuzz cases: small named arbitraries composed into bigger ones, the way fast-check's own guides
 * compose them (characters → tokens → fields → requests → pipelines → cases). Every arbitrary yields plain data
 * (cases.ts), and each shrinks towards the simplest bytes: `GET`, `/`, `HTTP/1.1`, no header, no body, one write.
 *
 * Two flavours: `django` reaches every corner the model (model.ts) can judge, odd bytes and lies included; `sane` keeps
 * to requests every WSGI server and origin server must serve alike, for the wsgi and rfc profiles.
 */
import fc from 'fast-check';
import type { Part, RequestSpec, WireCase } from './cases.ts';
import { MAX_HEADER_LINE, MAX_HEADERS, MAX_REQUEST_LINE } from './model.ts';

export type Flavour = 'django' | 'sane';

/** Every oneof shrinks across to its first branch, the simplest: a value can leave an odd branch when the plain one fails too. */
const CROSS_SHRINK = { withCrossShrink: true } as const;
const chars = (text: string): fc.Arbitrary<string> => fc.constantFrom(...text.split(''));
const latin1Range = (from: number, to: number): fc.Arbitrary<string> => fc.integer({ min: from, max: to }).map((code) => String.fromCharCode(code));
const joined = (parts: fc.Arbitrary<string[]>): fc.Arbitrary<string> => parts.map((list) => list.join(''));

// --- Characters ------------------------------------------------------------------------------------------------------

export const alphaNumeric = chars('abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789');
/** RFC 9110 tchar. */
export const tokenChar = fc.oneof(CROSS_SHRINK, { weight: 6, arbitrary: alphaNumeric }, { weight: 1, arbitrary: chars("!#$%&'*+-.^_`|~") });
/** `-` and `_`, which header names hold in every position (HDR-UNDERSCORE-STRIP). */
export const nameSeparator = chars('-_');
export const visibleChar = latin1Range(0x21, 0x7e);
/** Bytes 0x80-0xFF, which the server reads as latin-1. */
export const obsText = latin1Range(0x80, 0xff);
/** C0 controls other than CR and LF, and DEL. */
export const controlChar = fc.oneof(CROSS_SHRINK, latin1Range(0x00, 0x08), latin1Range(0x0b, 0x0c), latin1Range(0x0e, 0x1f), fc.constant('\x7f'));
/** Whitespace Python splits a request line on, SP and HTAB among others (\x0b \x0c \x1c-\x1f \x85 \xa0). */
export const pythonSpace = chars(' \t\x0b\x0c\x1c\x1d\x1e\x1f\x85\xa0');
export const bareLineBreak = chars('\r\n');
const hexDigit = chars('0123456789abcdefABCDEF');

// --- Request line pieces ---------------------------------------------------------------------------------------------

export const commonMethod = fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD', 'get', 'PROPFIND');
export const tokenMethod = joined(fc.array(tokenChar, { minLength: 1, maxLength: 10 }));
export const method = (flavour: Flavour): fc.Arbitrary<string> =>
  flavour === 'django' ? fc.oneof(CROSS_SHRINK, { weight: 4, arbitrary: commonMethod }, { weight: 1, arbitrary: tokenMethod }) : commonMethod.filter((m) => m !== 'HEAD');

export const percentEncoded = fc.oneof(CROSS_SHRINK, 
  { weight: 4, arbitrary: fc.tuple(hexDigit, hexDigit).map(([a, b]) => `%${a}${b}`) },
  { weight: 1, arbitrary: fc.constantFrom('%2F', '%2f', '%00', '%3F', '%25', '%20', '%C3%A9', '%FF') },
  /** Not an escape at all: unquote leaves it as it is. */
  { weight: 1, arbitrary: fc.constantFrom('%', '%4', '%zz', '%%41') },
);
export const pathChar = fc.oneof(CROSS_SHRINK, { weight: 8, arbitrary: alphaNumeric }, { weight: 2, arbitrary: chars("-._~!$&'()*+,;=:@") });
/** Bytes a path should not hold but a server may be sent: raw latin-1, NUL and other controls (never a Python space, which splits the line). */
export const oddPathChar = fc.oneof(CROSS_SHRINK, obsText.filter((c) => c !== '\x85' && c !== '\xa0'), latin1Range(0x00, 0x08), latin1Range(0x0e, 0x1b), fc.constant('\x7f'));

export const pathSegment = (flavour: Flavour): fc.Arbitrary<string> =>
  joined(
    fc.array(
      flavour === 'django'
        ? fc.oneof(CROSS_SHRINK, { weight: 30, arbitrary: pathChar }, { weight: 4, arbitrary: percentEncoded }, { weight: 1, arbitrary: oddPathChar })
        : fc.oneof(CROSS_SHRINK, { weight: 10, arbitrary: pathChar }, { weight: 1, arbitrary: percentEncoded.filter((e) => /^%[0-9a-fA-F]{2}$/.test(e)) }),
      { maxLength: 8 },
    ),
  );

export const query = (flavour: Flavour): fc.Arbitrary<string> =>
  joined(fc.array(fc.oneof(CROSS_SHRINK, { weight: 6, arbitrary: pathChar }, { weight: 1, arbitrary: chars('?/') }, { weight: 1, arbitrary: percentEncoded }, ...(flavour === 'django' ? [{ weight: 1, arbitrary: oddPathChar }] : [])), { maxLength: 10 }));

/** Origin-form targets with percent-encoding and odd bytes; for django also `//`-led paths, `*` and absolute-form. */
export const requestTarget = (flavour: Flavour): fc.Arbitrary<string> => {
  const originForm = fc
    .tuple(fc.array(pathSegment(flavour), { maxLength: 4 }), fc.option(query(flavour), { nil: undefined }))
    .map(([segments, q]) => `/${segments.join('/')}${q === undefined ? '' : `?${q}`}`);
  if (flavour === 'sane') return originForm.filter((t) => !t.startsWith('//'));
  return fc.oneof(CROSS_SHRINK, { weight: 12, arbitrary: originForm }, { weight: 1, arbitrary: originForm.map((t) => `//${t}`) }, { weight: 1, arbitrary: fc.constantFrom('*', 'http://h1spec.test/x?y') });
};

/** Mostly HTTP/1.1, whose connections stay open for the next case; HTTP/1.0 and (django) odd spellings parse_request accepts. */
export const version = (flavour: Flavour): fc.Arbitrary<string> =>
  fc.oneof(CROSS_SHRINK, 
    { weight: 6, arbitrary: fc.constant('HTTP/1.1') },
    { weight: 2, arbitrary: fc.constant('HTTP/1.0') },
    ...(flavour === 'django' ? [{ weight: 1, arbitrary: fc.constantFrom('HTTP/1.2', 'HTTP/01.1', 'HTTP/1.10', 'HTTP/1.01', 'HTTP/1.1_0', 'HTTP/+1.1', 'HTTP/0.9', 'HTTP/1.9') }] : []),
  );

/** Versions from 1.1 up, after which Django keeps the connection open: mostly HTTP/1.1, for django odd spellings of it too. */
export const persistentVersion = (flavour: Flavour): fc.Arbitrary<string> =>
  flavour === 'django' ? fc.oneof(CROSS_SHRINK, { weight: 8, arbitrary: fc.constant('HTTP/1.1') }, { weight: 1, arbitrary: fc.constantFrom('HTTP/1.2', 'HTTP/01.1', 'HTTP/1.10', 'HTTP/1.1_0', 'HTTP/+1.1', 'HTTP/1.9') }) : fc.constant('HTTP/1.1');

/** Versions parse_request refuses (bare 400) or does not support (bare 505). */
export const badVersion = fc.constantFrom('HTTP/1', 'HTTP/1.1.1', 'FOO/1.1', 'http/1.1', 'HTTP/1.x', 'HTTP/-1.1', 'HTTP/1.1a', 'HTTP/ 1.1', 'HTTP/2.0', 'HTTP/3.0', 'HTTP/2.1', 'HTTP/10.0', 'HTTP/99999999999.1', 'HTTP/1.1/', 'HTTP', '');

// --- Header fields ---------------------------------------------------------------------------------------------------

/** Names of token characters with `-` and `_` anywhere, the first character included. */
export const randomHeaderName = joined(fc.array(fc.oneof(CROSS_SHRINK, { weight: 4, arbitrary: tokenChar }, { weight: 1, arbitrary: nameSeparator }), { minLength: 1, maxLength: 12 }));
export const knownHeaderName = fc.constantFrom('X_Forwarded_For', 'Host', 'User-Agent', 'Accept', 'X-Forwarded-For', 'Content-Type', 'Content_Type', 'Content_Length', 'X-Real-IP', 'Cookie', 'Remote-Addr', 'Server-Port', 'Http-X-A', 'X-A', 'x-a', 'X_A');
export const headerName = (flavour: Flavour): fc.Arbitrary<string> => {
  const names = fc.oneof(CROSS_SHRINK, { weight: 3, arbitrary: randomHeaderName }, { weight: 1, arbitrary: knownHeaderName });
  // The sane flavour keeps clear of names that spell a CGI key (Django skips them) and of the framing headers.
  return flavour === 'django' ? names : names.filter((n) => !/^(remote|server|http|content|path|query|script|request|gateway|connection|transfer|expect|host)/i.test(n.replaceAll('_', '-')));
};

/**
 * `lineBreaks`: bare CR and LF too, which can end a head early (a bare LF then a CRLF is a blank line) or hide the
 * fields after them from the email parser (a bare CR then a CRLF is a blank line to it), Content-Length among them.
 */
export const headerValueChar = (flavour: Flavour, lineBreaks = true): fc.Arbitrary<string> =>
  flavour === 'django'
    ? fc.oneof(CROSS_SHRINK, { weight: 12, arbitrary: visibleChar }, { weight: 2, arbitrary: chars(' \t') }, { weight: 2, arbitrary: obsText }, { weight: 1, arbitrary: controlChar }, ...(lineBreaks ? [{ weight: 1, arbitrary: bareLineBreak }] : []))
    : fc.oneof(CROSS_SHRINK, { weight: 12, arbitrary: alphaNumeric }, { weight: 2, arbitrary: visibleChar.filter((c) => c !== '"' && c !== '\\' && c !== ',') });

/** Values of visible characters with inner spaces: what most requests carry. */
export const plainHeaderValue = joined(fc.array(fc.oneof(CROSS_SHRINK, { weight: 8, arbitrary: visibleChar }, { weight: 1, arbitrary: fc.constant(' ') }), { maxLength: 16 })).map((v) => v.trim());

/** Mostly plain values; for django also odd ones (spaces at the ends, latin-1, controls, bare CR or LF) and obs-folds. */
export const headerValue = (flavour: Flavour, lineBreaks = true): fc.Arbitrary<string> => {
  const odd = joined(fc.array(headerValueChar(flavour, lineBreaks), { maxLength: 16 }));
  if (flavour === 'sane') return odd;
  return fc.oneof(CROSS_SHRINK, { weight: 10, arbitrary: plainHeaderValue }, { weight: 2, arbitrary: odd }, { weight: 1, arbitrary: fc.tuple(plainHeaderValue, plainHeaderValue).map(([a, b]) => `${a}\r\n ${b}`) });
};

export const headerField = (flavour: Flavour, lineBreaks = true): fc.Arbitrary<[string, string]> => fc.tuple(headerName(flavour), headerValue(flavour, lineBreaks));

/** Field lists; django's repeat names (some in other cases), whose values the server joins with commas. */
export const headerFields = (flavour: Flavour, lineBreaks = true): fc.Arbitrary<Array<[string, string]>> => {
  const fields = fc.array(headerField(flavour, lineBreaks), { maxLength: 6 });
  if (flavour === 'sane') return fields.filter((list) => new Set(list.map(([n]) => n.toLowerCase().replaceAll('_', '-'))).size === list.length);
  return fc.tuple(fields, fc.array(fc.nat(), { maxLength: 2 })).map(([list, repeats]) => {
    const out = [...list];
    for (const r of repeats) if (list.length > 0) out.push([list[r % list.length]![0], `again${r % 10}`]);
    return out;
  });
};

export const connectionValue = fc.constantFrom('close', 'keep-alive', 'Close', 'KEEP-ALIVE', 'close, foo', 'keep-alive ', 'Upgrade', '');
export const expectValue = fc.constantFrom('100-continue', '100-Continue', '100-continue ', '200-ok');

export const probeAction = fc.oneof(CROSS_SHRINK, 
  fc.constantFrom('no-length', 'raise', 'raise-after-headers'),
  fc.integer({ min: 0, max: 12 }).map((n) => `read:${n}`),
  fc.constantFrom(200, 201, 400, 404, 418, 500, 503).map((code) => `status:${code}`),
);
export const probeActions = fc.array(probeAction, { minLength: 1, maxLength: 2 }).map((actions) => actions.join(','));

// --- Bodies ----------------------------------------------------------------------------------------------------------

export const bodyBytes = joined(fc.array(fc.oneof(CROSS_SHRINK, { weight: 6, arbitrary: alphaNumeric }, { weight: 1, arbitrary: latin1Range(0x00, 0xff) }), { maxLength: 24 }));

/** How a body is framed: not at all, by a Content-Length true or false (django: odd spellings too), by chunks (django). */
export type Framing = 'none' | 'length' | 'short-length' | 'long-length' | 'odd-length' | 'chunked' | 'chunked-and-length';
export const framing = (flavour: Flavour): fc.Arbitrary<Framing> =>
  flavour === 'django'
    ? fc.oneof(CROSS_SHRINK, 
        { weight: 8, arbitrary: fc.constantFrom<Framing>('none', 'length') },
        { weight: 1, arbitrary: fc.constantFrom<Framing>('short-length', 'long-length', 'odd-length', 'chunked', 'chunked-and-length') },
      )
    : fc.constantFrom<Framing>('none', 'length');
const oddLength = fc.constantFrom((n: number) => ` ${n}`, (n: number) => `${n} `, (n: number) => `+${n}`, (n: number) => `0${n}`, (n: number) => `${n}_0`, (n: number) => `0x${n}`, (n: number) => `-${n}`, () => 'abc', () => '');

function chunked(body: string): string {
  return body.length === 0 ? '0\r\n\r\n' : `${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n`;
}

/** The framing headers and the bytes after the head. */
export const framedBody = (flavour: Flavour): fc.Arbitrary<{ headers: Array<[string, string]>; body: string }> =>
  fc.tuple(framing(flavour), bodyBytes, oddLength).map(([how, body, odd]) => {
    switch (how) {
      case 'none':
        return { headers: [], body: '' };
      case 'length':
        return { headers: [['Content-Length', String(body.length)]], body };
      case 'short-length':
        return { headers: [['Content-Length', String(Math.floor(body.length / 2))]], body };
      case 'long-length':
        return { headers: [['Content-Length', String(body.length + 3)]], body };
      case 'odd-length':
        return { headers: [['Content-Length', odd(body.length)]], body };
      case 'chunked':
        return { headers: [['Transfer-Encoding', 'chunked']], body: chunked(body) };
      case 'chunked-and-length': {
        const framed = chunked(body);
        return { headers: [['Transfer-Encoding', 'chunked'], ['Content-Length', String(framed.length)]], body: framed };
      }
    }
  });

// --- Requests, pipelines, cases -------------------------------------------------------------------------------------

export interface RequestOptions {
  /** Fewer Connection headers, as several requests share a connection. */
  pipelined?: boolean;
  /** Requests after which the connection stays open and framed: HTTP/1.1, no Connection header, no action that closes, no body that lies. */
  persistent?: boolean;
}

/** Probe actions that leave the connection open. */
const persistentProbeActions = fc.oneof(CROSS_SHRINK, fc.integer({ min: 0, max: 12 }).map((n) => `read:${n}`), fc.constantFrom(200, 201, 404, 418, 500).map((code) => `status:${code}`), fc.constant('raise'));

/** Extra headers that steer the server: Connection, Expect, and (django) the probe's actions. */
const steering = (flavour: Flavour, options: RequestOptions): fc.Arbitrary<Array<[string, string]>> => {
  const connectionValues = flavour === 'django' ? connectionValue : fc.constantFrom('close', 'keep-alive');
  const connection = options.persistent ? fc.constant(undefined) : fc.option(connectionValues, { nil: undefined, freq: options.pipelined ? 3 : 6 });
  const expect = flavour === 'django' ? fc.option(expectValue, { nil: undefined, freq: 8 }) : fc.constant(undefined);
  const actions = flavour === 'django' ? fc.option(options.persistent ? persistentProbeActions : probeActions, { nil: undefined, freq: 4 }) : fc.constant(undefined);
  return fc.tuple(connection, expect, actions).map(([c, e, a]) => {
    const headers: Array<[string, string]> = [];
    if (c !== undefined) headers.push(['Connection', c]);
    if (e !== undefined) headers.push(['Expect', e]);
    if (a !== undefined) headers.push(['X-Probe-Action', a]);
    return headers;
  });
};

export const requestSpec = (flavour: Flavour, options: RequestOptions = {}): fc.Arbitrary<RequestSpec> =>
  fc
    .tuple(
      method(flavour),
      requestTarget(flavour),
      options.persistent ? persistentVersion(flavour) : version(flavour),
      headerFields(flavour, !options.persistent),
      steering(flavour, options),
      framedBody(options.persistent ? 'sane' : flavour),
    )
    .map(([m, target, v, fields, steer, framed]) => {
      // The sane flavour keeps HTTP/1.0 to requests that close, so every server agrees on where the connection ends.
      const closing = flavour === 'sane' && v === 'HTTP/1.0' && steer.length > 0 ? steer.filter(([n]) => n !== 'Connection') : steer;
      return { method: m, target, version: v, headers: [...fields, ...closing, ...framed.headers], body: framed.body };
    });

/** Cut points into separate writes; none most of the time. */
export const splits = fc.array(fc.nat(), { maxLength: 3 });

const asCase = (parts: Part[], cuts: number[]): WireCase => ({ parts, splits: cuts });

export const singleRequestCase = (flavour: Flavour): fc.Arbitrary<WireCase> => fc.tuple(requestSpec(flavour), splits).map(([spec, cuts]) => asCase([{ request: spec }], cuts));

/**
 * One to eight requests for the environ, sent back to back so a case costs one write. Each keeps the connection open
 * and framed, so every one is answered (keep-alive's pipelines cover the environ of the requests that close).
 */
export const requestBatchCase = (flavour: Flavour): fc.Arbitrary<WireCase> =>
  fc.tuple(fc.array(requestSpec(flavour, { persistent: true }), { minLength: 1, maxLength: 8 }), splits).map(([specs, cuts]) => asCase(specs.map((request) => ({ request })), cuts));

/** One to four requests back to back on one connection, with every Connection variant and (django) bodies that lie. */
export const pipelineCase = (flavour: Flavour): fc.Arbitrary<WireCase> =>
  fc.tuple(fc.array(requestSpec(flavour, { pipelined: true }), { minLength: 1, maxLength: 5 }), splits).map(([specs, cuts]) => asCase(specs.map((request) => ({ request })), cuts));

// --- Around the limits ------------------------------------------------------------------------------------------------

export type Limit = 'request-line' | 'header-line' | 'header-count';
export interface LimitShape {
  limit: Limit;
  /** How far from the largest size served: 0 is the last served, 1 the first refused. */
  offset: number;
  method: string;
  /** A request pipelined behind, which must go unanswered once the server has refused (KA-ERROR-CLOSE). */
  follow: boolean;
}

export const limitShape: fc.Arbitrary<LimitShape> = fc.record({
  limit: fc.constantFrom<Limit>('request-line', 'header-line', 'header-count'),
  offset: fc.integer({ min: -2, max: 3 }),
  method: fc.constantFrom('GET', 'HEAD'),
  follow: fc.boolean(),
});

const FOLLOWER: RequestSpec = { method: 'GET', target: '/after-the-limit', version: 'HTTP/1.1', headers: [], body: '' };

/** A request whose request line, one header line (each counted with its CRLF) or header count sits `offset` from its limit. */
export function limitCase(shape: LimitShape): WireCase {
  const spec: RequestSpec = { method: shape.method, target: '/', version: 'HTTP/1.1', headers: [], body: '' };
  if (shape.limit === 'request-line') {
    const fixed = `${shape.method}  HTTP/1.1\r\n`.length;
    spec.target = '/' + 'a'.repeat(MAX_REQUEST_LINE + shape.offset - fixed - 1);
  } else if (shape.limit === 'header-line') {
    spec.headers = [['X-Long', 'a'.repeat(MAX_HEADER_LINE + shape.offset - 'X-Long: \r\n'.length)]];
  } else {
    // The blank line that ends the head counts towards the limit, so MAX_HEADERS - 1 field lines are the most served.
    spec.headers = Array.from({ length: MAX_HEADERS - 1 + shape.offset }, (_, i) => [`X-${i}`, 'a'] as [string, string]);
  }
  const parts: Part[] = [{ request: spec }];
  if (shape.follow) parts.push({ request: FOLLOWER });
  return asCase(parts, []);
}

export const limitCaseArbitrary: fc.Arbitrary<WireCase> = limitShape.map(limitCase);

// --- The malformed side ---------------------------------------------------------------------------------------------

const lineEnd = fc.constantFrom('\r\n', '\n', '\r\r\n', '\n\r\n');
const word = fc.oneof(CROSS_SHRINK, commonMethod, requestTarget('django'), badVersion, version('django'), joined(fc.array(fc.oneof(CROSS_SHRINK, visibleChar, obsText, controlChar), { minLength: 1, maxLength: 6 })));

/** Request lines of any word count, split by any Python whitespace, ending in any line break, then the end of the head. */
export const malformedRequestLine = fc
  .tuple(fc.array(word, { maxLength: 5 }), fc.array(pythonSpace, { minLength: 4, maxLength: 4 }), lineEnd)
  .map(([words, spaces, end]) => words.map((w, i) => (i === 0 ? w : `${spaces[i % spaces.length]}${w}`)).join('') + end + '\r\n');

export const http2Preface = fc.constant('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
/** PROXY protocol v1 (text) and v2 (binary signature), which a server that does not expect them reads as a request line. */
export const proxyProtocolHeader = fc.oneof(CROSS_SHRINK, 
  fc.constantFrom('PROXY TCP4 127.0.0.1 127.0.0.1 56324 80\r\n', 'PROXY TCP6 ::1 ::1 56324 80\r\n', 'PROXY UNKNOWN\r\n'),
  fc.constant('\r\n\r\n\x00\r\nQUIT\n\x21\x11\x00\x0c\x7f\x00\x00\x01\x7f\x00\x00\x01\xdc\x04\x00\x50'),
);
/** Blank lines before a request (KA-EMPTY-LINE; RFC 9112 §2.2 would skip them). */
export const leadingBlankLines = fc.constantFrom('\r\n', '\n', '\r\n\r\n');

const SIMPLE_REQUEST: RequestSpec = { method: 'GET', target: '/', version: 'HTTP/1.1', headers: [], body: '' };

/** One malformed opening, optionally followed by a well-formed request that must then go unanswered or be served. */
export const malformedCase: fc.Arbitrary<WireCase> = fc
  .tuple(
    fc.oneof(CROSS_SHRINK, { weight: 6, arbitrary: malformedRequestLine }, { weight: 1, arbitrary: http2Preface }, { weight: 1, arbitrary: proxyProtocolHeader }, { weight: 1, arbitrary: leadingBlankLines }),
    fc.boolean(),
    splits,
  )
  .map(([raw, follow, cuts]) => asCase(follow ? [{ raw }, { request: SIMPLE_REQUEST }] : [{ raw }], cuts));

/** Malformed request lines for the rfc profile: three words with a bad version, or a word too many or too few. */
export const rfcMalformedCase: fc.Arbitrary<WireCase> = fc
  .oneof(
    fc.tuple(commonMethod, requestTarget('sane'), badVersion.filter((v) => v !== '' && !v.includes(' '))).map(([m, t, v]) => `${m} ${t} ${v}\r\n\r\n`),
    fc.tuple(commonMethod, requestTarget('sane')).map(([m, t]) => `${m} ${t} extra HTTP/1.1\r\n\r\n`),
    commonMethod.map((m) => `${m}\r\n\r\n`),
  )
  .map((raw) => asCase([{ raw }], []));

/** Anything at all: random bytes, or a request with bytes overwritten, for "the target stays alive". */
export const garbageCase: fc.Arbitrary<WireCase> = fc.oneof(CROSS_SHRINK, 
  joined(fc.array(latin1Range(0x00, 0xff), { maxLength: 200 })).map((raw) => asCase([{ raw }], [])),
  fc
    .tuple(requestSpec('django'), fc.array(fc.tuple(fc.nat(), latin1Range(0x00, 0xff)), { minLength: 1, maxLength: 4 }))
    .map(([spec, edits]) => {
      const { method: m, target, version: v, headers, body } = spec;
      const text = [`${m} ${target} ${v}\r\n`, ...headers.map(([n, value]) => `${n}: ${value}\r\n`), '\r\n', body].join('').split('');
      for (const [at, byte] of edits) text[at % text.length] = byte;
      return asCase([{ raw: text.join('') }], []);
    }),
);

// --- TLS ClientHellos ------------------------------------------------------------------------------------------------

/** A ClientHello captured from Node's TLS client, with where its random fields lie. */
export interface HelloTemplate {
  variant: string;
  bytes: Buffer;
  /** [offset, length] of each field the TLS client filled with random bytes: client random, session ID, key shares. */
  randomFields: Array<[number, number]>;
}

/** Real hellos made deterministic: each random field is overwritten from generated bytes, so a seed replays the same hello. */
export const tlsHelloCase = (templates: readonly HelloTemplate[]): fc.Arbitrary<WireCase> =>
  fc.tuple(fc.nat({ max: templates.length - 1 }), fc.uint8Array({ minLength: 32, maxLength: 32 })).map(([index, entropy]) => {
    const template = templates[index]!;
    const bytes = Buffer.from(template.bytes);
    let next = 0;
    for (const [offset, length] of template.randomFields) {
      for (let i = 0; i < length; i++) bytes[offset + i] = entropy[next++ % entropy.length]!;
    }
    return asCase([{ raw: bytes.toString('latin1') }], []);
  });
