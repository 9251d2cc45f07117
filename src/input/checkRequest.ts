// The shape of a CheckRequest as proto-loader decodes it with server/protos.ts options (lowerCamelCase,
// int64/bytes as strings, enums as names, absent fields omitted). Only what the stages read is typed.
export interface DecodedHeaderValue {
  key?: string;
  value?: string;
  /** base64 */
  rawValue?: string;
}

export interface DecodedHttpRequest {
  id?: string;
  method?: string;
  headers?: Record<string, string>;
  headerMap?: { headers?: DecodedHeaderValue[] };
  path?: string;
  host?: string;
  scheme?: string;
  query?: string;
  fragment?: string;
  size?: string;
  protocol?: string;
  body?: string;
  /** base64 */
  rawBody?: string;
}

export interface DecodedPeer {
  address?: { socketAddress?: { address?: string; portValue?: number } };
  principal?: string;
  [field: string]: unknown;
}

export interface DecodedAttributes {
  source?: DecodedPeer;
  destination?: DecodedPeer;
  request?: { time?: unknown; http?: DecodedHttpRequest };
  [field: string]: unknown;
}

export interface DecodedCheckRequest {
  attributes?: DecodedAttributes;
}
