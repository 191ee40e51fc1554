"""Build and validate over the sources: assemble a release from ``ontology/``, reason, check
it (SHACL, QC rules), refresh imports and mappings."""
