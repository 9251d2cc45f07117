# Example: per-tenant isolation by path. Entrypoint: examples/tenant_isolation/allow.
#
# Anything under /tenants/<t>/... is reachable only with a token whose `tenant` claim is <t> (or whose
# `tenants` claim lists it). Operators with the `platform-admin` role reach every tenant. The tenant is
# forwarded to the upstream as x-tenant-id so it need not parse the path again. Paths outside /tenants
# only need a verified token.
package examples.tenant_isolation

import rego.v1

default allow := {
	"allowed": false,
	"http_status": 403,
	"headers": {"content-type": "application/json"},
	"body": `{"error":"this token does not grant access to this tenant"}`,
}

allow := {"allowed": true, "headers": {"x-tenant-id": path_tenant}} if {
	not dot_segment
	path_tenant != null
	tenant_permitted
}

allow := {"allowed": true} if {
	not dot_segment
	path_tenant == null
	input.identity != null
}

allow := unauthenticated if input.identity == null

unauthenticated := {
	"allowed": false,
	"http_status": 401,
	"headers": {"content-type": "application/json", "www-authenticate": `Bearer realm="portcullis"`},
	"body": `{"error":"authentication required"}`,
}

claims := object.get(input.identity, "claims", {})

# parsed_path is percent-decoded before it is split (as OPA-Envoy builds it), so "/tenants/acme%2F..%2Fglobex"
# arrives as ["tenants", "acme", "..", "globex"]. An upstream may resolve ".." differently; such a path is
# refused (the shipped Envoy configs normalize paths, so it reaches the policy only without them).
dot_segment if {
	some segment in input.parsed_path
	segment in {".", ".."}
}

# The tenant named by the path, or null when the path is not a tenant path ("/tenants" itself is not).
# "/tenants/" names the empty tenant, which no token grants (see tenant_permitted).
default path_tenant := null

path_tenant := input.parsed_path[1] if {
	input.parsed_path[0] == "tenants"
	count(input.parsed_path) >= 2
}

token_tenants contains tenant if {
	tenant := claims.tenant
	is_string(tenant)
}

token_tenants contains tenant if {
	some tenant in object.get(claims, "tenants", [])
	is_string(tenant)
}

tenant_permitted if {
	path_tenant != ""
	path_tenant in token_tenants
}

tenant_permitted if {
	path_tenant != ""
	"platform-admin" in object.get(claims, "roles", [])
}
