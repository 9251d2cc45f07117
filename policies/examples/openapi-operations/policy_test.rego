# Unit tests for examples/openapi_operations: `portcullis policy test policies/examples/openapi-operations`.
# Each test mocks what the sidecar gives the policy, input.openapi (the matched operation) and
# input.identity, with `with input as`; the rules run on the compiled Wasm.
package examples.openapi_operations_test

import rego.v1

import data.examples.openapi_operations as ops

operation(id, path_params, deprecated) := {
	"operationId": id,
	"tags": [],
	"pathParams": path_params,
	"deprecated": deprecated,
	"security": [],
	"bodyValidated": true,
}

request(op, claims) := {"openapi": op, "identity": {"subject": "alice", "claims": claims}}

anonymous(op) := {"openapi": op, "identity": null}

test_public_operation_needs_no_token if {
	ops.allow with input as anonymous(operation("health", {}, false))
	not ops.allow with input as anonymous(operation("listPets", {}, false))
}

test_viewer_reads_but_cannot_create if {
	ops.allow with input as request(operation("showPetById", {"petId": 7}, false), {"roles": ["viewer"]})
	not ops.allow with input as request(operation("createPet", {}, false), {"roles": ["viewer"]})
}

test_clerk_creates_and_uploads if {
	ops.allow with input as request(operation("createPet", {}, false), {"roles": ["clerk"]})
	ops.allow with input as request(operation("uploadPhoto", {"petId": 7}, false), {"roles": ["viewer", "clerk"]})
}

test_admin_calls_documented_operations_except_deprecated if {
	ops.allow with input as request(operation("deletePet", {"petId": 1}, false), {"roles": ["admin"]})
	not ops.allow with input as request(operation("legacyExport", {}, true), {"roles": ["admin"]})
}

test_undocumented_path_is_closed_even_for_admin if {
	not ops.allow with input as request(null, {"roles": ["admin"]})
	not ops.allow with input as anonymous(null)
}

test_owner_deletes_own_pet_only if {
	ops.allow with input as request(operation("deletePet", {"petId": 7}, false), {"roles": [], "pets": [3, 7]})
	not ops.allow with input as request(operation("deletePet", {"petId": 8}, false), {"roles": [], "pets": [3, 7]})
}

test_path_parameters_compare_as_typed if {
	# petId is a number in the document; the string "7" is not the pet 7.
	not ops.allow with input as request(operation("deletePet", {"petId": "7"}, false), {"pets": [7]})
}

test_unknown_role_is_denied if {
	not ops.allow with input as request(operation("listPets", {}, false), {"roles": ["superuser"]})
}
