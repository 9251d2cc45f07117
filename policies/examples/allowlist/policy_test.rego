# Unit tests for examples/allowlist: `portcullis policy test policies/examples/allowlist`.
package examples.allowlist_test

import rego.v1

import data.examples.allowlist

request(method, path) := {"attributes": {"request": {"http": {"method": method}}}, "parsed_path": path}

test_listed_endpoints_are_allowed if {
	allowlist.allow == {"allowed": true} with input as request("GET", ["products"])
	allowlist.allow == {"allowed": true} with input as request("GET", ["products", "42"])
	allowlist.allow == {"allowed": true} with input as request("DELETE", ["orders", "7"])
}

test_unlisted_paths_are_404 if {
	allowlist.allow.http_status == 404 with input as request("GET", ["admin"])
	allowlist.allow.http_status == 404 with input as request("GET", ["products", "42", "secret"])
	allowlist.allow.http_status == 404 with input as request("GET", ["products", ""])
}

test_wrong_method_is_405_with_allow_header if {
	decision := allowlist.allow with input as request("PUT", ["orders", "7"])
	decision.http_status == 405
	decision.headers.allow == "DELETE, GET"
}
