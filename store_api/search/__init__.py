"""Product search: a French analyser, an in-memory index per process kept in step with the
database, relevance ranking, suggestions, synonyms and search statistics (docs/search.md)."""
