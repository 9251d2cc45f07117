/**
 * The parts of Envoy's CheckRequest the pipeline's stages read, extracted once per check by the server.
 * Header names are lower-case (Envoy sends them so for HTTP/2; the server normalises HTTP/1 names).
 */
export interface HttpRequestView {
  method: string;
  /** Path with the query string, as Envoy sent it (`/a/b?x=1`). */
  path: string;
  headers: Readonly<Record<string, string>>;
  /** Source IP address (no port), or '' when Envoy sent none. */
  sourceAddress: string;
}
