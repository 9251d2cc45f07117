# Unit tests for the default policy (policies/authz.rego with policies/data.json): `portcullis policy test
# policies/authz.rego policies/authz_test.rego policies/data.json`. Each test mocks the request with
# `with input as`; the rules run on the compiled Wasm.
package envoy.authz_test

import rego.v1

import data.envoy.authz

request(method, path, identity) := {
	"attributes": {"request": {"http": {"method": method}}},
	"parsed_path": path,
	"identity": identity,
}

user(subject, roles) := {"subject": subject, "claims": {"roles": roles}}

test_health_probes_need_no_token if {
	authz.allow.allowed with input as request("GET", ["healthz"], null)
	authz.allow.allowed with input as request("GET", ["readyz"], null)
	not authz.allow.allowed with input as request("POST", ["healthz"], null)
}

test_api_without_token_is_401_with_bearer_challenge if {
	decision := authz.allow with input as request("GET", ["api", "orders"], null)
	decision.allowed == false
	decision.http_status == 401
	decision.headers["www-authenticate"] == `Bearer realm="portcullis"`
}

test_viewer_reads_orders_and_gets_x_user_id if {
	decision := authz.allow with input as request("GET", ["api", "orders", "42"], user("alice", ["viewer"]))
	decision.allowed
	decision.headers == {"x-user-id": "alice"}
	decision.request_headers_to_remove == []
}

test_viewer_cannot_write_orders_or_read_users if {
	decision := authz.allow with input as request("POST", ["api", "orders"], user("alice", ["viewer"]))
	decision == {"allowed": false}
	not authz.allow.allowed with input as request("GET", ["api", "users"], user("alice", ["viewer"]))
}

test_clerk_writes_orders_admin_writes_users if {
	authz.allow.allowed with input as request("DELETE", ["api", "orders", "7"], user("bob", ["clerk"]))
	not authz.allow.allowed with input as request("PUT", ["api", "users", "7"], user("bob", ["clerk"]))
	authz.allow.allowed with input as request("PUT", ["api", "users", "7"], user("carol", ["admin"]))
}

test_routes_match_whole_segments if {
	not authz.allow.allowed with input as request("GET", ["api", "orders-export"], user("carol", ["admin"]))
}

test_undescribed_api_path_is_denied_even_for_admin if {
	not authz.allow.allowed with input as request("GET", ["api", "billing"], user("carol", ["admin"]))
}

test_roles_must_be_strings_from_the_roles_claim if {
	not authz.allow.allowed with input as request("GET", ["api", "orders"], user("dave", [["viewer"]]))
	not authz.allow.allowed with input as request("GET", ["api", "orders"], {"subject": "dave", "claims": {"role": "viewer"}})
	not authz.allow.allowed with input as request("GET", ["api", "orders"], user("dave", ["superuser"]))
}

test_client_sent_x_user_id_is_removed_without_a_subject if {
	decision := authz.allow with input as request("GET", ["api", "me"], {"subject": null, "claims": {"roles": ["viewer"]}})
	decision.allowed
	decision.headers == {}
	decision.request_headers_to_remove == ["x-user-id"]
}

test_public_paths_are_read_only_and_anonymous if {
	authz.allow.allowed with input as request("GET", ["public", "logo.png"], null)
	authz.allow.allowed with input as request("HEAD", ["public"], null)
	not authz.allow.allowed with input as request("POST", ["public", "logo.png"], null)
	not authz.allow.allowed with input as request("GET", ["publicity"], null)
}

test_everything_else_is_denied if {
	authz.allow == {"allowed": false} with input as request("GET", ["admin"], null)
}
