# Unit tests for examples/tenant-isolation: `portcullis policy test policies/examples/tenant-isolation`.
package examples.tenant_isolation_test

import rego.v1

import data.examples.tenant_isolation

request(path, claims) := {"parsed_path": path, "identity": {"claims": claims}}

test_own_tenant_is_allowed_and_forwarded if {
	decision := tenant_isolation.allow with input as request(["tenants", "acme", "invoices"], {"tenant": "acme"})
	decision == {"allowed": true, "headers": {"x-tenant-id": "acme"}}
}

test_other_tenant_is_refused_with_403 if {
	decision := tenant_isolation.allow with input as request(["tenants", "globex", "invoices"], {"tenant": "acme"})
	decision.allowed == false
	decision.http_status == 403
}

test_platform_admin_reaches_every_tenant if {
	decision := tenant_isolation.allow with input as request(["tenants", "globex", "x"], {"roles": ["platform-admin"]})
	decision.allowed
}

test_dot_segments_are_refused if {
	decision := tenant_isolation.allow with input as request(["tenants", "acme", "..", "globex"], {"tenant": "acme"})
	decision.allowed == false
}

test_no_token_is_401 if {
	decision := tenant_isolation.allow with input as {"parsed_path": ["tenants", "acme"], "identity": null}
	decision.http_status == 401
}
