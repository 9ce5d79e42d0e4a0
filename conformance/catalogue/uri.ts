/**
 * URI: the length limit on the request line. Django's WSGIRequestHandler.handle_one_request reads at most 65537 bytes
 * of it (CRLF included) and answers more than 65536 with 414.
 */
import {
  defineCheck,
  describeClose,
  describeResponse,
  fail,
  headerValue,
  hostOf,
  isClosed,
  isServed,
  onlyResponse,
  parseErrorPage,
  pass,
  requestLineOfLength,
} from './check-kit.ts';
import type { Endpoint } from '../wire/types.ts';
import type { Requirement } from './types.ts';

const HANDLE_ONE_REQUEST = 'Django 3.2 django/core/servers/basehttp.py WSGIRequestHandler.handle_one_request';
/** The longest request line Django serves, CRLF included. */
export const MAX_REQUEST_LINE = 65536;

/** A GET whose request line, CRLF included, is `length` bytes. */
export function requestWithLineOf(ep: Endpoint, length: number, method = 'GET'): Buffer {
  return Buffer.from(`${requestLineOfLength(method, 'HTTP/1.1', length)}Host: ${hostOf(ep)}\r\nConnection: close\r\n\r\n`, 'latin1');
}

export const uriRequirements: Requirement[] = [
  {
    id: 'URI-414',
    title: 'A request line longer than 65536 bytes gets 414, then close',
    profiles: ['django'],
    level: 'MUST',
    source: HANDLE_ONE_REQUEST,
    needs: {},
    check: defineCheck(
      'a 65537-byte request line (CRLF included) gets `HTTP/1.1 414 Request-URI Too Long` with Connection: close and an error page with code 414, then close',
      async (t) => {
        const conversation = await t.exchange(`request line of ${MAX_REQUEST_LINE + 1} bytes`, requestWithLineOf(t.endpoint, MAX_REQUEST_LINE + 1), { methods: ['GET'] });
        const response = onlyResponse(conversation, `${MAX_REQUEST_LINE + 1}-byte request line`);
        const page = parseErrorPage(response.body);
        if (
          response.kind !== 'status' ||
          response.status !== 414 ||
          response.reason !== 'Request-URI Too Long' ||
          headerValue(response, 'connection') !== 'close' ||
          page?.code !== 414
        ) {
          return fail(`${describeResponse(response)}; expected HTTP/1.1 414 Request-URI Too Long with Connection: close and the error page`);
        }
        if (!isClosed(conversation.close)) return fail(`the 414 came, then ${describeClose(conversation.close)}`);
        return pass(`${describeResponse(response)} with the error page, then ${describeClose(conversation.close)}`);
      },
    ),
  },
  {
    id: 'URI-LIMIT-EXACT',
    title: 'A request line of exactly 65536 bytes is served',
    profiles: ['django'],
    level: 'MUST',
    source: HANDLE_ONE_REQUEST,
    needs: {},
    check: defineCheck('a 65536-byte request line (CRLF included) is served normally: a complete response with a status below 400', async (t) => {
      const conversation = await t.exchange(`request line of ${MAX_REQUEST_LINE} bytes`, requestWithLineOf(t.endpoint, MAX_REQUEST_LINE), { methods: ['GET'] });
      const response = onlyResponse(conversation, `${MAX_REQUEST_LINE}-byte request line`);
      if (!isServed(response)) return fail(`${describeResponse(response)}; expected the request to be served`);
      return pass(`served: ${describeResponse(response)}`);
    }),
  },
];
