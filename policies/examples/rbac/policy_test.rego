# Unit tests for examples/rbac: `portcullis policy test policies/examples/rbac`. Each test mocks the
# request with `with input as`, the way OPA unit tests do; the rules run on the compiled Wasm.
package examples.rbac_test

import rego.v1

import data.examples.rbac

request(method, path, claims) := {
	"attributes": {"request": {"http": {"method": method}}},
	"parsed_path": path,
	"identity": {"claims": claims},
}

test_reader_reads_reports if {
	rbac.allow with input as request("GET", ["reports", "2026"], {"roles": ["reader"]})
}

test_reader_cannot_write_or_audit if {
	not rbac.allow with input as request("POST", ["reports"], {"roles": ["reader"]})
	not rbac.allow with input as request("GET", ["audit"], {"roles": ["reader"]})
}

test_roles_from_scope_claim if {
	rbac.allow with input as request("DELETE", ["reports", "1"], {"scope": "openid writer"})
}

test_no_token_or_unknown_role_is_denied if {
	not rbac.allow with input as {"attributes": {"request": {"http": {"method": "GET"}}}, "parsed_path": ["reports"], "identity": null}
	not rbac.allow with input as request("GET", ["reports"], {"roles": ["superuser"]})
}

test_grants_match_whole_segments if {
	not rbac.allow with input as request("GET", ["reportsX"], {"roles": ["writer"]})
}
