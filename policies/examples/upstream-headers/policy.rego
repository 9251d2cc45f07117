# Example: headers injected for the upstream from the verified token. Entrypoint:
# examples/upstream_headers/allow.
#
# The upstream reads who is calling from x-user-id, x-user-email, x-tenant-id and x-user-roles instead of
# parsing the JWT itself. Portcullis sets each with append: false, so a value the client sent is replaced;
# headers with no value for this token are removed, so a client cannot supply them either. The raw token
# is removed too: the upstream needs the identity, not the bearer credential. The response carries the
# policy's name so operators can see which rule set answered.
package examples.upstream_headers

import rego.v1

default allow := {"allowed": false, "http_status": 401}

allow := {
	"allowed": true,
	"headers": identity_headers,
	"request_headers_to_remove": headers_to_remove,
	"response_headers_to_add": {"x-authorized-by": "portcullis/upstream-headers"},
	"dynamic_metadata": {"subject": subject},
} if input.identity != null

claims := input.identity.claims

subject := object.get(input.identity, "subject", null)

headers_to_remove := array.concat(["authorization"], headers_not_set)

# header name -> claim it is read from (string claims only)
claim_headers := {
	"x-user-id": "sub",
	"x-user-email": "email",
	"x-tenant-id": "tenant",
}

identity_headers := object.union(string_claim_headers, role_header)

string_claim_headers := {name: value |
	some name, claim in claim_headers
	value := claims[claim]
	is_string(value)
}

role_header := {"x-user-roles": joined |
	count(roles) > 0
	joined := concat(",", sort(roles))
}

roles := [role |
	some role in object.get(claims, "roles", [])
	is_string(role)
]

headers_not_set := [name |
	some name in ["x-user-id", "x-user-email", "x-tenant-id", "x-user-roles"]
	not identity_headers[name]
]
