// How much parsing one check may do. Every limit is above what Envoy sends with its defaults (request
// headers up to 60 KiB, a buffered body up to the 1 MiB connection buffer), so a request a default Envoy
// forwards never reaches one; they exist so that a crafted request cannot stall every other check or
// build an input the policy engine cannot load. README.md and policies/README.md state them.

/**
 * Nesting levels of a JSON body, a JSON multipart part, and of Struct metadata. The policy engine refuses
 * an input nested deeper than 512 levels; 128 leaves room for the levels the input itself adds.
 */
export const MAX_JSON_DEPTH = 128;

/** Body bytes parsed into `parsed_body` (twice Envoy's default connection buffer). */
export const MAX_BODY_BYTES = 2 * 1024 * 1024;

/** Name/value pairs of a form-urlencoded body. */
export const MAX_FORM_FIELDS = 10_000;

/** Parts of a multipart/form-data body. */
export const MAX_MULTIPART_PARTS = 1_000;

/** Segments of `parsed_path` (a 60 KiB path holds at most 30,720). */
export const MAX_PATH_SEGMENTS = 32_768;

/** Name/value pairs of the query string (a 60 KiB path holds at most 30,720). */
export const MAX_QUERY_PAIRS = 32_768;
