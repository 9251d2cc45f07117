# Example: role-based access from token claims, answering a plain boolean.
# Entrypoint: examples/rbac/allow. true -> allowed; false or undefined -> 403 with Portcullis's JSON body.
#
# Roles are read from the `roles` claim (a list) and from the OAuth `scope` claim (space-separated, as
# many IdPs issue it), so the same policy works for tokens of either shape. Grants are by method and path
# prefix (segment-wise on input.parsed_path).
package examples.rbac

import rego.v1

default allow := false

allow if {
	some grant in grants
	grant_matches(grant)
}

grants contains grant if {
	some role in roles
	some grant in role_grants[role]
}

role_grants := {
	"reader": [{"methods": ["GET", "HEAD"], "path": ["reports"]}],
	"writer": [
		{"methods": ["GET", "HEAD"], "path": ["reports"]},
		{"methods": ["POST", "PUT", "DELETE"], "path": ["reports"]},
	],
	"auditor": [{"methods": ["GET"], "path": ["audit"]}],
}

claims := input.identity.claims

roles contains role if {
	some role in object.get(claims, "roles", [])
	is_string(role)
}

roles contains role if {
	scope := object.get(claims, "scope", "")
	is_string(scope)
	some role in split(scope, " ")
	role != ""
}

grant_matches(grant) if {
	input.attributes.request.http.method in grant.methods
	array.slice(input.parsed_path, 0, count(grant.path)) == grant.path
}
