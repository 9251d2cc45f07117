# Unit tests for examples/upstream-headers: `portcullis policy test policies/examples/upstream-headers`.
package examples.upstream_headers_test

import rego.v1

import data.examples.upstream_headers

request(claims, headers) := {
	"attributes": {"request": {"http": {"headers": headers}}},
	"identity": {"subject": claims.sub, "claims": claims},
}

test_identity_headers_from_string_claims if {
	claims := {"sub": "u-42", "email": "ada@example.com", "tenant": "acme", "roles": ["writer", "reader"]}
	decision := upstream_headers.allow with input as request(claims, {"authorization": "Bearer abc"})
	decision.allowed
	decision.headers == {"x-user-id": "u-42", "x-user-email": "ada@example.com", "x-tenant-id": "acme", "x-user-roles": "reader,writer"}
	decision.request_headers_to_remove == ["authorization"]
}

test_headers_without_claims_are_removed if {
	decision := upstream_headers.allow with input as request({"sub": "u-1", "email": 42}, {"x-tenant-id": "globex"})
	decision.headers == {"x-user-id": "u-1"}
	decision.request_headers_to_remove == ["authorization", "x-user-email", "x-tenant-id", "x-user-roles"]
}

test_no_token_is_401 if {
	decision := upstream_headers.allow with input as {"attributes": {"request": {"http": {"headers": {}}}}, "identity": null}
	decision == {"allowed": false, "http_status": 401}
}
