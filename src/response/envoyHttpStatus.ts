// The HTTP statuses a DeniedHttpResponse can carry: the values of Envoy's `envoy.type.v3.StatusCode` enum.
// OPA-Envoy refuses any other `http_status` (its GetResponseEnvoyHTTPStatus checks the same enum and Go's
// http.StatusText, which knows every value below), so a policy that passes there passes here and one that
// fails there fails here. `Empty = 0` is left out: it is no status. test/response/envoyHttpStatus.test.ts
// compares this list with the proto Envoy ships, so an Envoy upgrade that adds a value is noticed.
export const ENVOY_HTTP_STATUSES: ReadonlySet<number> = new Set([
  100, 200, 201, 202, 203, 204, 205, 206, 207, 208, 226, 300, 301, 302, 303, 304, 305, 307, 308, 400, 401, 402, 403,
  404, 405, 406, 407, 408, 409, 410, 411, 412, 413, 414, 415, 416, 417, 421, 422, 423, 424, 426, 428, 429, 431, 500,
  501, 502, 503, 504, 505, 506, 507, 508, 510, 511,
]);

export function isEnvoyHttpStatus(value: number): boolean {
  return ENVOY_HTTP_STATUSES.has(value);
}
