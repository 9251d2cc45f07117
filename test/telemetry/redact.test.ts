// What a log may show of a URL or a request path: no userinfo, no credential query parameter.
import { describe, expect, it } from 'vitest';
import {
  REDACTED,
  isSecretParameter,
  redactInput,
  redactQueryString,
  redactUrl,
  splitUserinfo,
} from '../../src/telemetry/redact.js';

describe('redactUrl', () => {
  it('hides the userinfo of a URL, password and user alike', () => {
    expect(redactUrl('redis://default:hunter2@redis.internal:6379/0')).toBe('redis://***@redis.internal:6379/0');
    expect(redactUrl('https://alice@idp.example/jwks')).toBe('https://***@idp.example/jwks');
  });

  it('redacts credential query parameters and keeps the others, in order', () => {
    expect(redactUrl('/orders?page=2&access_token=eyJ.x.y&sort=asc')).toBe(
      `/orders?page=2&access_token=${REDACTED}&sort=asc`,
    );
    expect(redactUrl('https://app.example/cb?code=abc&state=xyz#access_token=t&token_type=bearer')).toBe(
      `https://app.example/cb?code=${REDACTED}&state=xyz#access_token=${REDACTED}&token_type=${REDACTED}`,
    );
  });

  it('recognises credential names by their words, however they are written', () => {
    for (const name of [
      'access_token',
      'id_token',
      'X-Amz-Signature',
      'X-Amz-Credential',
      'apiKey',
      'api-key',
      'client_secret',
      'password',
      'sessionId',
      'sig',
      'jwt',
      'access%5Ftoken',
    ]) {
      expect(redactQueryString(`${name}=v`), name).toBe(`${name}=${REDACTED}`);
    }
    for (const name of ['page', 'monkey', 'tokenizer', 'q', 'sort']) expect(isSecretParameter(name), name).toBe(false);
  });

  it('redacts configured token parameters whatever their name', () => {
    expect(redactUrl('/x?t=abc&u=1', new Set(['t']))).toBe(`/x?t=${REDACTED}&u=1`);
  });

  it('leaves text that is neither a URL nor a path alone', () => {
    expect(redactUrl('Mozilla/5.0 (X11; Linux x86_64)')).toBe('Mozilla/5.0 (X11; Linux x86_64)');
    expect(redactUrl('/plain/path')).toBe('/plain/path');
  });
});

describe('splitUserinfo', () => {
  it('returns the URL without credentials and the decoded credentials', () => {
    expect(splitUserinfo('https://alice:s3cr%40t@idp.example/jwks')).toEqual({
      url: 'https://idp.example/jwks',
      username: 'alice',
      password: 's3cr@t',
    });
    expect(splitUserinfo('https://idp.example/jwks')).toBeNull();
  });
});

describe('redactInput', () => {
  const input = {
    attributes: {
      request: {
        http: {
          path: '/x?access_token=T1&page=2',
          query: 'access_token=T1&page=2',
          headers: {
            ':path': '/x?access_token=T1&page=2',
            'x-envoy-original-path': '/orig?token=T2&page=2',
            referer: 'https://u:PW@app.example/p?api_key=T3#access_token=T4',
            authorization: 'Bearer T5',
            'user-agent': 'curl/8',
          },
          headerMap: { ':path': '/x?access_token=T1' },
        },
      },
    },
    parsed_query: { access_token: ['T1'], page: ['2'] },
  };

  it('leaves no credential anywhere the path or a URL appears, and keeps everything else', () => {
    const redacted = redactInput(input, { headers: new Set(['authorization']), queryParameters: new Set() });
    const text = JSON.stringify(redacted);
    for (const secret of ['T1', 'T2', 'T3', 'T4', 'T5', 'PW']) expect(text, secret).not.toContain(secret);
    expect(redacted).toMatchObject({
      attributes: {
        request: {
          http: {
            path: `/x?access_token=${REDACTED}&page=2`,
            query: `access_token=${REDACTED}&page=2`,
            headers: {
              ':path': `/x?access_token=${REDACTED}&page=2`,
              'x-envoy-original-path': `/orig?token=${REDACTED}&page=2`,
              'user-agent': 'curl/8',
            },
          },
        },
      },
      parsed_query: { access_token: [REDACTED], page: ['2'] },
    });
  });

  it('does not change the input it was given', () => {
    const before = JSON.stringify(input);
    redactInput(input, { headers: new Set(['authorization']), queryParameters: new Set() });
    expect(JSON.stringify(input)).toBe(before);
  });
});

describe('copies for the log keep exact numbers', () => {
  it('an ExactNumber in the input stays one (its nearest double in JSON), not a {isLosslessNumber, value} object', async () => {
    const { ExactNumber } = await import('../../src/input/exactJson.js');
    const { copyJson, redactInput } = await import('../../src/telemetry/redact.js');
    const big = new ExactNumber('9007199254740993');
    const input = { parsed_body: { n: big, list: [big] }, attributes: { request: { http: { headers: {} } } } };
    const copy = copyJson(input) as { parsed_body: { n: unknown; list: unknown[] } };
    expect(copy.parsed_body.n).toBeInstanceOf(ExactNumber);
    expect(copy.parsed_body).not.toBe(input.parsed_body);
    const logged = JSON.stringify(redactInput(input, { headers: new Set(), queryParameters: new Set() }));
    expect(logged).toContain('"n":9007199254740992');
    expect(logged).not.toContain('isLosslessNumber');
  });
});
