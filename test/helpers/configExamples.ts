// A configuration that sets every section a production sidecar usually sets, written the way users write
// YAML (flow maps, quoted prefixes, lower-case methods). The config tests load it in-process and through the
// config child; `adminToken` and `policy` vary so each test can check what it is about.
export function richConfigYaml(options: { adminToken: string; policy: string }): string {
  return `
grpc:   { address: 127.0.0.1:9191, maxReceiveMessageBytes: 4194304 }
admin:  { address: 127.0.0.1:9192, token: ${options.adminToken} }
redis:
  url: redis://127.0.0.1:6379
  keyPrefix: "portcullis:"
  commandTimeoutMs: 50
  onError: deny
jwt:
  required: true
  providers:
    - name: corp
      issuer: https://id.example.com
      audiences: [orders-api]
      algorithms: [RS256, ES256]
      jwksUri: https://id.example.com/.well-known/jwks.json
      clockSkewSeconds: 30
      from: [{ header: Authorization, prefix: "Bearer " }, { query: access_token }]
      forwardClaims: { x-user-id: sub }
denylist: { enabled: true }
rateLimits:
  - name: per-user
    key: [jwt.sub]
    limit: 100
    periodSeconds: 60
    when: { pathPrefix: /api, methods: [post] }
policy:
${options.policy}
decisionLog: { enabled: true, includeInput: false }
`;
}
