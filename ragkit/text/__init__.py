"""Text stages: normalisation, Japanese-aware sentence splitting and tokenising, chunking."""
