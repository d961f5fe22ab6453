"""Repository tools: generators of the documents that must not drift from the code."""
