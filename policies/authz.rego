# Portcullis's default policy (entrypoint envoy/authz/allow), used when no other policy is configured.
#
# - GET /healthz and GET /readyz are allowed for everyone, so probes through Envoy never need a token.
# - /api/... requires a verified token (input.identity != null); without one: 401 with a JSON body.
# - With one, the token's `roles` claim must grant the permission data.json's `routes` ask for the method
#   and path; otherwise: 403 (Portcullis writes the JSON body with the decision_id).
# - GET/HEAD under data.json's `public` paths are allowed anonymously. Everything else is denied.
#
# Paths are compared segment by segment on input.parsed_path (percent-decoded, split on "/"), never with
# string prefixes on the raw path, so "/api/orders-export" does not match a route for "/api/orders" and
# "/api/%6Frders" cannot sneak past one.
package envoy.authz

import rego.v1

default allow := {"allowed": false}

allow := {"allowed": true} if health_probe

allow := {"allowed": true} if public_request

allow := unauthenticated if {
	api_request
	not authenticated
}

allow := {
	"allowed": true,
	"headers": identity_headers,
	"request_headers_to_remove": spoofable_headers_not_set,
} if {
	api_request
	authenticated
	permitted
}

http_request := input.attributes.request.http

health_probe if {
	http_request.method == "GET"
	input.parsed_path in [["healthz"], ["readyz"]]
}

api_request if input.parsed_path[0] == "api"

public_request if {
	not api_request
	http_request.method in {"GET", "HEAD"}
	some prefix in data.public
	path_has_prefix(prefix)
}

authenticated if input.identity != null

# 401 rather than 403: the client may retry with a token. The www-authenticate header follows RFC 6750
# for a request that carried no token at all (no `error` attribute).
unauthenticated := {
	"allowed": false,
	"http_status": 401,
	"headers": {
		"content-type": "application/json",
		"www-authenticate": `Bearer realm="portcullis"`,
	},
	"body": `{"error":"authentication required"}`,
}

# Roles come from the token's `roles` claim (a list of strings); anything else grants nothing.
user_roles contains role if {
	some role in object.get(input.identity.claims, "roles", [])
	is_string(role)
}

user_permissions contains permission if {
	some role in user_roles
	some permission in data.roles[role]
}

matching_routes := [route |
	some route in data.routes
	http_request.method in route.methods
	path_has_prefix(route.path)
]

missing_permissions := {route.permission |
	some route in matching_routes
	not route.permission in user_permissions
}

# An /api path no route describes is denied: new endpoints are closed until data.json opens them.
permitted if {
	count(matching_routes) > 0
	count(missing_permissions) == 0
}

# "/api/orders" is a prefix of /api/orders and /api/orders/42, not of /api/orders-export.
path_has_prefix(prefix) if {
	segments := split(trim_prefix(prefix, "/"), "/")
	array.slice(input.parsed_path, 0, count(segments)) == segments
}

# The subject travels to the upstream as x-user-id; a client-sent x-user-id is always replaced or removed,
# so the upstream can trust it.
identity_headers := {"x-user-id": subject |
	subject := input.identity.subject
	is_string(subject)
}

spoofable_headers_not_set := [name |
	some name in ["x-user-id"]
	not identity_headers[name]
]
