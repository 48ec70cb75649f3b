"""Content-addressed transfers over fsspec: protocols, hashing and its cache, manifests, uploads."""
