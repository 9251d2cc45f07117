# Example: a method and path allowlist. Entrypoint: examples/allowlist/allow.
#
# Only the endpoints listed in `endpoints` exist from the outside; a path segment "*" matches any one
# non-empty segment. A listed path with an unlisted method answers 405 with an `allow` header (RFC 9110) so clients
# learn what is permitted; an unlisted path answers 404, so the allowlist does not reveal which internal
# paths the upstream has. No token is needed: combine with another policy for that.
package examples.allowlist

import rego.v1

endpoints := [
	{"methods": ["GET", "HEAD"], "path": ["products"]},
	{"methods": ["GET", "HEAD"], "path": ["products", "*"]},
	{"methods": ["POST"], "path": ["orders"]},
	{"methods": ["GET"], "path": ["orders", "*"]},
	{"methods": ["DELETE"], "path": ["orders", "*"]},
]

default allow := {
	"allowed": false,
	"http_status": 404,
	"headers": {"content-type": "application/json"},
	"body": `{"error":"not found"}`,
}

allow := {"allowed": true} if method in allowed_methods

allow := {
	"allowed": false,
	"http_status": 405,
	"headers": {"content-type": "application/json", "allow": allow_header},
	"body": `{"error":"method not allowed"}`,
} if {
	count(allowed_methods) > 0
	not method in allowed_methods
}

method := input.attributes.request.http.method

# Every method some endpoint allows for this path.
allowed_methods contains allowed if {
	some endpoint in endpoints
	path_matches(endpoint.path)
	some allowed in endpoint.methods
}

allow_header := concat(", ", sort(allowed_methods))

path_matches(pattern) if {
	count(pattern) == count(input.parsed_path)
	matched := [i |
		some i, expected in pattern
		segment_matches(expected, input.parsed_path[i])
	]
	count(matched) == count(pattern)
}

# "*" stands for one non-empty segment, so /products/ (an empty last segment) is not /products/<id>.
segment_matches(expected, actual) if {
	expected == "*"
	actual != ""
}

segment_matches(expected, actual) if {
	expected != "*"
	expected == actual
}
