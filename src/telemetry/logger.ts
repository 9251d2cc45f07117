// The process logger. Credentials are kept out twice: the decision log never copies them in (see
// decisionLog.ts), and pino's redaction censors the places they could appear if something did.
import { pino, type DestinationStream, type Logger } from 'pino';

export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
  'headers.cookie',
  'headers["proxy-authorization"]',
  'input.attributes.request.http.headers.authorization',
  'input.attributes.request.http.headers.cookie',
  'input.attributes.request.http.headers["proxy-authorization"]',
  'input.attributes.request.http.body',
  'input.attributes.request.http.rawBody',
  'token',
  'adminToken',
  'config.admin.token',
];

export function createLogger(level: string, destination?: DestinationStream): Logger {
  const options = {
    level,
    base: { service: 'portcullis' },
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
  };
  return destination === undefined ? pino(options) : pino(options, destination);
}
