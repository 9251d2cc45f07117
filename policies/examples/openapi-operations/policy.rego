# Example: grant by OpenAPI operation. Entrypoint: examples/openapi_operations/allow.
#
# With `openapi` configured, Portcullis matches each request to an operation of your OpenAPI documents and
# gives the policy `input.openapi`: {operationId, tags, pathParams, deprecated, security, bodyValidated}, or
# null when no operation matched. Grants name operations rather than paths, so a route renamed in the
# document needs no policy change, and a path the document does not describe is never granted by accident.
# Roles come from the token's `roles` claim.
package examples.openapi_operations

import rego.v1

# role -> the operations it may call
grants := {
	"viewer": {"listPets", "listMyPets", "showPetById"},
	"clerk": {"listPets", "listMyPets", "showPetById", "createPet", "uploadPhoto"},
}

# operations anyone may call, with or without a token
public := {"health"}

default allow := false

allow if input.openapi.operationId in public

allow if {
	some role in input.identity.claims.roles
	input.openapi.operationId in grants[role]
}

# Admins may call any documented operation that is not deprecated; undocumented paths stay closed.
allow if {
	"admin" in input.identity.claims.roles
	input.openapi != null
	not input.openapi.deprecated
}

# Owners may delete their own pets. Path parameters are typed by the document: petId is a number here,
# so it compares with the numbers of the `pets` claim.
allow if {
	input.openapi.operationId == "deletePet"
	input.openapi.pathParams.petId in input.identity.claims.pets
}
