"""The core: vocabulary and IRIs, the prefix table, formats, languages and the bilingual words,
settings, what a release is, safe RDF input, errors and paths. Imports nothing else of HODO."""
